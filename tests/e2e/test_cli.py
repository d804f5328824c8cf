"""The command line as a newcomer meets it."""

from __future__ import annotations

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
