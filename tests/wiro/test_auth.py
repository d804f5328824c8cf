from __future__ import annotations

import hashlib
import hmac

import httpx2
import pytest
from pydantic import SecretStr

from tests.conftest import API_KEY, API_SECRET, RunningEmulator
from wiro_mcp.errors import WiroAuthError
from wiro_mcp.wiro.auth import WiroAuth, signature


@pytest.mark.parametrize(
    ("key", "secret", "nonce"),
    [("key", "secret", "1734513807"), (API_KEY, API_SECRET, "1734513807123"), ("k" * 40, "", "42")],
)
def test_signature_is_hmac_sha256_of_secret_plus_nonce_keyed_by_the_api_key(
    key: str, secret: str, nonce: str
) -> None:
    expected = hmac.new(key.encode(), (secret + nonce).encode(), hashlib.sha256).hexdigest()
    assert signature(key, secret, nonce) == expected
    assert expected == expected.lower() and len(expected) == 64


def test_known_vector() -> None:
    # echo -n "secret1734513807" | openssl dgst -sha256 -hmac "key"
    assert (
        signature("key", "secret", "1734513807")
        == hmac.new(b"key", b"secret1734513807", "sha256").hexdigest()
    )


def test_headers_in_both_modes() -> None:
    signed = httpx2.Request("POST", "https://api.wiro.ai/v1/Task/Detail")
    next(WiroAuth(SecretStr("k"), SecretStr("s"), nonce=lambda: "7").auth_flow(signed))
    assert signed.headers["x-api-key"] == "k"
    assert signed.headers["x-nonce"] == "7"
    assert signed.headers["x-signature"] == signature("k", "s", "7")
    plain = httpx2.Request("POST", "https://api.wiro.ai/v1/Task/Detail")
    next(WiroAuth(SecretStr("k")).auth_flow(plain))
    assert "x-signature" not in plain.headers and plain.headers["x-api-key"] == "k"


def test_repr_hides_secrets() -> None:
    auth = WiroAuth(SecretStr(API_KEY), SecretStr(API_SECRET))
    assert API_KEY not in repr(auth) and API_SECRET not in repr(auth)


@pytest.mark.anyio
async def test_emulator_checks_signatures(wiro: RunningEmulator) -> None:
    async with wiro.client() as good:
        assert (await good.tool_list())["total"] == "5"
    async with wiro.client(secret="wrong") as bad:
        with pytest.raises(WiroAuthError, match="Invalid signature"):
            await bad.tool_list()
    async with wiro.client(secret=None) as unsigned:
        with pytest.raises(WiroAuthError, match="Project requires signature authentication"):
            await unsigned.tool_list()
