"""What a person sees on a terminal during `wiro-mcp call`: a bar redrawn in place."""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
import pty
import select
import struct
import termios
from collections.abc import Iterator
from typing import TextIO

import pytest

from wiro_mcp.terminal import ProgressDisplay

pytestmark = pytest.mark.anyio


@contextlib.contextmanager
def terminal(columns: int) -> Iterator[tuple[TextIO, int]]:
    """A real pseudo-terminal `columns` wide: the stream the program writes to, and the fd to read it."""
    reader, writer = pty.openpty()
    fcntl.ioctl(writer, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    attributes = termios.tcgetattr(writer)
    attributes[1] &= ~termios.OPOST  # bytes as written: no newline translation
    termios.tcsetattr(writer, termios.TCSANOW, attributes)
    stream = open(writer, "w", encoding="utf-8", closefd=True)  # noqa: SIM115
    try:
        yield stream, reader
    finally:
        stream.close()
        os.close(reader)


def read_frames(reader: int, count: int) -> str:
    """What the terminal shows once `count` frames have arrived (a read may return them one at a
    time), or whatever arrived within 5 s."""
    written = b""
    while written.count(b"\r") < count and select.select([reader], [], [], 5)[0]:
        written += os.read(reader, 10_000)
    return written.decode()


async def test_the_bar_redraws_in_place_within_the_terminals_width_and_leaves_no_tail(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # stdout's idea of the width: the bar measures its own stream
    with terminal(70) as (screen, reader):
        show = ProgressDisplay(screen)
        await show(60, 100, "Wiro: generating 60% (step 6/10, 3s left) (task_output)")
        await show(100, 100, "Wiro: done (task_postprocess_end) " + "x" * 100)
        written = read_frames(reader, 2)
    frames = written.split("\r")[1:]
    assert len(frames) == 2 and "\n" not in written
    assert all(f.endswith("\x1b[K") and len(f.removesuffix("\x1b[K")) < 70 for f in frames)
    assert frames[0].startswith("[" + "#" * 18 + "." * 12 + "] Wiro: generating 60%")
    assert frames[1].startswith("[" + "#" * 30 + "] Wiro: done (task_postprocess_end) xx\x1b[K")


async def test_off_a_terminal_each_new_status_is_one_plain_line() -> None:
    log = io.StringIO()
    show = ProgressDisplay(log)
    for message in ("Wiro: accepted (task_accept)", "Wiro: accepted (task_accept)", "Wiro: done"):
        await show(10, 100, message)
    assert log.getvalue() == "Wiro: accepted (task_accept)\nWiro: done\n"
