"""Host checks for every bind address, the bind rule, and the listening socket."""

from __future__ import annotations

import asyncio
import socket

import pytest
from pydantic import SecretStr

from wiro_mcp.errors import ConfigError
from wiro_mcp.mcp.hosting import is_loopback
from wiro_mcp.mcp.transports import bound_socket, check_http_bind, transport_security


@pytest.mark.parametrize(
    ("bind", "own"),
    [
        ("127.0.0.2", "127.0.0.2"),
        ("::1", "[::1]"),
        ("[::1]", "[::1]"),
        ("::ffff:127.0.0.1", "[::ffff:127.0.0.1]"),
    ],
)
def test_every_loopback_form_gets_host_checks_naming_itself(bind: str, own: str) -> None:
    security = transport_security(bind)
    assert security.enable_dns_rebinding_protection
    assert own in security.allowed_hosts and f"{own}:*" in security.allowed_hosts
    assert f"http://{own}:*" in security.allowed_origins
    # Exactly the loopback names and the bind address itself: nothing else may claim to be this server.
    loopback = {"127.0.0.1", "127.0.0.1:*", "localhost", "localhost:*", "[::1]", "[::1]:*"}
    assert set(security.allowed_hosts) == loopback | {own, f"{own}:*"}
    assert is_loopback(bind)


def test_a_wildcard_bind_allows_loopback_names_and_the_listed_ones_only() -> None:
    security = transport_security("0.0.0.0", ["studio.lan", "wiro.example.com:8443"])
    assert "0.0.0.0" not in security.allowed_hosts and "0.0.0.0:*" not in security.allowed_hosts
    assert {"studio.lan", "studio.lan:*", "wiro.example.com:8443", "localhost:*"} <= set(
        security.allowed_hosts
    )


def test_off_loopback_needs_a_token() -> None:
    with pytest.raises(ConfigError, match="WIRO_MCP_HTTP_TOKEN"):
        check_http_bind("0.0.0.0", None)
    check_http_bind("0.0.0.0", SecretStr("t"))
    check_http_bind("::ffff:127.0.0.1", None)


@pytest.mark.anyio
async def test_readiness_says_why_it_is_not_ready() -> None:
    import httpx2
    from starlette.applications import Starlette

    from wiro_mcp.mcp.hosting import Readiness

    problem: list[str] = ["the task journal postgresql://db/wiro cannot be read: connection refused"]

    async def check() -> str | None:
        return problem[0] if problem else None

    probes = Readiness(check)
    transport = httpx2.ASGITransport(app=Starlette(routes=probes.routes()))
    async with httpx2.AsyncClient(transport=transport, base_url="http://t") as http:
        answer = await http.get("/readyz")
        assert answer.status_code == 503 and "connection refused" in answer.json()["problem"]
        problem.clear()
        assert (await http.get("/readyz")).status_code == 200
        probes.draining = True
        assert (await http.get("/readyz")).json() == {"status": "stopping"}
        assert (await http.get("/healthz")).status_code == 200


@pytest.mark.anyio
async def test_connections_to_the_http_server_send_small_answers_at_once() -> None:
    """The listening socket uvicorn is given, served as uvicorn serves it (asyncio's create_server):
    each connection it accepts has Nagle's algorithm off, so an answer written in pieces is not held
    back for the client's delayed ACK (40 ms a response, before)."""
    loop = asyncio.get_running_loop()
    accepted: asyncio.Future[int] = loop.create_future()

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            sock = transport.get_extra_info("socket")
            accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    listening = bound_socket("127.0.0.1", 0)
    server = await loop.create_server(Probe, sock=listening)
    try:
        client = socket.create_connection(listening.getsockname())
        assert await asyncio.wait_for(accepted, 5) != 0
        client.close()
    finally:
        server.close()
        await server.wait_closed()
