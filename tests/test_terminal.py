"""What a person sees on a terminal during `wiro-mcp call`: a bar redrawn in place."""

from __future__ import annotations

import io

import pytest

from wiro_mcp.terminal import ProgressDisplay

pytestmark = pytest.mark.anyio


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


async def test_the_bar_redraws_in_place_within_the_width_and_leaves_no_tail(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "70")
    screen = Terminal()
    show = ProgressDisplay(screen)
    await show(60, 100, "Wiro: generating 60% (step 6/10, 3s left) (task_output)")
    await show(100, 100, "Wiro: done (task_postprocess_end)")
    frames = screen.getvalue().split("\r")[1:]
    assert len(frames) == 2 and "\n" not in screen.getvalue()
    assert all(f.endswith("\x1b[K") and len(f.removesuffix("\x1b[K")) < 70 for f in frames)
    assert frames[0].startswith("[" + "#" * 18 + "." * 12 + "] Wiro: generating 60%")
    assert frames[1] == "[" + "#" * 30 + "] Wiro: done (task_postprocess_end)\x1b[K"


async def test_off_a_terminal_each_new_status_is_one_plain_line() -> None:
    log = io.StringIO()
    show = ProgressDisplay(log)
    for message in ("Wiro: accepted (task_accept)", "Wiro: accepted (task_accept)", "Wiro: done"):
        await show(10, 100, message)
    assert log.getvalue() == "Wiro: accepted (task_accept)\nWiro: done\n"
