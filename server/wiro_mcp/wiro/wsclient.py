"""A lean WebSocket client for Wiro's channel: one TCP (or TLS) connection opened by anyio, the
upgrade and the frames by wsproto, frames read on the caller's own task.

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

import contextlib
import json
import ssl
from collections import deque
from typing import Any
from urllib.parse import urlsplit

import anyio
import anyio.abc
import wsproto.events as ws_events
import wsproto.utilities
from wsproto import ConnectionType, WSConnection
from wsproto.connection import ConnectionState

from wiro_mcp import __version__
from wiro_mcp.wiro.tls import ssl_context as shared_ssl_context

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

    def __init__(self, stream: anyio.abc.ByteStream, ws: WSConnection) -> None:
        self._stream = stream
        self._ws = ws
        self._fresh = True  # frames sent along with the upgrade's answer are read before the socket
        self._pending: deque[str] = deque()
        self._partial: list[str] = []
        self._partial_bytes = 0
        self._closed: str | None = None
        self._writing = anyio.Lock()  # a registration and a ping's answer may be sent at once

    async def send_json(self, data: Any) -> None:
        if self._closed is not None:
            raise SocketClosed(self._closed)
        try:
            frame = self._ws.send(ws_events.TextMessage(json.dumps(data)))
        except wsproto.utilities.LocalProtocolError:  # the server has begun closing it
            raise SocketClosed("closed before the task ended") from None
        await self._write(frame)

    async def receive_text(self) -> str:
        """The next whole text message (binary frames are skipped: Wiro sends them to realtime
        audio models only)."""
        if self._fresh:
            self._fresh = False
            await self._take_events()
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
            self._ws.receive_data(data)
            await self._take_events()
        return self._pending.popleft()

    async def _take_events(self) -> None:
        answers: list[bytes] = []  # sent after every message is filed, so a cancel loses none
        try:
            for event in self._ws.events():
                if isinstance(event, ws_events.TextMessage):
                    self._collect(event)
                elif isinstance(event, ws_events.Ping | ws_events.CloseConnection):
                    if isinstance(event, ws_events.CloseConnection):
                        self._closed = "closed before the task ended"
                    with contextlib.suppress(wsproto.utilities.LocalProtocolError):  # already closing
                        answers.append(self._ws.send(event.response()))
        except wsproto.utilities.RemoteProtocolError as exc:
            self._closed = f"sent a broken frame ({exc})"
        for answer in answers:
            await self._write(answer)

    def _collect(self, event: ws_events.TextMessage) -> None:
        self._partial.append(event.data)
        self._partial_bytes += len(event.data)
        if self._partial_bytes > MAX_MESSAGE_BYTES:
            self._closed = f"sent a message over {MAX_MESSAGE_BYTES // (1024 * 1024)} MiB"
            self._partial.clear()
            return
        if event.message_finished:
            self._pending.append("".join(self._partial))
            self._partial.clear()
            self._partial_bytes = 0

    async def _write(self, data: bytes) -> None:
        try:
            async with self._writing:
                await self._stream.send(data)
        except _BROKEN:
            self._closed = "broke while sending"

    async def close(self) -> None:
        if self._ws.state is ConnectionState.OPEN:
            with contextlib.suppress(wsproto.utilities.LocalProtocolError):
                await self._write(self._ws.send(ws_events.CloseConnection(code=1000)))
        await self._stream.aclose()


async def connect(
    url: str, *, ssl_context: ssl.SSLContext | None = None, handshake_seconds: float = HANDSHAKE_SECONDS
) -> WireSocket:
    """Open a connection to `url` (ws:// or wss://, the latter with `ssl_context`, by default the
    server's shared one), SocketClosed when
    it cannot be reached, or the server refuses or does not finish the upgrade within
    `handshake_seconds` (connecting included: a handshake answered a byte at a time passes every
    per-read timeout). Not a context manager, so that a connection shared by several tasks can be
    closed by whichever is last: `close()` it."""
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
            stream: anyio.abc.ByteStream = (
                await anyio.connect_tcp(
                    parts.hostname,
                    port,
                    ssl_context=ssl_context or shared_ssl_context(),
                    tls_standard_compatible=False,  # a close does not wait for the server's TLS goodbye
                )
                if secure
                else await anyio.connect_tcp(parts.hostname, port)
            )
            try:
                ws = await _upgrade(stream, parts.netloc.rpartition("@")[2], target)
            except BaseException:
                with anyio.CancelScope(shield=True):
                    await stream.aclose()
                raise
    except TimeoutError:
        raise SocketClosed(f"did not finish the upgrade within {handshake_seconds:g} s") from None
    except _BROKEN as exc:
        raise SocketClosed(f"could not be reached ({type(exc).__name__})") from None
    return WireSocket(stream, ws)


async def _upgrade(stream: anyio.abc.ByteStream, host: str, target: str) -> WSConnection:
    """The upgrade request, and the server's answer read until wsproto accepts or refuses it (it checks
    the Sec-WebSocket-Accept key against the one it sent)."""
    ws = WSConnection(ConnectionType.CLIENT)
    agent = [(b"user-agent", f"wiro-mcp/{__version__}".encode())]
    await stream.send(ws.send(ws_events.Request(host=host, target=target, extra_headers=agent)))
    received = 0
    while True:
        try:
            data = await stream.receive(READ_CHUNK)
        except anyio.EndOfStream:
            raise SocketClosed("closed the connection during the upgrade") from None
        received += len(data)
        if received > MAX_UPGRADE_BYTES:
            raise SocketClosed(f"answered the upgrade with over {MAX_UPGRADE_BYTES // 1024} KiB of headers")
        try:
            ws.receive_data(data)  # the answer's checks run here, and in events()
            for event in ws.events():
                if isinstance(event, ws_events.AcceptConnection):
                    return ws
                if isinstance(event, ws_events.RejectConnection):
                    raise SocketClosed(f"refused the connection (HTTP {event.status_code})")
        except wsproto.utilities.RemoteProtocolError as exc:
            if "accept token" in str(exc):
                raise SocketClosed("answered the upgrade without a valid Sec-WebSocket-Accept") from None
            raise SocketClosed(f"answered the upgrade wrongly ({exc})") from None
