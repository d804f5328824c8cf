"""A lean WebSocket client for Wiro's channel: one TCP (or TLS) connection (wsstream.py), the
upgrade request and its answer by h11 (httpcore2's own HTTP/1.1 parser), the frames by wsframes.py,
read on the caller's own task.

Neither httpx2's WebSocket session nor an httpx2 upgrade is used: the session reads through a
background task and a memory stream (two more task switches per frame), and an upgrade through
httpx2 needs a client of its own per connection (a shared pool looks through every open connection
on each request, and there are hundreds), about a millisecond of CPU each to make and close, with a
cancel scope around every read. Wiro's channel needs little: one text message out, text messages in,
pings answered, a close. Keepalive pings are not sent: silence is watched by the follower itself.
The TLS context is the one every connection of the server shares (tls.py). Proxies from the
environment are not used for it, as they were not before (httpx2 applies them to http and https
URLs only); a socket that cannot connect leaves the task to polling.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import ssl
from collections import deque
from typing import Any
from urllib.parse import urlsplit

import anyio

from wiro_mcp import __version__
from wiro_mcp.wiro.tls import ssl_context as shared_ssl_context
from wiro_mcp.wiro.wsframes import (
    CLOSE,
    CONTINUATION,
    PING,
    PONG,
    TEXT,
    Frame,
    FrameReader,
    client_frame,
    close_payload,
)
from wiro_mcp.wiro.wsstream import ReadingStream, connect_stream

ACCEPT_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455, section 1.3
MAX_MESSAGE_BYTES = 16 * 1024 * 1024  # a whole LLM log fits; anything larger is not Wiro
MAX_UPGRADE_BYTES = 64 * 1024  # the server's answer to the upgrade request: headers only
READ_CHUNK = 65_536
HANDSHAKE_SECONDS = 10.0
# What a broken connection raises: anyio's own errors, and the OS's (refused, reset, unreachable,
# a TLS failure: ssl.SSLError is an OSError).
_BROKEN = (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError)


class SocketClosed(Exception):
    """The connection ended: closed by the server, broken, or never upgraded."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class WireSocket:
    """One open WebSocket connection: `send_json`, then `receive_text` until it raises SocketClosed."""

    def __init__(self, stream: ReadingStream, received: bytes = b"") -> None:
        self._stream = stream
        self._reader = FrameReader(MAX_MESSAGE_BYTES)
        self._early = received  # bytes that came with the upgrade's answer: the first frames, maybe
        self._pending: deque[str] = deque()
        self._partial: list[bytes] = []
        self._partial_bytes = 0
        self._text = False  # the message being gathered is text (not binary, which is skipped)
        self._closed: str | None = None
        self._close_sent = False
        self._writing = anyio.Lock()  # a registration and a ping's answer may be sent at once

    async def send_json(self, data: Any) -> None:
        if self._closed is not None or self._close_sent:
            raise SocketClosed(self._closed or "closed before the task ended")
        await self._write(client_frame(TEXT, json.dumps(data).encode()))

    async def receive_text(self) -> str:
        """The next whole text message (binary frames are skipped: Wiro sends them to realtime
        audio models only)."""
        if self._early:
            early, self._early = self._early, b""
            await self._take(early)
        while not self._pending:
            if self._closed is not None:
                raise SocketClosed(self._closed)
            try:
                data = await self._stream.receive(READ_CHUNK)
            except anyio.EndOfStream:
                self._closed = "closed before the task ended"
                continue
            except _BROKEN as exc:
                raise SocketClosed(f"broke ({type(exc).__name__})") from None
            await self._take(data)
        return self._pending.popleft()

    async def _take(self, data: bytes) -> None:
        answers: list[bytes] = []  # sent after every message is filed, so a cancel loses none
        for frame in self._reader.feed(data):
            if frame.opcode == PING:
                answers.append(client_frame(PONG, frame.payload))
            elif frame.opcode == CLOSE:
                self._closed = "closed before the task ended"
                if not self._close_sent:
                    self._close_sent = True
                    answers.append(client_frame(CLOSE, frame.payload[:2]))  # its code, echoed
                break
            elif frame.opcode != PONG:
                self._collect(frame)
        if self._reader.error and self._closed is None:
            self._closed = f"sent a broken frame ({self._reader.error})"
        for answer in answers:
            await self._write(answer)

    def _collect(self, frame: Frame) -> None:
        if frame.opcode != CONTINUATION:
            self._text = frame.opcode == TEXT
        if self._text:
            self._partial.append(frame.payload)
            self._partial_bytes += len(frame.payload)
        if self._partial_bytes > MAX_MESSAGE_BYTES:
            self._closed = f"sent a message over {MAX_MESSAGE_BYTES // (1024 * 1024)} MiB"
            self._partial.clear()
            return
        if frame.fin:
            if self._text:
                try:
                    self._pending.append(b"".join(self._partial).decode())
                except UnicodeDecodeError:
                    self._closed = "sent a broken frame (a text message that is not UTF-8)"
            self._partial.clear()
            self._partial_bytes = 0

    async def _write(self, data: bytes) -> None:
        try:
            async with self._writing:
                await self._stream.send(data)
        except _BROKEN:
            self._closed = "broke while sending"

    async def close(self) -> None:
        if self._closed is None and not self._close_sent:
            self._close_sent = True
            await self._write(client_frame(CLOSE, close_payload(1000)))
        await self._stream.aclose()


