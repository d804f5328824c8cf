"""What a hosted `--http` server adds: the OAuth resource it is (its URL, its issuer, the metadata
that points clients to the issuer) and its health and readiness endpoints for a load balancer."""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from mcp.server.auth.routes import create_protected_resource_routes
from mcp.server.auth.settings import AuthSettings
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from wiro_mcp.errors import ConfigError
from wiro_mcp.mcp.callers import READ_SCOPE, SCOPES

MCP_PATH = "/mcp"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def check_https_url(url: str, setting: str) -> str:
    """An https URL (plain http only on loopback, for tests and local issuers), with neither query
    nor fragment."""
    parts = urlsplit(url)
    local = parts.scheme == "http" and is_loopback(parts.hostname or "")
    if not (parts.scheme == "https" or local) or not parts.hostname or parts.fragment or parts.query:
        raise ConfigError(f"{setting} must be an https URL (http only on loopback) without a query: {url!r}")
    return url  # as spelt: an issuer is compared exactly (Auth0's ends with a slash, Keycloak's does not)


@dataclass(frozen=True)
class OAuthResource:
    """This server as an OAuth protected resource: `public_url` is where clients reach it (its base,
    or its /mcp URL), `issuer` the authorization server whose tokens it takes."""

    issuer: str
    public_url: str

    def __post_init__(self) -> None:
        check_https_url(self.issuer, "WIRO_MCP_OAUTH_ISSUER")
        check_https_url(self.public_url, "WIRO_MCP_PUBLIC_URL")

    @property
    def base(self) -> str:
        return self.public_url.rstrip("/").removesuffix(MCP_PATH)

    @property
    def resource(self) -> str:
        """The resource identifier (RFC 8707, RFC 9728): the MCP endpoint's URL."""
        return self.base + MCP_PATH

    @property
    def audiences(self) -> tuple[str, str]:
        """A token's `aud` may name the endpoint (as RFC 8707 clients ask) or the server's base URL
        (as issuers configured with an API identifier often do)."""
        return (self.resource, self.base)

    @property
    def host(self) -> str:
        """The Host a balancer in front passes on: the public URL's, allowed beside the bind address."""
        return urlsplit(self.public_url).netloc

    def settings(self) -> AuthSettings:
        # Audiences are checked by our verifier (both spellings), so the SDK's own resource check is off.
        return AuthSettings(
            issuer_url=self.issuer,  # pyright: ignore[reportArgumentType]  # pydantic parses the text
            resource_server_url=self.resource,  # pyright: ignore[reportArgumentType]
            required_scopes=[READ_SCOPE],
            validate_token_resource=False,
        )

    def metadata_routes(self) -> list[Route]:
        auth = self.settings()
        if auth.resource_server_url is None:
            raise ConfigError("WIRO_MCP_PUBLIC_URL is not a URL")
        return create_protected_resource_routes(
            auth.resource_server_url,
            [auth.issuer_url],
            scopes_supported=list(SCOPES),
            resource_name="wiro-mcp",
        )


@dataclass
class Readiness:
    """`/healthz`: the process answers. `/readyz`: it should be sent calls: its journal answers and
    it is not stopping. `check` returns a problem, or None when all is well."""

    check: Callable[[], Awaitable[str | None]] | None = None
    draining: bool = False

    def routes(self) -> list[Route]:
        return [
            Route("/healthz", self._health, methods=["GET"]),
            Route("/readyz", self._ready, methods=["GET"]),
        ]

    async def _health(self, request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def _ready(self, request: Request) -> JSONResponse:
        if self.draining:
            return JSONResponse({"status": "stopping"}, status_code=503)
        problem = await self.check() if self.check is not None else None
        if problem:
            return JSONResponse({"status": "not ready", "problem": problem}, status_code=503)
        return JSONResponse({"status": "ready"})
