"""A small OAuth authorization server for the tests: its metadata (RFC 8414) and its signing keys
(a JWKS) published on loopback, and signed JWT access tokens made on demand. It also has a key of
its own that it does not publish (a token signed with it must be refused) and can rotate."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.conftest import serve_app


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class Issuer:
    url: str = ""
    keys: dict[str, rsa.RSAPrivateKey] = field(default_factory=dict[str, rsa.RSAPrivateKey])
    unpublished: rsa.RSAPrivateKey = field(default_factory=_new_key)
    jwks_fetches: int = 0

    def __post_init__(self) -> None:
        self.rotate()

    def rotate(self) -> str:
        """A new signing key, published beside the old ones; its kid."""
        kid = uuid.uuid4().hex[:12]
        self.keys[kid] = _new_key()
        return kid

    @property
    def current(self) -> str:
        return list(self.keys)[-1]

    def token(
        self,
        sub: str,
        audience: str,
        scopes: str = "wiro:read wiro:run",
        *,
        issuer: str | None = None,
        expires_in: float = 600,
        kid: str | None = None,
        signed_by: rsa.RSAPrivateKey | None = None,
        **claims: Any,
    ) -> str:
        now = int(time.time())
        body = {
            "iss": self.url if issuer is None else issuer,
            "sub": sub,
            "aud": audience,
            "iat": now,
            "exp": int(now + expires_in),
            "scope": scopes,
            "client_id": "test-client",
            **claims,
        }
        kid = kid or self.current
        return jwt.encode(body, signed_by or self.keys[kid], algorithm="RS256", headers={"kid": kid})

    def app(self) -> Starlette:
        async def metadata(request: Request) -> JSONResponse:
            return JSONResponse(
                {
                    "issuer": self.url,
                    "authorization_endpoint": f"{self.url}/authorize",
                    "token_endpoint": f"{self.url}/token",
                    "jwks_uri": f"{self.url}/jwks",
                    "response_types_supported": ["code"],
                    "code_challenge_methods_supported": ["S256"],
                }
            )

        async def jwks(request: Request) -> JSONResponse:
            self.jwks_fetches += 1
            published = []
            for kid, key in self.keys.items():
                jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
                published.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256"})
            return JSONResponse({"keys": published})

        return Starlette(
            routes=[
                Route("/.well-known/oauth-authorization-server", metadata),
                Route("/jwks", jwks),
            ]
        )


@contextlib.contextmanager
def issuer_on_loopback() -> Iterator[Issuer]:
    issuer = Issuer()
    server, thread, root = serve_app(issuer.app())
    issuer.url = root
    try:
        yield issuer
    finally:
        server.should_exit = True
        thread.join(timeout=10)
