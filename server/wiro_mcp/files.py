"""Local files as model inputs: only regular files under allowed roots are read, and nothing is
sent otherwise.

The check is made on the opened file, not on the name: the path is resolved, the file is opened
once without following a symlink in its last component, and then the opened descriptor itself must
be a regular file whose real location lies under a root. A symlink swapped in after the check, a
FIFO, a device or a /proc or /sys pseudo-file is refused, whatever the roots. The size limit counts
the bytes actually read.
"""

from __future__ import annotations

import mimetypes
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from wiro_mcp.errors import LocalFileError

_PSEUDO_FILESYSTEMS = (Path("/proc"), Path("/sys"), Path("/dev"))


@dataclass(frozen=True)
class LocalFile:
    path: Path
    filename: str
    data: bytes
    contenttype: str


def is_remote(value: str) -> bool:
    try:
        return urlparse(value).scheme in ("http", "https")
    except ValueError:  # not a URL at all (an unclosed IPv6 host, say)
        return False


def _from_file_uri(value: str) -> Path:
    try:
        parsed = urlparse(value)
    except ValueError as exc:
        raise LocalFileError(f"{value!r} is not a valid file:// URI ({exc})") from None
    if parsed.netloc not in ("", "localhost"):
        raise LocalFileError(f"{value!r}: only file:// URIs on this machine can be read (no host part)")
    return Path(unquote(parsed.path))


def local_path(value: str) -> Path | None:
    """The path a value names, when it names a local file (file:// URI, absolute or ~ or ./ path)."""
    if value.startswith("file://"):
        path = _from_file_uri(value)
    elif value.startswith(("~", "./", "../")) or os.path.isabs(value):
        path = Path(value).expanduser()
    else:
        return None
    if "\x00" in str(path):  # `%00` in a file:// URI: no file has a NUL in its name
        raise LocalFileError(f"{value!r}: a file name cannot contain a NUL character")
    return path


def root_from_uri(uri: str) -> Path:
    """A client's MCP root (a file:// URI) as a folder; a URI with a host part is refused."""
    if not uri.startswith("file://"):
        raise LocalFileError(f"root {uri!r} is not a file:// URI")
    return _from_file_uri(uri)


def _opened_path(fd: int, fallback: Path) -> Path:
    """Where the opened file really is, asked of the descriptor itself (no race with the name).
    Without /proc, the O_NOFOLLOW open of the resolved path is the guard."""
    proc = Path(f"/proc/self/fd/{fd}")
    return Path(os.readlink(proc)) if proc.is_symlink() else fallback


def _read_at_most(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    received = 0
    while received < limit:
        chunk = os.read(fd, min(1 << 20, limit - received))
        if not chunk:
            break
        chunks.append(chunk)
        received += len(chunk)
    return b"".join(chunks)


def _under(path: Path, roots: Sequence[Path]) -> bool:
    return any(path.is_relative_to(root) for root in roots)


class FileAccess:
    """Reads local input files that lie under one of the allowed roots."""

    def __init__(self, roots: Sequence[Path], max_bytes: int) -> None:
        self.roots = tuple(roots)
        self.max_bytes = max_bytes

    def __repr__(self) -> str:
        return f"FileAccess(roots={len(self.roots)}, max_bytes={self.max_bytes})"

    def read(self, field: str, value: str, extra_roots: Sequence[Path] = ()) -> LocalFile:
        try:
            path = local_path(value)
        except LocalFileError as exc:
            raise LocalFileError(f"{field}: {exc}") from None
        if path is None:
            raise LocalFileError(
                f"{field}: {value!r} is neither an http(s) URL nor a local path (absolute, ~/…, ./… or file://)"
            )
        roots = [Path(os.path.realpath(r.expanduser())) for r in (*self.roots, *extra_roots)]
        if not roots:
            raise LocalFileError(
                f"{field}: local files are off: no allowed roots (set WIRO_MCP_FILE_ROOTS, or use a client "
                "that shares its roots)"
            )
        try:
            real = Path(os.path.realpath(path.absolute()))
        except OSError:  # a link changing while it is resolved
            raise LocalFileError(f"{field}: {value!r} changed while it was checked; try again") from None
        if not _under(real, roots):
            raise LocalFileError(
                f"{field}: {value!r} is outside the allowed roots; to allow it, add its folder to "
                f"WIRO_MCP_FILE_ROOTS (e.g. WIRO_MCP_FILE_ROOTS={real.parent})"
            )
        if _under(real, _PSEUDO_FILESYSTEMS):
            raise LocalFileError(f"{field}: {value!r} is not a regular file")
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        try:
            fd = os.open(real, flags)
        except FileNotFoundError:
            raise LocalFileError(f"{field}: {value!r} does not exist") from None
        except OSError as exc:
            raise LocalFileError(f"{field}: {value!r} cannot be opened ({exc.strerror})") from None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise LocalFileError(f"{field}: {value!r} is not a regular file")
            opened = _opened_path(fd, real)
            if not _under(opened, roots) or _under(opened, _PSEUDO_FILESYSTEMS):
                raise LocalFileError(f"{field}: {value!r} is outside the allowed roots")
            data = _read_at_most(fd, self.max_bytes + 1)
        finally:
            os.close(fd)
        if len(data) > self.max_bytes:
            raise LocalFileError(
                f"{field}: {value!r} is over {self.max_bytes} bytes; the limit is {self.max_bytes}"
            )
        if len(data) != info.st_size:
            raise LocalFileError(f"{field}: {value!r} changed while it was read, or is not a regular file")
        contenttype = mimetypes.guess_type(opened.name)[0] or "application/octet-stream"
        return LocalFile(path=opened, filename=opened.name, data=data, contenttype=contenttype)
