from __future__ import annotations

import httpx2
import pytest
from pydantic import SecretStr

from tests.conftest import API_KEY, API_SECRET, RunningEmulator
from wiro_mcp.errors import WiroAuthError
from wiro_mcp.sandbox.app import expected_signature
from wiro_mcp.wiro.auth import WiroAuth, signature


# Computed once from the documented formula (hex HMAC-SHA256, key = API key, message = secret + nonce),
# e.g. `echo -n "secret1734513807" | openssl dgst -sha256 -hmac "key"`.
@pytest.mark.parametrize(
    ("key", "secret", "nonce", "expected"),
    [
        ("key", "secret", "1734513807", "b9f37af2a3491214808810bce1b63e208f54d09288f74f017a52ae8330901c04"),
        (
            API_KEY,
            API_SECRET,
            "1734513807123",
            "2ff293edca42ef92a3ebe61559a2f09b80e1aa050a37b6cf4c213015d900bd41",
        ),
        ("k" * 40, "", "42", "b893b6a9a5d21e1114c881ee8c50d466b16c30a65bbfb4826e6b55e6ddfcd7be"),
    ],
)
def test_signature_matches_known_answers(key: str, secret: str, nonce: str, expected: str) -> None:
    assert signature(key, secret, nonce) == expected
    assert expected_signature(key, secret, nonce) == expected  # the emulator's own computation


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
        assert int((await good.tool_list())["total"]) == len(wiro.state.models) > 0
    async with wiro.client(secret="wrong") as bad:
        with pytest.raises(WiroAuthError, match="Invalid signature"):
            await bad.tool_list()
    async with wiro.client(secret=None) as unsigned:
        with pytest.raises(WiroAuthError, match="Project requires signature authentication"):
            await unsigned.tool_list()
