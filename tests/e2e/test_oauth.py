"""The real `wiro-mcp --http` behind OAuth: a test authorization server on loopback issues signed
JWTs; the official MCP client calls with them. Who may connect, with which scopes, and that one
person never sees nor stops another's task."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx2
import pytest

from tests.conftest import API_SECRET, RunningEmulator, bundled_and_generated, text_of
from tests.e2e.helpers import INITIALIZE, free_port, http_client_for, running_http_server
from tests.oauth_issuer import Issuer, issuer_on_loopback
from wiro_mcp.mcp.oauth import KEY_RETRY_SECONDS

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]


class Hosted:
    def __init__(self, url: str, issuer: Issuer, wiro: RunningEmulator, log: Path) -> None:
        self.url, self.issuer, self.wiro, self.log = url, issuer, wiro, log

    @property
    def base(self) -> str:
        return self.url.removesuffix("/mcp")

    def token(self, sub: str, scopes: str = "wiro:read wiro:run", **changes: object) -> str:
        return self.issuer.token(sub, changes.pop("audience", self.url), scopes, **changes)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def hosted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hosted]:
    """One emulator, one issuer and one server for the module."""
    folder = tmp_path_factory.mktemp("oauth")
    port = free_port()
    with bundled_and_generated(folder / "cache", 0, seconds=0.6) as wiro, issuer_on_loopback() as issuer:
        env = wiro.env(
            WIRO_MCP_OAUTH_ISSUER=issuer.url,
            WIRO_MCP_PUBLIC_URL=f"http://127.0.0.1:{port}",
            WIRO_MCP_JOURNAL=str(folder / "j.sqlite3"),
        )
        log = folder / "stderr.txt"
        with log.open("w") as errlog, running_http_server(env, port, stderr=errlog):
            yield Hosted(f"http://127.0.0.1:{port}/mcp", issuer, wiro, log)
        logged = log.read_text()
        assert API_SECRET not in logged and "eyJ" not in logged  # no secret, no token in the log


def status_of(hosted: Hosted, token: str | None) -> httpx2.Response:
    headers = {"accept": "application/json, text/event-stream"}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    return httpx2.post(hosted.url, json=INITIALIZE, headers=headers)


def test_without_a_token_the_answer_points_to_the_metadata(hosted: Hosted) -> None:
    answer = status_of(hosted, None)
    assert answer.status_code == 401
    pointer = re.search(r'resource_metadata="([^"]+)"', answer.headers["www-authenticate"])
    assert pointer is not None
    assert pointer.group(1) == f"{hosted.base}/.well-known/oauth-protected-resource/mcp"
    metadata = httpx2.get(pointer.group(1)).json()
    assert metadata["resource"] == hosted.url
    assert metadata["authorization_servers"] == [hosted.issuer.url]
    assert sorted(metadata["scopes_supported"]) == ["wiro:read", "wiro:run"]


def test_tokens_not_for_this_server_are_refused(hosted: Hosted) -> None:
    import jwt

    refused = {
        "wrong audience": hosted.token("ann", audience="https://other.example.com/mcp"),
        "wrong issuer": hosted.token("ann", issuer="https://evil.example.com"),
        "expired": hosted.token("ann", expires_in=-120),
        "a key the issuer never published": hosted.token("ann", signed_by=hosted.issuer.unpublished),
        "a shared-secret signature": jwt.encode(
            {"iss": hosted.issuer.url, "sub": "ann", "aud": hosted.url, "exp": 2_000_000_000}, "k" * 32
        ),
        "not a token": "not-a-jwt",
    }
    for why, token in refused.items():
        assert status_of(hosted, token).status_code == 401, why
    assert status_of(hosted, hosted.token("ann", audience=hosted.base)).status_code == 200  # the base URL too
    no_scope = status_of(hosted, hosted.token("ann", scopes="openid"))
    assert no_scope.status_code == 403 and "insufficient_scope" in no_scope.headers["www-authenticate"]


async def test_reading_needs_wiro_read_and_running_wiro_run(hosted: Hosted) -> None:
    before = len(hosted.wiro.state.requests("Run"))
    async with http_client_for(hosted.url, token=hosted.token("reader", scopes="wiro:read")) as client:
        listed = await client.list_tools()
        assert "reve_generate" in {t.name for t in listed.tools}
        result = await client.call_tool("reve_generate", {"prompt": "a koala"})
        assert result.is_error and "lacks the scope wiro:run" in text_of(result)
        assert not (await client.call_tool("task_list", {})).is_error
    assert len(hosted.wiro.state.requests("Run")) == before  # nothing was sent


async def test_one_person_never_sees_nor_stops_anothers_task(hosted: Hosted) -> None:
    async with http_client_for(hosted.url, token=hosted.token("ann")) as ann:
        started = await ann.call_tool("reve_generate", {"prompt": "ann's koala"})
    assert started.structured_content is not None
    taskid = started.structured_content["taskid"]
    async with http_client_for(hosted.url, token=hosted.token("bob")) as bob:
        detail, kill = (len(hosted.wiro.state.requests(e)) for e in ("Task/Detail", "Task/Kill"))
        for tool in ("task_status", "task_wait", "task_kill", "task_cancel"):
            refused = await bob.call_tool(tool, {"taskid": taskid})
            assert refused.is_error and "of yours" in text_of(refused), tool
        assert (
            len(hosted.wiro.state.requests("Task/Detail")),
            len(hosted.wiro.state.requests("Task/Kill")),
        ) == (
            detail,
            kill,
        )
        listed = await bob.call_tool("task_list", {})
        assert taskid not in str(listed.structured_content)
        # bob's identical call is his own task, not ann's handed over
        his = await bob.call_tool("reve_generate", {"prompt": "ann's koala"})
        assert his.structured_content is not None and his.structured_content["taskid"] != taskid
    async with http_client_for(hosted.url, token=hosted.token("ann")) as ann:
        mine = await ann.call_tool("task_list", {})
        assert taskid in str(mine.structured_content)
        waited = await ann.call_tool("task_wait", {"taskid": taskid})
        assert not waited.is_error and waited.structured_content is not None
        assert waited.structured_content["state"] == "completed"


async def test_a_rotated_key_is_fetched_when_a_token_names_it(hosted: Hosted) -> None:
    await anyio.sleep(KEY_RETRY_SECONDS)  # unknown keys are looked for at most this often
    fetches = hosted.issuer.jwks_fetches
    hosted.issuer.rotate()
    assert status_of(hosted, hosted.token("ann")).status_code == 200
    assert hosted.issuer.jwks_fetches == fetches + 1
