"""An OAuth 2.1 resource server for `--http`: JWT access tokens from one authorization server.

The SDK does the HTTP side (`AuthSettings` and a `TokenVerifier`): the 401 with
`WWW-Authenticate: Bearer resource_metadata=…`, the protected-resource metadata (RFC 9728), the
caller's token on every request. This module is the verifier: it finds the issuer's keys from its
metadata (RFC 8414, else OpenID discovery), keeps them, fetches them again when a token names a
key it does not know (a rotation, at most every KEY_RETRY_SECONDS), and checks each token's
signature, issuer, audience (this server), expiry and subject with PyJWT.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx2
import jwt
from mcp.server.auth.provider import AccessToken

from wiro_mcp.errors import ConfigError
from wiro_mcp.mcp.hosting import check_https_url
from wiro_mcp.wiro.tls import ssl_context

log = logging.getLogger(__name__)

# Asymmetric algorithms only: a shared-secret (HS*) or unsigned token is never accepted.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
MAX_TOKEN_CHARS = 16_384
MAX_DOCUMENT_BYTES = 1_000_000  # the issuer's metadata or key set
KEYS_MAX_AGE_SECONDS = 3600.0
KEY_RETRY_SECONDS = 5.0  # a token naming an unknown key fetches the keys again at most this often
LEEWAY_SECONDS = 30  # clocks of two machines differ a little
FETCH_SECONDS = 10.0


def metadata_urls(issuer: str) -> list[str]:
    """Where an issuer publishes its metadata: RFC 8414's path (inserted before the issuer's own
    path), then OpenID Connect's (appended)."""
    parts = urlsplit(issuer)
    path = parts.path.rstrip("/")
    origin = f"{parts.scheme}://{parts.netloc}"
    return [
        f"{origin}/.well-known/oauth-authorization-server{path}",
        f"{origin}{path}/.well-known/openid-configuration",
    ]


def scopes_of(claims: dict[str, Any]) -> list[str]:
    """`scope` (RFC 9068: space-separated) or `scp` (a list, as Entra and Okta send it)."""
    scope = claims.get("scope")
    if isinstance(scope, str):
        return scope.split()
    listed = claims.get("scp")
    if isinstance(listed, list):
        return [s for s in listed if isinstance(s, str)]  # pyright: ignore[reportUnknownVariableType]
    return listed.split() if isinstance(listed, str) else []


def key_client() -> httpx2.AsyncClient:
    """The client that fetches the issuer's metadata and keys: no credentials, no redirects."""
    return httpx2.AsyncClient(timeout=FETCH_SECONDS, follow_redirects=False, verify=ssl_context())


class JwtVerifier:
    """The SDK's TokenVerifier for JWT access tokens of `issuer` meant for `audiences`."""

    def __init__(self, issuer: str, audiences: Sequence[str], http: httpx2.AsyncClient) -> None:
        self.issuer = issuer
        self.audiences = [a.rstrip("/") for a in audiences]
        self._http = http
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched = 0.0  # monotonic time of the last fetch, successful or not
        self._lock = anyio.Lock()

    def __repr__(self) -> str:
        return f"JwtVerifier(issuer={self.issuer!r}, keys={len(self._keys)})"

    async def _document(self, url: str) -> dict[str, Any]:
        async with self._http.stream("GET", url, headers={"accept": "application/json"}) as answer:
            if answer.status_code != 200:
                raise ValueError(f"{url} answered HTTP {answer.status_code}")
            body = bytearray()
            async for chunk in answer.aiter_bytes():
                body += chunk
                if len(body) > MAX_DOCUMENT_BYTES:
                    raise ValueError(f"{url} sent more than {MAX_DOCUMENT_BYTES} bytes")
        found = json.loads(bytes(body))
        if not isinstance(found, dict):
            raise ValueError(f"{url} sent no JSON object")
        return found  # pyright: ignore[reportUnknownVariableType]

    async def _jwks_uri(self) -> str:
        problems: list[str] = []
        for url in metadata_urls(self.issuer):
            try:
                metadata = await self._document(url)
            except (httpx2.HTTPError, ValueError) as exc:
                problems.append(str(exc))
                continue
            if metadata.get("issuer") != self.issuer:
                problems.append(f"{url} names another issuer")  # RFC 8414 §3.3: must be identical
                continue
            uri = metadata.get("jwks_uri")
            if isinstance(uri, str) and uri:
                return check_https_url(uri, "the issuer's jwks_uri")
            problems.append(f"{url} has no jwks_uri")
        raise ValueError("; ".join(problems))

    async def _refresh(self) -> None:
        self._fetched = time.monotonic()
        try:
            with anyio.fail_after(FETCH_SECONDS):
                key_set = jwt.PyJWKSet.from_dict(await self._document(await self._jwks_uri()))
        except (httpx2.HTTPError, ValueError, TimeoutError, ConfigError, jwt.PyJWTError) as exc:
            log.error("the authorization server's keys could not be fetched: %s", exc)
            return
        self._keys = {str(k.key_id or ""): k for k in key_set.keys}
        log.info("the authorization server's keys: %d", len(self._keys))

    async def _key(self, kid: str) -> jwt.PyJWK | None:
        async with self._lock:
            age = time.monotonic() - self._fetched
            known = kid in self._keys or (not kid and len(self._keys) == 1)
            if (not known and age > KEY_RETRY_SECONDS) or age > KEYS_MAX_AGE_SECONDS:
                await self._refresh()
        if not kid and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        return self._keys.get(kid)

    async def verify_token(self, token: str) -> AccessToken | None:
        """The token's claims when it is good for this server, else None (the SDK answers 401)."""
        if len(token) > MAX_TOKEN_CHARS:
            return None
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            return None
        algorithm, kid = header.get("alg"), header.get("kid") or ""
        if algorithm not in ALGORITHMS or not isinstance(kid, str):
            return None
        key = await self._key(kid)
        if key is None:
            log.info("refused an access token: its key %r is not the issuer's", kid[:40])
            return None
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self.audiences,
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            log.info("refused an access token: %s", exc)
            return None
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject.strip() or len(subject) > 256:
            return None
        client = claims.get("client_id") or claims.get("azp") or ""
        return AccessToken(
            token=token,
            client_id=str(client)[:256],
            scopes=scopes_of(claims),
            expires_at=int(claims["exp"]),
            subject=subject,
            claims={"iss": self.issuer},
        )
