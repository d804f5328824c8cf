"""Serving the MCP server: stdio, or streamable HTTP at /mcp with a bearer token and host checks."""

from __future__ import annotations

import contextlib
import hmac
import logging
import os
import signal
import socket
from collections.abc import AsyncGenerator, Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio
import uvicorn
from mcp.server import Server
from mcp.server.auth.provider import TokenVerifier
from mcp.server.stdio import stdio_server
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import SecretStr
from starlette.types import ASGIApp, Receive, Scope, Send

from wiro_mcp.errors import ConfigError
from wiro_mcp.mcp.hosting import OAuthResource, Readiness, is_loopback

log = logging.getLogger(__name__)

WILDCARD_HOSTS = ("0.0.0.0", "::", "[::]")
FLUSH_SECONDS = 0.5  # for a returned call's answer to reach its stream before the server stops
SHUTDOWN_SECONDS = 20.0  # above the service's own bound on stopping a task


class BearerToken:
    """ASGI middleware: every request must carry `Authorization: Bearer <token>`."""

    def __init__(self, app: ASGIApp, token: SecretStr) -> None:
        self.app = app
        self._token = token

    def __repr__(self) -> str:
        return "BearerToken(token=**********)"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        given = headers.get(b"authorization", b"").decode("latin-1")
        expected = f"Bearer {self._token.get_secret_value()}"
        if hmac.compare_digest(given.encode(), expected.encode()):
            await self.app(scope, receive, send)
            return
        body = b'{"error": "unauthorized", "error_description": "a valid bearer token is required"}'
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"www-authenticate", b'Bearer realm="wiro-mcp"'),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class QuietServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to the program that runs it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def bound_socket(host: str, port: int) -> socket.socket:
    """A listening socket for uvicorn. Made as IPPROTO_TCP, not protocol 0: asyncio turns Nagle's
    algorithm off (TCP_NODELAY) only on connections of such a socket, and with it on, an answer
    written in two pieces (headers, then body) waited for the client's delayed ACK, 40 ms each."""
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


@contextlib.asynccontextmanager
async def serve_in_background(
    app: ASGIApp, host: str = "127.0.0.1", port: int = 0, *, log_errors: bool = False
) -> AsyncGenerator[str, None]:
    """Serve an ASGI app for the duration of the block; yields its base URL. The emulator inside a
    command logs nothing of its own (a request cut short at exit is no news to the person)."""
    sock = bound_socket(host, port)
    bound_port = sock.getsockname()[1]
    level = "warning" if log_errors else "critical"
    server = QuietServer(uvicorn.Config(app, log_level=level, lifespan="off", access_log=False))
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve, [sock])
        while not server.started:  # noqa: ASYNC110  (uvicorn offers no start event to wait on)
            await anyio.sleep(0.01)
        try:
            yield f"http://{host}:{bound_port}"
        finally:
            server.should_exit = True


@contextlib.asynccontextmanager
async def stop_on_signals(
    stop: Callable[[], None], idle: Callable[[], bool] | None = None
) -> AsyncGenerator[None, None]:
    """SIGTERM or SIGINT calls `stop`: in-flight calls are then cancelled as a client cancel would
    (their Wiro tasks killed unless on_cancel=detach) and the process exits promptly. With `idle`,
    the process is ended once nothing is being stopped any more: stdio's reader thread, blocked on
    stdin, would otherwise keep it alive."""

    async def watch() -> None:
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async for signum in signals:
                log.info(
                    "%s: stopping; calls still in flight then stop their Wiro tasks",
                    signal.Signals(signum).name,
                )
                stop()
                break
        if idle is not None:
            # Shielded: `stop` cancels the scope this watcher lives in too.
            with anyio.CancelScope(shield=True):
                await anyio.sleep(0.2)  # lets every cancelled call begin stopping its task
                with anyio.move_on_after(SHUTDOWN_SECONDS):
                    while not idle():  # noqa: ASYNC110  (a counter in the service, no event to wait on)
                        await anyio.sleep(0.05)
            logging.shutdown()
            os._exit(0)

    async with anyio.create_task_group() as tg:
        tg.start_soon(watch)
        try:
            yield
        finally:
            tg.cancel_scope.cancel()


async def run_stdio(server: Server[Any], idle: Callable[[], bool] | None = None) -> None:
    async with anyio.create_task_group() as tg, stop_on_signals(tg.cancel_scope.cancel, idle):
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())
        tg.cancel_scope.cancel()


def check_http_bind(host: str, token: SecretStr | None, oauth: bool = False) -> None:
    if token is not None and oauth:
        raise ConfigError(
            "WIRO_MCP_HTTP_TOKEN and WIRO_MCP_OAUTH_ISSUER are both set: the static token is for one person, "
            "OAuth for many; unset one"
        )
    if not is_loopback(host) and token is None and not oauth:
        raise ConfigError(
            f"refusing to serve HTTP on {host} (not loopback) without authentication: set WIRO_MCP_HTTP_TOKEN "
            "(one person) or WIRO_MCP_OAUTH_ISSUER and WIRO_MCP_PUBLIC_URL (a team)"
        )


