"""Signing Wiro requests, as an httpx2.Auth handed to the client."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Generator

import httpx2
from pydantic import SecretStr


def signature(api_key: str, api_secret: str, nonce: str) -> str:
    """Wiro's x-signature: lowercase hex HMAC-SHA256, key = API key, message = secret + nonce."""
    return hmac.new(api_key.encode(), (api_secret + nonce).encode(), hashlib.sha256).hexdigest()


def _millisecond_nonce() -> str:
    return str(time.time_ns() // 1_000_000)


class WiroAuth(httpx2.Auth):
    """Signature mode when a secret is set, API-key-only mode otherwise."""

    def __init__(
        self,
        api_key: SecretStr,
        api_secret: SecretStr | None = None,
        nonce: Callable[[], str] = _millisecond_nonce,
    ) -> None:
        self._api_key = api_key
        self._api_secret = api_secret
        self._nonce = nonce

    @property
    def account(self) -> str:
        """A fingerprint of the API key (a project's key names its account), never the key itself:
        what keeps the tasks and budgets of two accounts apart in one journal."""
        digest = hashlib.sha256(b"wiro-mcp account\0" + self._api_key.get_secret_value().encode())
        return digest.hexdigest()[:16]

    @property
    def mode(self) -> str:
        return "signature" if self._api_secret is not None else "api-key"

    def __repr__(self) -> str:
        return f"WiroAuth(mode={self.mode!r})"

    def auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response, None]:
        key = self._api_key.get_secret_value()
        request.headers["x-api-key"] = key
        if self._api_secret is not None:
            nonce = self._nonce()
            request.headers["x-nonce"] = nonce
            request.headers["x-signature"] = signature(key, self._api_secret.get_secret_value(), nonce)
        yield request
