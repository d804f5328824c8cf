"""The byte stream under a Wiro socket: an asyncio transport that keeps reading, bounded.

anyio's socket stream stops the transport reading after every chunk it hands over and starts it
again at the next `receive` (two epoll changes and the selector's bookkeeping per chunk): for a
channel of many small frames over hundreds of connections, that was the largest cost of following
tasks (bench/server_load.py, py-spy between the bursts). This one reads on until READ_HIGH bytes wait
unread, stops then, and starts again once they are down to READ_LOW: the same bound on memory,
without a change per frame. Its errors are anyio's, so callers handle both streams alike.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque

import anyio
import anyio.lowlevel

READ_HIGH = 1024 * 1024  # unread bytes at which the transport stops reading
READ_LOW = 256 * 1024  # and starts again
TLS_SHUTDOWN_SECONDS = 2.0  # a close does not wait long for the server's TLS goodbye


class _Reading(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.chunks: deque[bytes] = deque()
        self.unread = 0
        self.paused = False
        self.ended = False  # the server sent its EOF, or the connection was lost
        self.lost: Exception | None = None
        self.data: asyncio.Future[None] | None = None  # a reader waiting for bytes
        self.drained: asyncio.Future[None] | None = None  # a writer waiting for room

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.chunks.append(bytes(data))
        self.unread += len(data)
        if self.unread >= READ_HIGH and not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()
        _wake(self.data)

    def eof_received(self) -> bool:
        self.ended = True
        _wake(self.data)
        return False  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        self.ended = True
        self.lost = exc
        _wake(self.data)
        _wake(self.drained)

    def pause_writing(self) -> None:
        if self.drained is None or self.drained.done():
            self.drained = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        _wake(self.drained)


def _wake(future: asyncio.Future[None] | None) -> None:
    if future is not None and not future.done():
        future.set_result(None)


class ReadingStream:
    """`receive`, `send` and `aclose`, as the socket client uses them of an anyio byte stream."""

    def __init__(self, transport: asyncio.Transport, protocol: _Reading) -> None:
        self._transport = transport
        self._protocol = protocol

    @property
    def unread(self) -> int:
        """Bytes received and not yet read."""
        return self._protocol.unread

    async def receive(self, max_bytes: int = 65_536) -> bytes:
        p = self._protocol
        if p.chunks:
            # Bytes were waiting: give other tasks their turn (and a cancellation its chance) first,
            # as a read that suspended would have.
            await anyio.lowlevel.checkpoint()
        while not p.chunks:
            if self._transport.is_closing() and not p.ended:
                raise anyio.ClosedResourceError
            if p.ended:
                if p.lost is not None:
                    raise anyio.BrokenResourceError from p.lost
                raise anyio.EndOfStream
            p.data = asyncio.get_running_loop().create_future()
            await p.data
        chunk = p.chunks.popleft()
        if len(chunk) > max_bytes:
            chunk, rest = chunk[:max_bytes], chunk[max_bytes:]
            p.chunks.appendleft(rest)
        p.unread -= len(chunk)
        if p.paused and p.unread <= READ_LOW and not self._transport.is_closing():
            p.paused = False
            self._transport.resume_reading()
        return chunk

    async def send(self, data: bytes) -> None:
        p = self._protocol
        if p.lost is not None:
            raise anyio.BrokenResourceError from p.lost
        if self._transport.is_closing():
            raise anyio.ClosedResourceError
        self._transport.write(data)
        if p.drained is not None and not p.drained.done():
            await p.drained  # the OS's buffer is full: wait for room (or for the connection's end)
            if p.lost is not None:
                raise anyio.BrokenResourceError from p.lost
        else:
            await anyio.lowlevel.checkpoint_if_cancelled()

    async def aclose(self) -> None:
        self._transport.close()
        await anyio.lowlevel.checkpoint()


async def connect_stream(host: str, port: int, ssl_context: ssl.SSLContext | None = None) -> ReadingStream:
    """A TCP connection to `host`:`port`, with TLS when `ssl_context` is given; OSError (ssl.SSLError
    included) when it cannot be made."""
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_connection(
        _Reading,
        host,
        port,
        ssl=ssl_context,
        server_hostname=host if ssl_context is not None else None,
        ssl_shutdown_timeout=TLS_SHUTDOWN_SECONDS if ssl_context is not None else None,
        happy_eyeballs_delay=0.25,  # as anyio's connect_tcp: IPv6 and IPv4 both tried, a little apart
    )
    assert isinstance(transport, asyncio.Transport)
    return ReadingStream(transport, protocol)
