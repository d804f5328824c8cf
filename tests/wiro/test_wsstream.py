"""The socket's byte stream against a real TCP server on loopback: it keeps reading without a change
per chunk, yet holds at most about READ_HIGH unread bytes of a server that floods it, and loses none."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import anyio
import anyio.abc
import pytest

from wiro_mcp.wiro.wsstream import READ_HIGH, ReadingStream, connect_stream

pytestmark = pytest.mark.anyio

Serve = Callable[[anyio.abc.SocketStream], Awaitable[None]]


@contextlib.asynccontextmanager
async def served(serve: Serve) -> AsyncIterator[ReadingStream]:
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)

    async def handle(stream: anyio.abc.SocketStream) -> None:
        async with stream:
            with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
                await serve(stream)

    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, handle)
        stream = await connect_stream("127.0.0.1", port)
        try:
            yield stream
        finally:
            await stream.aclose()
            tg.cancel_scope.cancel()


async def read_to_end(stream: ReadingStream) -> bytes:
    got = bytearray()
    with anyio.fail_after(10):
        while True:
            try:
                got += await stream.receive(65_536)
            except anyio.EndOfStream:
                return bytes(got)


async def test_a_flood_nobody_reads_is_held_to_the_bound_and_then_read_whole() -> None:
    flood = bytes(range(256)) * (16 * READ_HIGH // 256)  # sixteen times the bound

    async def serve(stream: anyio.abc.SocketStream) -> None:
        await stream.send(flood)
        await stream.send_eof()

    async with served(serve) as stream:
        await anyio.sleep(0.5)  # the server sends all it can meanwhile; nobody reads
        assert 0 < stream.unread <= READ_HIGH + 256 * 1024  # one more chunk may land as it stops
        assert await read_to_end(stream) == flood


async def test_the_servers_close_ends_the_stream_after_what_it_sent() -> None:
    async def serve(stream: anyio.abc.SocketStream) -> None:
        await stream.send(b"last words")

    async with served(serve) as stream:
        assert await read_to_end(stream) == b"last words"
        with pytest.raises((anyio.BrokenResourceError, anyio.ClosedResourceError)):
            for _ in range(100):  # the peer is gone: a send fails once the OS says so
                await stream.send(b"x" * 65_536)
                await anyio.sleep(0.01)


async def test_a_read_waiting_for_bytes_is_cancelled_by_its_scope() -> None:
    async def serve(stream: anyio.abc.SocketStream) -> None:
        await anyio.sleep(30)

    async with served(serve) as stream:
        with anyio.move_on_after(0.2) as scope:
            await stream.receive()
        assert scope.cancelled_caught


async def test_a_chunk_larger_than_asked_for_comes_in_pieces() -> None:
    async def serve(stream: anyio.abc.SocketStream) -> None:
        await stream.send(b"0123456789")
        await stream.send_eof()

    async with served(serve) as stream:
        await anyio.sleep(0.1)
        assert await stream.receive(4) == b"0123"
        assert await read_to_end(stream) == b"456789"


async def test_a_host_nobody_listens_on_is_an_os_error() -> None:
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    await listener.aclose()
    with pytest.raises(ConnectionRefusedError):
        await connect_stream("127.0.0.1", port)
