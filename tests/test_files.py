"""The file jail directly: what may be read, and races that must not let anything else through."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from wiro_mcp.errors import LocalFileError
from wiro_mcp.files import FileAccess, root_from_uri


def test_a_file_under_a_root_is_read(tmp_path: Path) -> None:
    (tmp_path / "frame.png").write_bytes(b"\x89PNG frame")
    local = FileAccess([tmp_path], 1000).read("inputImageUrl", str(tmp_path / "frame.png"))
    assert (local.data, local.filename, local.contenttype) == (b"\x89PNG frame", "frame.png", "image/png")


def test_fifos_and_pseudo_files_are_refused_whatever_the_roots(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    access = FileAccess([Path("/")], 10_000_000)
    for value in (str(fifo), "/proc/self/environ", "/proc/self/status", "/dev/zero"):
        with pytest.raises(LocalFileError, match="not a regular file"):
            access.read("f", value)


def test_the_size_limit_counts_bytes_read(tmp_path: Path) -> None:
    (tmp_path / "big.png").write_bytes(b"x" * 1001)
    with pytest.raises(LocalFileError, match="the limit is 1000"):
        FileAccess([tmp_path], 1000).read("f", str(tmp_path / "big.png"))


def test_a_file_uri_with_a_host_is_refused_as_input_and_as_root() -> None:
    with pytest.raises(LocalFileError, match="no host part"):
        root_from_uri("file://fileserver/share")
    with pytest.raises(LocalFileError, match="no host part"):
        FileAccess([Path("/")], 10).read("f", "file://fileserver/share/a.png")
    assert root_from_uri("file:///home/me/work") == Path("/home/me/work")


def test_a_refusal_says_which_root_to_add(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "a.png").write_bytes(b"a")
    (tmp_path / "root").mkdir()
    with pytest.raises(LocalFileError, match=f"WIRO_MCP_FILE_ROOTS={tmp_path / 'out'}"):
        FileAccess([tmp_path / "root"], 10).read("f", str(tmp_path / "out" / "a.png"))


def test_a_file_swapped_for_a_symlink_during_reads_never_lets_the_outside_through(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "secret.png").write_bytes(b"SECRET")
    frame = root / "frame.png"
    frame.write_bytes(b"inside")
    stop = threading.Event()

    def swap() -> None:
        """frame.png flips between a regular file and a symlink out of the root, atomically."""
        n = 0
        while not stop.is_set():
            temp = root / f".swap{n % 2}"
            temp.unlink(missing_ok=True)
            if n % 2:
                temp.write_bytes(b"inside")
            else:
                temp.symlink_to(outside / "secret.png")
            temp.replace(frame)
            n += 1

    swapper = threading.Thread(target=swap, daemon=True)
    swapper.start()
    access = FileAccess([root], 1000)
    read, refused = 0, 0
    try:
        for _ in range(3000):
            try:
                data = access.read("f", str(frame)).data
            except LocalFileError:
                refused += 1
                continue
            assert data == b"inside"
            read += 1
    finally:
        stop.set()
        swapper.join(timeout=5)
    assert read > 0 and refused > 0  # both sides of the race were exercised
