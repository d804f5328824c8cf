"""The lean WebSocket client against a real WebSocket server on loopback (wsproto on the server side),
which sends what a browser-grade server may: fragmented messages, pings, binary frames, a close, and
handshakes that go wrong."""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import json
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import anyio
import anyio.abc
import pytest
from anyio.streams.tls import TLSListener
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    Pong,
    RejectConnection,
    Request,
    TextMessage,
)

from wiro_mcp.wiro.wsclient import MAX_MESSAGE_BYTES, SocketClosed, WireSocket, connect

pytestmark = pytest.mark.anyio

Script = Callable[["Peer"], Awaitable[None]]


class Peer:
    """The server's side of one connection."""

    def __init__(self, stream: anyio.abc.SocketStream) -> None:
        self.stream = stream
        self.ws = WSConnection(ConnectionType.SERVER)
        self.received: list[object] = []

    async def send(self, *events: object) -> None:
        for event in events:
            await self.stream.send(self.ws.send(event))  # type: ignore[arg-type]

    async def next_event(self) -> object:
        while True:
            for event in self.ws.events():
                self.received.append(event)
                return event
            self.ws.receive_data(await self.stream.receive())

    async def handshake(self, accept: bool = True) -> None:
        request = await self.next_event()
        assert isinstance(request, Request)
        if accept:
            await self.send(AcceptConnection())
        else:
            await self.send(RejectConnection(status_code=403, has_body=False))


@contextlib.asynccontextmanager
async def server(script: Script) -> AsyncIterator[tuple[str, list[Peer]]]:
    peers: list[Peer] = []
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)

    async def handle(stream: anyio.abc.SocketStream) -> None:
        peer = Peer(stream)
        peers.append(peer)
        async with stream:
            with contextlib.suppress(anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
                await script(peer)

    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, handle)
        yield f"ws://127.0.0.1:{port}/v1", peers
        tg.cancel_scope.cancel()


@contextlib.asynccontextmanager
async def open_socket(url: str) -> AsyncIterator[WireSocket]:
    socket = await connect(url)
    try:
        yield socket
    finally:
        await socket.close()


async def read_all(url: str) -> tuple[list[str], str]:
    """Every text message until the connection ends, and why it ended."""
    got: list[str] = []
    async with open_socket(url) as socket:
        await socket.send_json({"type": "task_info", "tasktoken": "t"})
        with anyio.fail_after(5):
            while True:
                try:
                    got.append(await socket.receive_text())
                except SocketClosed as closed:
                    return got, closed.reason


async def test_messages_in_pieces_pings_and_binary_frames_arrive_as_whole_texts() -> None:
    async def script(peer: Peer) -> None:
        await peer.handshake()
        registration = await peer.next_event()
        assert isinstance(registration, TextMessage)
        assert json.loads(registration.data) == {"type": "task_info", "tasktoken": "t"}
        await peer.send(
            TextMessage('{"type": "task_', message_finished=False),
            Ping(b"still there?"),
            TextMessage('start"}', message_finished=True),
            BytesMessage(b"\x00\x01audio"),
            TextMessage('{"type": "task_end"}'),
        )
        assert await peer.next_event() == Pong(b"still there?")
        await peer.send(CloseConnection(code=1000))
        assert isinstance(await peer.next_event(), CloseConnection)  # the client answered the close

    async with server(script) as (url, peers):
        got, reason = await read_all(url)
    assert got == ['{"type": "task_start"}', '{"type": "task_end"}']
    assert reason == "closed before the task ended"
    assert len(peers) == 1


async def test_a_connection_that_just_ends_is_a_closed_socket() -> None:
    async def script(peer: Peer) -> None:
        await peer.handshake()
        await peer.next_event()
        await peer.send(TextMessage('{"type": "task_queue"}'))
        await peer.stream.aclose()

    async with server(script) as (url, _peers):
        got, reason = await read_all(url)
    assert got == ['{"type": "task_queue"}'] and reason == "closed before the task ended"


async def test_a_refused_upgrade_is_a_closed_socket_that_says_so() -> None:
    async def script(peer: Peer) -> None:
        await peer.handshake(accept=False)

    async with server(script) as (url, _peers):
        with pytest.raises(SocketClosed, match="refused the connection \\(HTTP 403\\)"):
            await read_all(url)


async def test_an_upgrade_answer_with_the_wrong_accept_key_is_refused() -> None:
    async def script(peer: Peer) -> None:
        await peer.stream.receive()
        await peer.stream.send(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: bm90IHRoZSByaWdodCBrZXk=\r\n\r\n"
        )
        await anyio.sleep(5)

    async with server(script) as (url, _peers):
        with pytest.raises(SocketClosed, match="Sec-WebSocket-Accept"):
            await read_all(url)


