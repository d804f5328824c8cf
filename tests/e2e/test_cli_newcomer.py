"""The points a newcomer met at the command line, each run as a person would: the real command, its
stdout, stderr and exit code (a pseudo-terminal where a terminal is the point)."""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.helpers import WIRO_MCP

pytestmark = pytest.mark.e2e


def run(tmp_path: Path, *args: str, timeout: float = 60, **env: str) -> subprocess.CompletedProcess[str]:
    base = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "COLUMNS": "80", "WIRO_MCP_JOURNAL": "off"}
    return subprocess.run(
        [WIRO_MCP, *args], capture_output=True, text=True, timeout=timeout, env={**base, **env}, cwd=tmp_path
    )


def test_flags_go_anywhere_for_models_too(tmp_path: Path) -> None:
    before = run(tmp_path, "models", "search", "--sandbox", "video", "--limit", "2")
    after = run(tmp_path, "models", "search", "video", "--sandbox")
    assert before.returncode == after.returncode == 0, before.stderr
    assert "PixVerse/image-to-video-v4" in before.stdout and "2 shown" in before.stdout


def test_an_unknown_tool_gets_the_same_did_you_mean_in_call_and_tools(tmp_path: Path) -> None:
    called = run(tmp_path, "call", "reve_generat", "prompt=x", "--sandbox")
    shown = run(tmp_path, "tools", "reve_generat", "--sandbox")
    for done in (called, shown):
        assert done.returncode == 2
        assert "no tool 'reve_generat'; did you mean reve_generate?" in done.stderr


def test_tools_shows_what_the_agent_sees_prices_and_the_selected_models(tmp_path: Path) -> None:
    listed = run(tmp_path, "tools", "--json", "--sandbox")
    (reve,) = [t for t in json.loads(listed.stdout) if t["name"] == "reve_generate"]
    assert "$0.04 per run" in reve["description"]  # the listing's price, as an agent sees it
    every = run(tmp_path, "tools", "--sandbox", "--models", "*", WIRO_MCP_SANDBOX_EXTRA_MODELS="20")
    assert every.returncode == 0 and every.stdout.count("(model ") == 25


def test_ctrl_c_says_the_task_was_stopped_without_a_traceback(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "WIRO_MCP_SANDBOX_SECONDS": "30"}
    proc = subprocess.Popen(
        [WIRO_MCP, "call", "reve_generate", "prompt=x", "--sandbox"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert proc.stderr is not None
    for line in proc.stderr:  # interrupt once the task is running
        if "(task_start)" in line:
            break
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert "interrupted; task " in err and "stopped (the sandbox bills nothing)" in err
    assert "Traceback" not in err and out == ""


def test_help_and_tables_fit_eighty_columns(tmp_path: Path) -> None:
    for command in ([], ["call"], ["models"], ["journal"], ["tools"], ["sandbox"]):
        done = run(tmp_path, *command, "--help")
        assert done.returncode == 0
        assert max(len(line) for line in done.stdout.splitlines()) <= 80, command


def test_sandbox_results_never_say_billed(tmp_path: Path) -> None:
    done = run(tmp_path, "call", "reve_generate", "prompt=x", "--sandbox", WIRO_MCP_SANDBOX_SECONDS="0.3")
    assert done.returncode == 0 and "completed" in done.stdout
    assert "billed" not in done.stdout.lower() and "would cost $0.0400" in done.stdout


def test_models_show_is_readable_text_naming_commands(tmp_path: Path) -> None:
    shown = run(tmp_path, "models", "show", "PixVerse/image-to-video-v4", "--sandbox")
    assert "$0.25 per run when duration=5" in shown.stdout and "{'" not in shown.stdout
    assert "example: wiro-mcp call pixverse_image_to_video_v4 " in shown.stdout
    missing = run(tmp_path, "models", "show", "nosuch/model", "--sandbox")
    assert "wiro-mcp models search" in missing.stderr and "search_models" not in missing.stderr


def test_a_blank_secret_is_unset_and_a_misspelt_setting_is_named(tmp_path: Path) -> None:
    blank = run(tmp_path, "tools", WIRO_API_KEY="", WIRO_API_SECRET="", WIRO_MCP_WAIT_SECOND="5")
    assert blank.returncode == 0
    assert "WIRO_MCP_WAIT_SECOND is not a setting; did you mean WIRO_MCP_WAIT_SECONDS?" in blank.stderr
    serve = run(tmp_path, WIRO_API_KEY=" ", WIRO_API_SECRET="")
    assert serve.returncode == 2 and "WIRO_API_KEY is not set" in serve.stderr


def test_on_a_terminal_it_says_it_waits_for_an_mcp_client(tmp_path: Path) -> None:
    leader, follower = pty.openpty()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "WIRO_MCP_JOURNAL": "off"}
    proc = subprocess.Popen(
        [WIRO_MCP, "--sandbox"],
        stdin=follower,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    os.close(follower)
    try:
        time.sleep(2)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        os.close(leader)
    assert (
        "waits for an MCP client" in err and 'wiro-mcp call reve_generate prompt="a koala" --sandbox' in err
    )
    assert out == ""  # stdout is the MCP stream: nothing but MCP there


def test_a_call_still_running_names_the_command_that_keeps_waiting(tmp_path: Path) -> None:
    done = run(
        tmp_path,
        "call",
        "reve_generate",
        "prompt=x",
        "--sandbox",
        WIRO_MCP_SANDBOX_SECONDS="30",
        WIRO_MCP_WAIT_SECONDS="1",
    )
    assert done.returncode == 0 and "still" in done.stdout
    assert "To keep waiting: wiro-mcp call task_wait taskid=" in done.stderr
