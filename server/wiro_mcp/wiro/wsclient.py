"""A lean WebSocket client for Wiro's channel: httpx2 sends the upgrade request (one HTTP stack, its
TLS and timeouts), wsproto frames the messages, and frames are read on the caller's own task.

httpx2's WebSocket session reads through a background task and a memory stream, two more task
switches per frame; with hundreds of tasks followed at once and a couple of dozen events each, that
was a third of the CPU of following a task (measured with `bench/follow_lag.py`). Wiro's channel needs
little: one text message out, text messages in, pings answered, a close. Keepalive pings are not sent:
silence is watched by the follower itself.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import secrets
from collections import deque
from typing import Any

import anyio
import httpcore2
import httpx2
import wsproto.connection
import wsproto.events as ws_events
import wsproto.utilities
from wsproto.connection import Connection, ConnectionType

ACCEPT_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455, section 1.3
MAX_MESSAGE_BYTES = 16 * 1024 * 1024  # a whole LLM log fits; anything larger is not Wiro
READ_CHUNK = 65_536
HANDSHAKE_SECONDS = 10.0


class SocketClosed(Exception):
    """The connection ended: closed by the server, broken, or never upgraded."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def accept_key(key: str) -> str:
    return base64.b64encode(hashlib.sha1(key.encode() + ACCEPT_GUID).digest()).decode()


class WireSocket:
    """One open WebSocket connection: `send_json`, then `receive_text` until it raises SocketClosed."""

    def __init__(
        self,
        stream: httpcore2.AsyncNetworkStream,
        response: httpx2.Response,
        client: httpx2.AsyncClient | None = None,
    ) -> None:
        self._stream = stream
        self._response = response
        self._client = client  # closed with the socket when the socket owns it
        self._ws = Connection(ConnectionType.CLIENT)
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
        while not self._pending:
            if self._closed is not None:
                raise SocketClosed(self._closed)
            try:
                data = await self._stream.read(READ_CHUNK)
            except httpcore2.NetworkError as exc:
                raise SocketClosed(f"broke ({type(exc).__name__})") from None
            if not data:
                self._closed = "closed before the task ended"
                continue
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
                await self._stream.write(data)
        except httpcore2.NetworkError:
            self._closed = "broke while sending"

    async def close(self) -> None:
        if self._ws.state is wsproto.connection.ConnectionState.OPEN:
            with contextlib.suppress(wsproto.utilities.LocalProtocolError):
                await self._write(self._ws.send(ws_events.CloseConnection(code=1000)))
        await self._stream.aclose()
        await self._response.aclose()
        if self._client is not None:
            await self._client.aclose()


async def connect(
    client: httpx2.AsyncClient,
    url: str,
    *,
    own_client: bool = False,
    handshake_seconds: float = HANDSHAKE_SECONDS,
) -> WireSocket:
    """Open a connection to `url` (ws:// or wss://) through `client`, SocketClosed when the server
    refuses or does not finish the upgrade within `handshake_seconds` (connecting included: a
    handshake answered a byte at a time passes every per-read timeout). Not a context manager, so
    that a connection shared by several tasks can be closed by whichever is last: `close()` it
    (which closes `client` too when the socket owns it)."""
    try:
        with anyio.fail_after(handshake_seconds):
            return await _upgrade(client, url, client if own_client else None)
    except TimeoutError:
        if own_client:
            with anyio.CancelScope(shield=True):
                await client.aclose()
        raise SocketClosed(f"did not finish the upgrade within {handshake_seconds:g} s") from None
    except BaseException:
        if own_client:
            with anyio.CancelScope(shield=True):
                await client.aclose()
        raise


async def _upgrade(client: httpx2.AsyncClient, url: str, owned: httpx2.AsyncClient | None) -> WireSocket:
    key = base64.b64encode(secrets.token_bytes(16)).decode()
    headers = {
        "connection": "upgrade",
        "upgrade": "websocket",
        "sec-websocket-key": key,
        "sec-websocket-version": "13",
    }
    response = await client.send(client.build_request("GET", url, headers=headers), stream=True)
    if response.status_code != 101:
        await response.aclose()
        raise SocketClosed(f"refused the connection (HTTP {response.status_code})")
    if response.headers.get("sec-websocket-accept") != accept_key(key):
        await response.aclose()
        raise SocketClosed("answered the upgrade without a valid Sec-WebSocket-Accept")
    return WireSocket(response.extensions["network_stream"], response, owned)
