"""The command line as a newcomer meets it."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.e2e.helpers import WIRO_MCP

pytestmark = pytest.mark.e2e


def test_call_in_the_sandbox_shows_progress_and_saves_the_output(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            WIRO_MCP,
            "call",
            "reve_generate",
            "prompt=a koala in a red shirt",
            "--sandbox",
            "--save",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "WIRO_MCP_SANDBOX_SECONDS": "0.5"},
    )
    assert done.returncode == 0, done.stderr
    assert "reve_generate: completed" in done.stdout
    assert "Wiro: done (task_postprocess_end)" in done.stderr
    (saved,) = tmp_path.glob("reve_generate/*/0.png")
    assert saved.read_bytes().startswith(b"\x89PNG")
    assert str(saved) in done.stdout


def test_call_with_a_bad_argument_exits_non_zero(tmp_path: Path) -> None:
    done = subprocess.run(
        [WIRO_MCP, "call", "reve_generate", "prompt=x", "aspectRatio=5:4", "--sandbox"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        cwd=tmp_path,
    )
    assert done.returncode == 1
    assert "'5:4' is not allowed" in done.stdout


def test_without_credentials_the_server_says_what_to_do(tmp_path: Path) -> None:
    done = subprocess.run(
        [WIRO_MCP],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert done.returncode == 2
    assert "WIRO_API_KEY is not set" in done.stderr and "--sandbox" in done.stderr


def test_the_wheel_carries_the_catalog_and_the_sample_video(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(REPO)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("wiro_mcp-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    bundled = {f"wiro_mcp/tools/{p.name}" for p in (REPO / "tools").glob("*.json")}
    assert bundled and bundled <= names
    assert "wiro_mcp/sandbox/assets/sample.mp4" in names


def wiro_mcp(
    tmp_path: Path, *args: str, cwd: Path | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """The real command as a newcomer runs it: a clean environment, a home of its own, no terminal."""
    base = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "WIRO_MCP_SANDBOX_SECONDS": "0.4"}
    return subprocess.run(
        [WIRO_MCP, *args],
        capture_output=True,
        text=True,
        timeout=90,
        env={**base, **env},
        cwd=cwd or tmp_path,
        stdin=subprocess.DEVNULL,
    )


def sandbox_journal(home: Path) -> list[tuple[str, str, str]]:
    path = home / ".local" / "share" / "wiro-mcp" / "sandbox-tasks.sqlite3"
    with sqlite3.connect(path) as db:
        return db.execute("SELECT taskid, tool, state FROM tasks ORDER BY row").fetchall()


def test_two_sandbox_runs_leave_two_rows_and_report_each_new_file(tmp_path: Path) -> None:
    runs = [
        wiro_mcp(tmp_path, "call", "reve_generate", "prompt=a koala", "--sandbox", "--json") for _ in range(2)
    ]
    assert [r.returncode for r in runs] == [0, 0], runs[-1].stderr
    results = [json.loads(r.stdout) for r in runs]  # exactly one JSON document each
    rows = sandbox_journal(tmp_path)
    assert [(taskid, tool) for taskid, tool, _ in rows] == [(r["taskid"], "reve_generate") for r in results]
    assert rows[0][0] != rows[1][0] and {state for *_, state in rows} == {"completed"}
    paths = [Path(r["outputs"][0]["path"]) for r in results]
    assert paths[0] != paths[1] and paths[1].read_bytes() != paths[0].read_bytes()
    assert all(p.is_relative_to(tmp_path / "wiro-outputs") for p in paths)


def test_json_keeps_stdout_to_one_document_and_progress_is_plain_lines_off_a_terminal(tmp_path: Path) -> None:
    done = wiro_mcp(tmp_path, "call", "reve_generate", "prompt=x", "--json", "--sandbox")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["state"] == "completed"
    assert "\r" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("Wiro: ")]
    assert lines[-1] == "Wiro: done (task_postprocess_end)" and len(lines) == len(set(lines))
    bad = wiro_mcp(tmp_path, "call", "reve_generate", "prompt=x", "aspectRatio=5:4", "--json", "--sandbox")
    assert bad.returncode == 1
    assert json.loads(bad.stdout)["is_error"] is True and "'5:4' is not allowed" in bad.stderr


def test_global_flags_work_on_either_side_or_are_refused(tmp_path: Path) -> None:
    before = wiro_mcp(tmp_path, "--sandbox", "call", "reve_generate", "prompt=x")
    assert before.returncode == 0, before.stderr
    assert "reve_generate: completed" in before.stdout
    only = wiro_mcp(tmp_path, "--tools", "reve_*", "tools")
    after = wiro_mcp(tmp_path, "tools", "--tools", "reve_*")
    assert only.stdout == after.stdout and "runway" not in only.stdout and "reve_generate" in only.stdout
    for args, flag in ((["--http", "tools"], "--http"), (["--tools", "x", "journal", "path"], "--tools")):
        refused = wiro_mcp(tmp_path, *args)
        assert refused.returncode == 2 and f"{flag} does not apply" in refused.stderr, refused.stderr


def test_tools_name_shows_every_argument(tmp_path: Path) -> None:
    done = wiro_mcp(tmp_path, "tools", "reve_generate")
    assert done.returncode == 0, done.stderr
    assert "prompt  (string, required)" in done.stdout
    assert "aspectRatio  (string, optional)" in done.stdout and "allowed: '16:9'" in done.stdout
    assert "default: '1:1'" in done.stdout
    missing = wiro_mcp(tmp_path, "tools", "reve_generat")
    assert missing.returncode == 2 and "did you mean reve_generate" in missing.stderr


def test_journal_list_filters_and_clear_asks_first(tmp_path: Path) -> None:
    assert wiro_mcp(tmp_path, "call", "reve_generate", "prompt=x", "--sandbox").returncode == 0
    table = wiro_mcp(tmp_path, "journal", "list", "--sandbox")
    header, row = table.stdout.splitlines()
    assert header.split() == ["CREATED", "TOOL", "TASKID", "STATE", "COST", "OUTPUTS"]
    assert "reve_generate" in row and "completed" in row
    as_json = wiro_mcp(tmp_path, "journal", "list", "--sandbox", "--json", "--since", "1h")
    assert json.loads(as_json.stdout)["state"] == "completed"
    assert wiro_mcp(tmp_path, "journal", "list", "--sandbox", "--state", "failed").stdout == ""
    refused = wiro_mcp(tmp_path, "journal", "clear", "--sandbox")
    assert refused.returncode == 1 and "--yes" in refused.stderr and len(sandbox_journal(tmp_path)) == 1
    cleared = wiro_mcp(tmp_path, "journal", "clear", "--sandbox", "--yes")
    assert cleared.returncode == 0 and sandbox_journal(tmp_path) == []


def test_settings_errors_are_clean(tmp_path: Path) -> None:
    level = wiro_mcp(tmp_path, "tools", WIRO_MCP_LOG_LEVEL="LOUD")
    assert level.returncode == 2 and level.stderr.startswith("wiro-mcp: bad setting: WIRO_MCP_LOG_LEVEL")
    url = wiro_mcp(
        tmp_path, "call", "reve_generate", "prompt=x", WIRO_API_KEY="k", WIRO_API_BASE_URL="htp:/api"
    )
    assert url.returncode == 2 and "is not an http(s) URL" in url.stderr and "Traceback" not in url.stderr
    assert not (tmp_path / ".local" / "share" / "wiro-mcp" / "tasks.sqlite3").exists()


def test_call_takes_a_file_under_the_current_directory(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "frame.png").write_bytes(b"\x89PNG" + b"f" * 100)
    done = wiro_mcp(
        tmp_path, "call", "pixverse_image_to_video_v4", "inputImageUrl=./frame.png", "--sandbox", cwd=work
    )
    assert done.returncode == 0, done.stdout + done.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    outside = wiro_mcp(
        tmp_path,
        "call",
        "pixverse_image_to_video_v4",
        f"inputImageUrl={work}/frame.png",
        "--sandbox",
        cwd=elsewhere,
    )
    assert outside.returncode == 1 and f"WIRO_MCP_FILE_ROOTS={work}" in outside.stdout


def test_one_shot_commands_log_only_when_asked(tmp_path: Path) -> None:
    quiet = wiro_mcp(tmp_path, "tools", "--sandbox")
    loud = wiro_mcp(tmp_path, "tools", "--sandbox", "-v")
    assert quiet.returncode == loud.returncode == 0
    assert quiet.stderr == "" and " INFO " in loud.stderr


def test_models_search_show_and_pull_in_the_sandbox(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "WIRO_MCP_SANDBOX_EXTRA_MODELS": "14"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [WIRO_MCP, "models", *args, "--sandbox"], capture_output=True, text=True, env=env
        )

    found = run("search", "text", "to", "video", "--limit", "50")
    assert found.returncode == 0, found.stderr
    assert "acme/text-to-video-prime-2" in found.stdout and "per run" in found.stdout
    shown = run("show", "acme/text-to-video-prime-2", "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["input_schema"]["properties"]["resolution"]["enum"] == [
        "480p",
        "720p",
        "1080p",
    ]
    pulled = run("pull", "acme/text-to-video-prime-2", "--into", str(tmp_path / "specs"))
    assert pulled.returncode == 0, pulled.stderr
    spec = json.loads((tmp_path / "specs" / "acme_text_to_video_prime_2.json").read_text())
    assert spec["prices"] and spec["source"]["kind"] == "tool_detail"
    missing = run("show", "nobody/nothing")
    assert missing.returncode == 2 and "no model" in missing.stderr
