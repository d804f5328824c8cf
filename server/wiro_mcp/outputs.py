"""A finished task's output files: inline previews and downloads, fetched under one URL policy.

The policy: only `https` URLs (and `http` to the configured Wiro host, for the sandbox); never a
loopback, link-local or private address unless Wiro's own base URL is one (the sandbox); every
redirect hop is checked again; each fetch is capped in bytes (counted on what arrives, not on what
the server claims) and in total time. Output files are public CDN files: they are fetched without
Wiro's credentials.

Downloads land in FOLDER/<tool>/<taskid>/<name>, the name reduced to a safe base name (two outputs
with the same name get distinct ones); each is written under a temporary name and renamed over any
older file when complete, so the reported path is always the file just fetched for this task.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import re
import secrets
import tempfile
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import anyio
import anyio.to_thread
import httpx2

from wiro_mcp.wiro.models import Output
from wiro_mcp.wiro.tls import ssl_context

log = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
MAX_REDIRECTS = 5


# The most of a file read for a preview, by kind (an image is fetched whole to be made small; audio
# and text are inlined as they are, so they must be small already).
INLINE_AUDIO_BYTES = 400_000
INLINE_TEXT_BYTES = 64_000


@dataclass(frozen=True)
class Preview:
    """What is inlined for one output: its bytes (an image's thumbnail) and their type."""

    data: bytes
    mime: str


def is_previewed(mime: str) -> bool:
    """Kinds a chat can show from bytes: images, audio, and text."""
    return mime.startswith(("image/", "audio/", "text/")) or mime == "application/json"


class RefusedUrl(Exception):
    """An output URL the policy does not allow, or a fetch that broke a limit."""


@dataclass(frozen=True)
class OutputPolicy:
    base_url: str
    preview_max_bytes: int = 20_000_000  # the largest output fetched for a preview (0: no previews)
    preview_seconds: float = 15.0
    download_dir: Path | None = None
    download_max_bytes: int = 2_000_000_000
    download_seconds: float = 600.0
    preview_bytes_at_once: int = 64_000_000  # of files held for previews at once, by their given sizes


def safe_name(name: str, fallback: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _UNSAFE.sub("_", base).strip("._")
    return cleaned[:120] or fallback


def distinct_names(outputs: Sequence[Output]) -> list[str]:
    """A safe file name per output; repeats get `-1`, `-2` before the extension."""
    names: list[str] = []
    for index, output in enumerate(outputs):
        name = safe_name(output.name, f"output-{index}")
        stem, dot, ext = name.rpartition(".")
        stem, ext = (stem, f".{ext}") if dot and stem else (name, "")
        candidate, n = name, 0
        while candidate in names:
            n += 1
            candidate = f"{stem}-{n}{ext}"
        names.append(candidate)
    return names


def _is_internal(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global


async def _addresses(host: str) -> list[str]:
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    try:
        found = await anyio.getaddrinfo(host, None)
    except OSError as exc:
        raise RefusedUrl(f"cannot resolve {host!r} ({exc.strerror or exc})") from None
    return [str(info[4][0]) for info in found]


class UrlPolicy:
    def __init__(self, base_url: str) -> None:
        self.base_host = (urlsplit(base_url).hostname or "").lower()
        self._internal_base: bool | None = None

    async def internal_allowed(self) -> bool:
        """Internal addresses are allowed only when Wiro itself is on one (the sandbox)."""
        if self._internal_base is None:
            try:
                addresses = await _addresses(self.base_host) if self.base_host else []
            except RefusedUrl:
                addresses = []
            self._internal_base = bool(addresses) and all(_is_internal(a) for a in addresses)
        return self._internal_base

    async def check(self, url: str) -> None:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        scheme = parts.scheme.lower()
        if not host:
            raise RefusedUrl("the URL has no host")
        if scheme != "https" and not (scheme == "http" and host == self.base_host):
            raise RefusedUrl(f"only https URLs are fetched (got {scheme or 'no scheme'}://{host})")
        if host == self.base_host or await self.internal_allowed():
            return
        if any(_is_internal(a) for a in await _addresses(host)):
            raise RefusedUrl(f"{host} is an internal address")


DECODES_AT_ONCE = 16  # images decoded at once (each decoded image is many times its file)
SIZE_SLACK = 1.05  # a file may come this much larger than its given size (and 64 KiB) for a preview


class ByteBudget:
    """Bytes held at once, first come first served: `hold(n)` waits until n fit (one larger than
    the whole budget waits for all of it)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.free = total
        self._waiting: deque[tuple[int, anyio.Event]] = deque()

    def __repr__(self) -> str:
        return f"ByteBudget(free={self.free} of {self.total}, waiting={len(self._waiting)})"

    @contextlib.asynccontextmanager
    async def hold(self, wanted: int) -> AsyncGenerator[None, None]:
        n = min(max(wanted, 0), self.total)
        if self._waiting or self.free < n:
            turn = (n, anyio.Event())
            self._waiting.append(turn)
            try:
                await turn[1].wait()
            except BaseException:  # cancelled while waiting: what was handed over meanwhile goes on
                if turn[1].is_set():
                    self._release(n)
                else:
                    self._waiting.remove(turn)
                    self._hand_over()
                raise
        else:
            self.free -= n
        try:
            yield
        finally:
            self._release(n)

    def _release(self, n: int) -> None:
        self.free += n
        self._hand_over()

    def _hand_over(self) -> None:
        while self._waiting and self._waiting[0][0] <= self.free:
            n, ready = self._waiting.popleft()
            self.free -= n
            ready.set()


class Outputs:
    """Previews and downloads of output files; the MCP layer never fetches or writes files itself."""

    def __init__(self, policy: OutputPolicy, http: httpx2.AsyncClient | None = None) -> None:
        self.policy = policy
        self.urls = UrlPolicy(policy.base_url)
        self._given_http = http
        self._own_http: httpx2.AsyncClient | None = None  # made at the first fetch, not at start-up
        self._limiter: anyio.CapacityLimiter | None = None  # made in the event loop, with the first preview
        self._held = ByteBudget(policy.preview_bytes_at_once)

    def __repr__(self) -> str:
        return f"Outputs(download_dir={self.policy.download_dir!r})"

    @property
    def http(self) -> httpx2.AsyncClient:
        if self._given_http is not None:
            return self._given_http
        if self._own_http is None:
            self._own_http = httpx2.AsyncClient(
                timeout=httpx2.Timeout(60.0, connect=10.0), verify=ssl_context()
            )
        return self._own_http

    async def aclose(self) -> None:
        if self._own_http is not None:
            await self._own_http.aclose()

    @contextlib.asynccontextmanager
    async def _stream(self, url: str) -> AsyncGenerator[httpx2.Response, None]:
        """GET `url`, following redirects by hand so that each hop is checked by the policy."""
        for _ in range(MAX_REDIRECTS + 1):
            await self.urls.check(url)
            async with self.http.stream("GET", url, follow_redirects=False) as response:
                location = response.headers.get("location")
                if response.is_redirect and location:
                    url = urljoin(url, location)
                    continue
                if response.status_code != 200:
                    raise RefusedUrl(f"HTTP {response.status_code}")
                yield response
                return
        raise RefusedUrl(f"more than {MAX_REDIRECTS} redirects")

    async def _pump(
        self, url: str, limit: int, seconds: float, write: Callable[[bytes], Awaitable[object]]
    ) -> None:
        """Stream `url` into `write`, at most `limit` bytes (counted as they arrive) and `seconds` in all."""
        with anyio.fail_after(seconds):
            async with self._stream(url) as response:
                received = 0
                async for chunk in response.aiter_bytes():
                    received += len(chunk)
                    if received > limit:
                        raise RefusedUrl(f"larger than {limit} bytes")
                    await write(chunk)

    async def fetch(self, url: str, limit: int, seconds: float) -> bytes:
        data = bytearray()

        async def keep(chunk: bytes) -> None:
            data.extend(chunk)

        await self._pump(url, limit, seconds, keep)
        return bytes(data)

    async def previews(self, outputs: Sequence[Output], saved: dict[str, Path]) -> dict[str, Preview]:
        """What the chat can be shown of each output, by URL: an image as a small JPEG thumbnail, audio
        and text files when small. A preview is a nicety, so failures are quiet."""
        found: dict[str, Preview] = {}
        for out in outputs:
            limit = self.preview_limit(out)
            if limit <= 0:
                continue
            # Held by the size Wiro gives, so that small files are fetched many at once (their round
            # trips side by side) and the bytes held stay bounded; a file larger than it said is refused.
            expected = min(limit, int(out.size * SIZE_SLACK) + 65_536)
            async with self._held.hold(expected):
                preview = await self._preview(out, out.mime.split("/", 1)[0], expected, saved)
            if preview is not None:
                found[out.url] = preview
        return found

    def preview_limit(self, out: Output) -> int:
        """The most of this output read for its preview; 0 when it gets none (not a kind a chat shows
        from bytes, or larger than its kind's limit)."""
        cap = self.policy.preview_max_bytes
        mime = out.mime
        kind = mime.split("/", 1)[0]
        limit = (
            cap if kind == "image" else min(cap, INLINE_AUDIO_BYTES if kind == "audio" else INLINE_TEXT_BYTES)
        )
        return limit if limit > 0 and is_previewed(mime) and 0 < out.size <= limit else 0

    @property
    def _decoding(self) -> anyio.CapacityLimiter:
        """Images decoded at once: each decoded image is many times its file, so hundreds of tasks
        ending together must not all hold theirs at once."""
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(DECODES_AT_ONCE)
        return self._limiter

    async def _preview(self, out: Output, kind: str, limit: int, saved: dict[str, Path]) -> Preview | None:
        try:
            if out.url in saved:  # already on disk: not fetched a second time
                path = anyio.Path(saved[out.url])
                if (await path.stat()).st_size > limit:
                    return None
                data = await path.read_bytes()
            else:
                data = await self.fetch(out.url, limit, self.policy.preview_seconds)
        except (RefusedUrl, httpx2.HTTPError, OSError, TimeoutError) as exc:
            log.info("no preview of %s: %s", out.name or "an output", exc)
            return None
        if len(data) > limit:
            return None
        if kind != "image":
            return Preview(data, out.mime)
        from wiro_mcp.thumbnails import already_small, thumbnail  # Pillow loads with the first image

        # Decoding is CPU work, for a worker thread; an image no larger than its thumbnail (about 2 ms
        # of work) costs less done here than the trip to the thread and back, where the thread and
        # the event loop contend for the interpreter.
        async with self._decoding:
            if already_small(data):
                small = thumbnail(data)
            else:
                small = await anyio.to_thread.run_sync(thumbnail, data)
        return Preview(small, "image/jpeg") if small is not None else None

    async def keep_text(self, tool: str, taskid: str, name: str, text: str) -> tuple[Path | None, str]:
        """A task's whole text answer as a file (in the download folder, else a private temporary
        one): (its path, a note on what failed)."""
        user = getattr(os, "getuid", lambda: "user")()  # one private folder per user (no uid on Windows)
        folder = self.policy.download_dir or Path(tempfile.gettempdir()) / f"wiro-mcp-{user}"
        target = folder / safe_name(tool, "model") / safe_name(taskid, "task")
        try:
            await anyio.Path(folder).mkdir(mode=0o700, parents=True, exist_ok=True)
            await anyio.Path(target).mkdir(parents=True, exist_ok=True)
            path = target / safe_name(name, "answer.md")
            await anyio.Path(path).write_text(text, encoding="utf-8")
        except OSError as exc:
            return None, f"The whole answer could not be saved ({exc.strerror or exc})."
        return path, ""

    async def save(self, tool: str, taskid: str, outputs: Sequence[Output]) -> tuple[dict[str, Path], str]:
        """Download each output into the download folder: (url → path, a note on what failed)."""
        folder = self.policy.download_dir
        if folder is None or not outputs:
            return {}, ""
        target = folder / safe_name(tool, "model") / safe_name(taskid, "task")
        saved: dict[str, Path] = {}
        failed: list[str] = []
        for output, name in zip(outputs, distinct_names(outputs), strict=True):
            try:
                saved[output.url] = await self._download(output.url, target, name)
            except (RefusedUrl, httpx2.HTTPError, OSError, TimeoutError) as exc:
                failed.append(f"{name} ({exc or type(exc).__name__})")
        note = f"Not saved: {', '.join(failed)}; the URLs still work for a while." if failed else ""
        return saved, note

    async def _download(self, url: str, target: Path, name: str) -> Path:
        await anyio.Path(target).mkdir(parents=True, exist_ok=True)
        path = target / name
        partial = target / f".{name}.{secrets.token_hex(4)}.part"
        try:
            async with await anyio.open_file(partial, "wb") as sink:
                await self._pump(
                    url, self.policy.download_max_bytes, self.policy.download_seconds, sink.write
                )
            await anyio.to_thread.run_sync(os.replace, partial, path)
        finally:
            with anyio.CancelScope(shield=True):  # a cancelled download leaves no partial file behind
                await anyio.Path(partial).unlink(missing_ok=True)
        return path
