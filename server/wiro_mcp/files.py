"""Local files as model inputs: only regular files under allowed roots are read, and nothing is
sent otherwise.

The check is made on the opened file, not on the name: the path is resolved, the file is opened
once without following a symlink in its last component, and then the opened descriptor itself must
be a regular file whose real location lies under a root. A symlink swapped in after the check, a
FIFO, a device or a /proc or /sys pseudo-file is refused, whatever the roots. The size limit counts
the bytes actually read.
"""

from __future__ import annotations

import codecs
import mimetypes
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from wiro_mcp.errors import LocalFileError

_PSEUDO_FILESYSTEMS = (Path("/proc"), Path("/sys"), Path("/dev"))


# Signatures of the kinds Wiro takes as inputs (files.md): images, video, audio, documents.
_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"%PDF-", "application/pdf"),
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"GIF8", "image/gif"),
    (0, b"ID3", "audio/mpeg"),
    (0, b"fLaC", "audio/flac"),
    (0, b"OggS", "audio/ogg"),
    (0, b"\x1a\x45\xdf\xa3", "video/webm"),
)
_RIFF = {b"WAVE": "audio/wav", b"WEBP": "image/webp", b"AVI ": "video/x-msvideo"}
_ZIP_DOCUMENTS = {
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".epub": "application/epub+zip",
}


def content_type(data: bytes, name: str) -> str:
    """A file's type from its first bytes (a name can lie or say nothing); the name decides only
    among kinds that share a signature (ZIP-based documents) or have none (text, CSV, Markdown)."""
    suffix = Path(name).suffix.lower()
    for offset, magic, kind in _SIGNATURES:
        if data[offset : offset + len(magic)] == magic:
            return kind
    if data[:4] == b"RIFF" and data[8:12] in _RIFF:
        return _RIFF[data[8:12]]
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        return (
            "audio/mp4"
            if brand in (b"M4A ", b"M4B ")
            else "video/quicktime"
            if brand == b"qt  "
            else "video/mp4"
        )
    if len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0:
        return "audio/mpeg"  # an MP3 frame without an ID3 tag
    if data[:4] == b"PK\x03\x04":
        return _ZIP_DOCUMENTS.get(suffix, "application/zip")
    guessed = mimetypes.guess_type(name)[0]
    if guessed:
        return guessed
    return "text/plain" if suffix in (".md", ".txt", "") and _is_text(data) else "application/octet-stream"


def _is_text(data: bytes) -> bool:
    try:  # not final: a character cut at the 4096th byte is no reason to call it binary
        codecs.getincrementaldecoder("utf-8")().decode(data[:4096], final=False)
    except UnicodeDecodeError:
        return False
    return b"\x00" not in data[:4096]


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
        contenttype = content_type(data, opened.name)
        return LocalFile(path=opened, filename=opened.name, data=data, contenttype=contenttype)
