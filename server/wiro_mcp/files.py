"""Local files as model inputs: only files under allowed roots are read, and nothing is sent otherwise."""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from wiro_mcp.errors import LocalFileError


@dataclass(frozen=True)
class LocalFile:
    path: Path
    filename: str
    data: bytes
    contenttype: str


def is_remote(value: str) -> bool:
    return urlparse(value).scheme in ("http", "https")


def local_path(value: str) -> Path | None:
    """The path a value names, when it names a local file (file:// URI, absolute or ~ or ./ path)."""
    if value.startswith("file://"):
        parsed = urlparse(value)
        if parsed.netloc not in ("", "localhost"):
            raise LocalFileError(f"{value!r}: only file:// URIs on this machine can be read")
        return Path(unquote(parsed.path))
    if value.startswith(("~", "./", "../")) or os.path.isabs(value):
        return Path(value).expanduser()
    return None


class FileAccess:
    """Reads local input files that lie under one of the allowed roots (after resolving symlinks)."""

    def __init__(self, roots: Sequence[Path], max_bytes: int) -> None:
        self.roots = tuple(roots)
        self.max_bytes = max_bytes

    def __repr__(self) -> str:
        return f"FileAccess(roots={len(self.roots)}, max_bytes={self.max_bytes})"

    def read(self, field: str, value: str, extra_roots: Sequence[Path] = ()) -> LocalFile:
        path = local_path(value)
        if path is None:
            raise LocalFileError(
                f"{field}: {value!r} is neither an http(s) URL nor a local path (absolute, ~/…, ./… or file://)"
            )
        roots = [r.expanduser().resolve() for r in (*self.roots, *extra_roots)]
        if not roots:
            raise LocalFileError(
                f"{field}: local files are off: no allowed roots (set WIRO_MCP_FILE_ROOTS, or use a client "
                "that shares its roots)"
            )
        try:
            real = path.resolve(strict=True)
        except (FileNotFoundError, RuntimeError):
            raise LocalFileError(f"{field}: {value!r} does not exist") from None
        if not any(real.is_relative_to(root) for root in roots):
            raise LocalFileError(f"{field}: {value!r} is outside the allowed roots")
        if not real.is_file():
            raise LocalFileError(f"{field}: {value!r} is not a regular file")
        size = real.stat().st_size
        if size > self.max_bytes:
            raise LocalFileError(f"{field}: {value!r} is {size} bytes; the limit is {self.max_bytes}")
        data = real.read_bytes()
        contenttype = mimetypes.guess_type(real.name)[0] or "application/octet-stream"
        return LocalFile(path=real, filename=real.name, data=data, contenttype=contenttype)