async def test_an_endless_message_is_cut_off() -> None:
    piece = "x" * (1024 * 1024)

    async def script(peer: Peer) -> None:
        await peer.handshake()
        await peer.next_event()
        for _ in range(MAX_MESSAGE_BYTES // len(piece) + 1):
            await peer.send(TextMessage(piece, message_finished=False))
        await anyio.sleep(5)

    async with server(script) as (url, _peers):
        got, reason = await read_all(url)
    assert got == [] and "over 16 MiB" in reason


async def test_sending_on_a_connection_the_server_closed_is_a_closed_socket() -> None:
    async def script(peer: Peer) -> None:
        await peer.handshake()
        await peer.send(CloseConnection(code=1001))
        await anyio.sleep(5)

    async with server(script) as (url, _peers), open_socket(url) as socket:
        with pytest.raises(SocketClosed):
            await socket.receive_text()
        with pytest.raises(SocketClosed, match="closed before the task ended"):
            await socket.send_json({"type": "task_info", "tasktoken": "late"})


async def test_frames_sent_with_the_upgrade_answer_are_not_lost() -> None:
    async def script(peer: Peer) -> None:
        request = await peer.next_event()
        assert isinstance(request, Request)
        # The answer and the first message in one write: the client must read the message from what
        # came with the answer, not wait for more.
        await peer.stream.send(peer.ws.send(AcceptConnection()) + peer.ws.send(TextMessage('{"a": 1}')))
        await peer.next_event()
        await peer.send(CloseConnection(code=1000))

    async with server(script) as (url, _peers):
        got, reason = await read_all(url)
    assert got == ['{"a": 1}'] and reason == "closed before the task ended"


async def test_a_port_nobody_listens_on_is_a_closed_socket() -> None:
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    await listener.aclose()  # the port is free again: connecting to it is refused
    with pytest.raises(SocketClosed, match="could not be reached"):
        await connect(f"ws://127.0.0.1:{port}/v1")


async def test_a_server_that_never_answers_the_upgrade_is_given_up_on() -> None:
    async def script(peer: Peer) -> None:
        await peer.stream.receive()
        await peer.stream.send(b"HTTP/1.1 101 Switching")  # then nothing more
        await anyio.sleep(5)

    async with server(script) as (url, _peers):
        with pytest.raises(SocketClosed, match=r"did not finish the upgrade within 0\.5 s"):
            await connect(url, handshake_seconds=0.5)


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made with `cryptography` (installed with the SDK)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


async def test_a_wss_url_speaks_tls_and_checks_the_certificate(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    served.load_cert_chain(cert, key)
    trusting = ssl.create_default_context(cafile=str(cert))

    async def script(peer: Peer) -> None:
        await peer.handshake()
        await peer.next_event()
        await peer.send(TextMessage('{"type": "task_end"}'), CloseConnection(code=1000))
        await peer.next_event()

    plain = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = plain.extra(anyio.abc.SocketAttribute.local_port)
    listener = TLSListener(plain, served, standard_compatible=False)

    async def handle(stream: anyio.abc.ByteStream) -> None:
        async with stream:
            with contextlib.suppress(anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
                await script(Peer(stream))  # type: ignore[arg-type]

    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, handle)
        url = f"wss://127.0.0.1:{port}/v1"
        socket = await connect(url, ssl_context=trusting)
        await socket.send_json({"type": "task_info", "tasktoken": "t"})
        assert await socket.receive_text() == '{"type": "task_end"}'
        await socket.close()
        # The same server, not trusted: the TLS failure is a socket that could not be reached.
        with pytest.raises(SocketClosed, match="could not be reached"):
            await connect(url, ssl_context=ssl.create_default_context())
        tg.cancel_scope.cancel()


@pytest.mark.parametrize(
    ("frame", "why"),
    [
        (b"\x81\x85abcd" + bytes(x ^ y for x, y in zip(b"hello", b"abcd" * 2, strict=False)), "masked"),
        (b"\xc1\x02hi", "reserved bit"),
        (b"\x81\x02\xff\xfe", "not UTF-8"),
        (b"\x80\x02hi", "no message to continue"),
        (b"\x09\x02hi", "control frame fragmented"),
        (b"\x83\x02hi", "unknown opcode"),
    ],
    ids=["masked", "reserved-bit", "bad-utf8", "lone-continuation", "fragmented-ping", "unknown-opcode"],
)
async def test_a_frame_that_breaks_the_protocol_ends_the_connection(frame: bytes, why: str) -> None:
    async def script(peer: Peer) -> None:
        await peer.handshake()
        await peer.next_event()
        await peer.send(TextMessage('{"type": "task_queue"}'))
        await peer.stream.send(frame)
        await anyio.sleep(5)

    async with server(script) as (url, _peers):
        got, reason = await read_all(url)
    assert got == ['{"type": "task_queue"}']
    assert reason.startswith("sent a broken frame") and why in reason


async def test_long_messages_in_frames_of_every_length_encoding_arrive_whole() -> None:
    sizes = [125, 126, 65_535, 65_536, 300_000]  # 7-bit, 16-bit and 64-bit lengths, at their edges

    async def script(peer: Peer) -> None:
        await peer.handshake()
        await peer.next_event()
        for size in sizes:
            await peer.send(TextMessage("é" * (size // 2) + "x" * (size % 2)))
        await peer.send(CloseConnection(code=1000))
        await peer.next_event()

    async with server(script) as (url, _peers):
        got, _reason = await read_all(url)
    assert [len(m.encode()) for m in got] == sizes