async def connect(
    url: str, *, ssl_context: ssl.SSLContext | None = None, handshake_seconds: float = HANDSHAKE_SECONDS
) -> WireSocket:
    """Open a connection to `url` (ws:// or wss://, the latter with `ssl_context`, by default the
    server's shared one); SocketClosed when it cannot be reached, or the server refuses or does not
    finish the upgrade within `handshake_seconds` (connecting included: a handshake answered a byte
    at a time passes every per-read timeout). Not a context manager, so that a connection shared by
    several tasks can be closed by whichever is last: `close()` it."""
    parts = urlsplit(url)
    secure = parts.scheme == "wss"
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise SocketClosed(f"is not a ws:// or wss:// URL ({parts.scheme or 'no scheme'})")
    try:
        port = parts.port or (443 if secure else 80)
    except ValueError:
        raise SocketClosed("has a port that is not a number") from None
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        with anyio.fail_after(handshake_seconds):
            stream = await connect_stream(
                parts.hostname, port, (ssl_context or shared_ssl_context()) if secure else None
            )
            try:
                received = await _upgrade(stream, parts.netloc.rpartition("@")[2], target)
            except BaseException:
                with anyio.CancelScope(shield=True):
                    await stream.aclose()
                raise
    except TimeoutError:
        raise SocketClosed(f"did not finish the upgrade within {handshake_seconds:g} s") from None
    except _BROKEN as exc:
        raise SocketClosed(f"could not be reached ({type(exc).__name__})") from None
    return WireSocket(stream, received)


def accept_key(key: str) -> str:
    return base64.b64encode(hashlib.sha1(key.encode() + ACCEPT_GUID).digest()).decode()


async def _upgrade(stream: ReadingStream, host: str, target: str) -> bytes:
    """The upgrade request, and the server's answer read with h11 (bounded); what arrived after the
    answer (the first frames, maybe) is returned for the socket to read first."""
    import h11  # loads with the first socket, not at start-up

    key = base64.b64encode(secrets.token_bytes(16)).decode()
    http = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_UPGRADE_BYTES)
    headers = [
        ("host", host),
        ("connection", "Upgrade"),
        ("upgrade", "websocket"),
        ("sec-websocket-key", key),
        ("sec-websocket-version", "13"),
        ("user-agent", f"wiro-mcp/{__version__}"),
    ]
    await stream.send(http.send(h11.Request(method="GET", target=target, headers=headers)))
    while True:
        try:
            event = http.next_event()
        except h11.RemoteProtocolError as exc:
            raise SocketClosed(f"answered the upgrade wrongly ({exc})") from None
        if event is h11.NEED_DATA:
            try:
                http.receive_data(await stream.receive(READ_CHUNK))
            except anyio.EndOfStream:
                raise SocketClosed("closed the connection during the upgrade") from None
            continue
        if isinstance(event, h11.InformationalResponse) and event.status_code == 101:
            answer = {name.decode().lower(): value.decode("latin-1") for name, value in event.headers}
            if answer.get("upgrade", "").lower() != "websocket":
                raise SocketClosed("answered the upgrade with no Upgrade: websocket")
            if answer.get("sec-websocket-accept") != accept_key(key):
                raise SocketClosed("answered the upgrade without a valid Sec-WebSocket-Accept")
            if answer.get("sec-websocket-extensions"):
                raise SocketClosed("answered the upgrade with an extension nobody asked for")
            return http.trailing_data[0]
        if isinstance(event, h11.Response | h11.InformationalResponse):
            raise SocketClosed(f"refused the connection (HTTP {event.status_code})")
        raise SocketClosed("answered the upgrade wrongly")
