"""The wheel a user installs: built from this checkout, it holds the bundled catalog as real files."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import REPO


def test_the_wheel_holds_the_five_bundled_specs(tmp_path: Path) -> None:
    # From a copy without build leftovers (an old build/ folder would hide a module the build misses).
    source = tmp_path / "source"
    leftovers = (".git", ".venv", "build", "*.egg-info", ".inspector", "__pycache__", "wiro-outputs")
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(*leftovers))
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--quiet",
            "--wheel-dir",
            str(tmp_path),
            str(source),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = tmp_path.glob("wiro_mcp-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    specs = sorted(n for n in names if n.startswith("wiro_mcp/tools/") and n.endswith(".json"))
    assert [Path(n).name for n in specs] == sorted(p.name for p in (REPO / "tools").glob("*.json"))
    assert len(specs) == 5 and "wiro_mcp/sandbox/assets/sample.mp4" in names
    assert "wiro_mcp/mcp/viewer.html" in names  # the task viewer the Apps resource serves
    # Every module of the package is in it (the package list in pyproject.toml is written by hand).
    modules = {
        f"wiro_mcp/{p.relative_to(REPO / 'server' / 'wiro_mcp').as_posix()}"
        for p in (REPO / "server" / "wiro_mcp").rglob("*.py")
    }
    assert modules - set(names) == set()
    assert not any(Path(REPO, "server", "wiro_mcp", p).is_symlink() for p in ("tools", "sandbox"))