def _host_forms(name: str) -> list[str]:
    """The Host header values that name `name`: bare and with any port; IPv6 in brackets."""
    if name.endswith(":*") or (name.count(":") == 1 and name.rsplit(":", 1)[1].isdigit()):
        return [name]
    bare = name.strip("[]")
    shown = f"[{bare}]" if ":" in bare else bare
    return [shown, f"{shown}:*"]


def transport_security(host: str, allowed_hosts: Sequence[str] = ()) -> TransportSecuritySettings:
    """DNS-rebinding protection, on for every bind address: Host (and Origin, when sent) must name
    this server: loopback names, the bind address itself, and the names a deployment serves under."""
    names = ["127.0.0.1", "localhost", "::1", *allowed_hosts]
    if host not in WILDCARD_HOSTS:
        names.append(host)
    hosts = list(dict.fromkeys(form for n in names for form in _host_forms(n)))
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=hosts,
        allowed_origins=[f"{scheme}://{h}" for scheme in ("http", "https") for h in hosts],
    )


@dataclass(frozen=True)
class SessionLimits:
    """Stateful HTTP sessions: at most `most` open at once (a new one beyond is refused until one
    ends), each closed after `idle_seconds` without a request. Each costs memory while it lasts."""

    most: int = 200
    idle_seconds: float = 900.0


@dataclass(frozen=True)
class HttpOptions:
    """How `--http` serves: its address, who may call (a static token, or OAuth), its sessions, its
    probes, and how long in-flight calls get to end on SIGTERM."""

    host: str = "127.0.0.1"
    port: int = 0
    token: SecretStr | None = None
    oauth: OAuthResource | None = None
    allowed_hosts: Sequence[str] = ()
    sessions: SessionLimits = SessionLimits()
    ready: Readiness = field(default_factory=Readiness)  # the one /readyz answers from, and SIGTERM drains
    drain_seconds: float = 1.0
    busy: Callable[[], bool] | None = None  # whether calls are in flight (a drain waits for them)


def http_app(server: Server[Any], options: HttpOptions, verifier: TokenVerifier | None = None) -> ASGIApp:
    check_http_bind(options.host, options.token, options.oauth is not None)
    allowed = list(options.allowed_hosts)
    auth: dict[str, Any] = {}
    if options.oauth is not None:
        if verifier is None:  # never an open server where OAuth was asked for
            raise ConfigError("OAuth is set but no token verifier was given")
        allowed.append(options.oauth.host)
        auth = {"auth": options.oauth.settings(), "token_verifier": verifier}
    app = server.streamable_http_app(
        streamable_http_path="/mcp",
        host=options.host,
        transport_security=transport_security(options.host, allowed),
        max_sessions=options.sessions.most,
        session_idle_timeout=options.sessions.idle_seconds,
        custom_starlette_routes=options.ready.routes(),
        **auth,
    )
    if options.oauth is not None:
        # The SDK's metadata lists only the scopes every request needs; ours lists wiro:run too, so a
        # client asks for both. Routes match in order: this one is found first.
        app.router.routes[:0] = options.oauth.metadata_routes()
    return BearerToken(app, options.token) if options.token is not None else app


async def run_http(server: Server[Any], options: HttpOptions) -> None:
    async with contextlib.AsyncExitStack() as stack:
        verifier = None
        if options.oauth is not None:
            from wiro_mcp.mcp.oauth import JwtVerifier, key_client

            http_client = await stack.enter_async_context(key_client())
            verifier = JwtVerifier(options.oauth.issuer, options.oauth.audiences, http_client)
        app = http_app(server, options, verifier)
        sock = bound_socket(options.host, options.port)
        log.info("serving MCP over streamable HTTP at http://%s:%d/mcp", options.host, sock.getsockname()[1])
        config = uvicorn.Config(
            app, log_level="warning", lifespan="on", access_log=False, timeout_graceful_shutdown=1
        )
        http = QuietServer(config)
        busy = options.busy or (lambda: False)

        async def drain() -> None:
            """Calls in flight get `drain_seconds` to end while the server still serves (each is
            bounded by its wait, after which it hands back its task; /readyz says the replica is
            stopping meanwhile); then the server stops, and calls still open are cancelled, which
            stops their tasks unless on_cancel=detach."""
            with anyio.move_on_after(options.drain_seconds) as waiting:
                while busy():  # noqa: ASYNC110  (a counter of calls, no event to wait on)
                    await anyio.sleep(0.05)
            if not waiting.cancelled_caught:  # the last call has returned: its answer is still being sent
                await anyio.sleep(FLUSH_SECONDS)
            http.should_exit = True

        async with anyio.create_task_group() as tg:

            def stop() -> None:
                options.ready.draining = True
                tg.start_soon(drain)

            async with stop_on_signals(stop):
                await http.serve([sock])
