"""The real `wiro-mcp --http`, with the official MCP client, against the emulator on loopback."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from tests.conftest import API_SECRET, RunningEmulator
from tests.e2e.helpers import (
    INITIALIZE,
    TOKEN,
    WIRO_MCP,
    free_port,
    host_answer,
    http_client_for,
    interrupt_call,
    running_http_server,
    wait_for_request,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
def http_server(wiro: RunningEmulator, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = wiro.env(WIRO_MCP_HTTP_TOKEN=TOKEN, WIRO_MCP_JOURNAL=str(tmp_path / "j.sqlite3"))
    with (tmp_path / "stderr.txt").open("w+") as errlog:
        with running_http_server(env, port, stderr=errlog):
            yield f"http://127.0.0.1:{port}/mcp"
        errlog.seek(0)
        logged = errlog.read()
        assert "serving MCP over streamable HTTP" in logged  # the log was really read
        assert API_SECRET not in logged and TOKEN not in logged


def test_without_the_token_it_is_401(http_server: str) -> None:
    answer = httpx2.post(http_server, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert answer.status_code == 401
    wrong = httpx2.post(http_server, json={}, headers={"authorization": "Bearer nope"})
    assert wrong.status_code == 401


def test_a_foreign_host_header_is_refused(http_server: str) -> None:
    assert host_answer(http_server, "evil.example.com") == 421
    assert host_answer(http_server, http_server.split("/")[2]) == 200


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_tools_and_a_call_over_http(http_server: str, wiro: RunningEmulator, mode: str) -> None:
    progress: list[str] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append(message or "")

    async with http_client_for(http_server, mode) as client:
        listed = await client.list_tools()
        assert "reve_generate" in {t.name for t in listed.tools}
        result = await client.call_tool("reve_generate", {"prompt": "a koala"}, progress_callback=on_progress)
    assert not result.is_error and result.structured_content is not None
    (out,) = result.structured_content["outputs"]
    assert httpx2.get(out["url"]).headers["content-type"] == "image/png"
    assert progress and "task_postprocess_end" in progress[-1]
    assert API_SECRET not in result.model_dump_json()


@pytest.mark.anyio
async def test_closing_the_call_over_http_kills_the_task(http_server: str, wiro: RunningEmulator) -> None:
    async with http_client_for(http_server) as client:
        wiro.state.plan_next_run(seconds=8)
        await interrupt_call(client, "reve_generate", {"prompt": "slow"}, when="(task_start)")
        await wait_for_request(wiro, "Task/Kill")
    assert len(wiro.state.requests("Task/Kill")) == 1


def test_off_loopback_without_a_token_refuses_to_start(wiro: RunningEmulator) -> None:
    env = wiro.env()
    done = subprocess.run(
        [WIRO_MCP, "--http", "--host", "0.0.0.0", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "WIRO_MCP_HTTP_TOKEN" in done.stderr


def test_sessions_are_capped_and_expire_when_idle(wiro: RunningEmulator, tmp_path: Path) -> None:
    port = free_port()
    env = wiro.env(
        WIRO_MCP_HTTP_TOKEN=TOKEN,
        WIRO_MCP_JOURNAL="off",
        WIRO_MCP_HTTP_MAX_SESSIONS="2",
        WIRO_MCP_HTTP_SESSION_IDLE_SECONDS="1",
    )
    headers = {
        "authorization": f"Bearer {TOKEN}",
        "accept": "application/json, text/event-stream",
        "content-type": "application/json",
    }
    with running_http_server(env, port):
        url = f"http://127.0.0.1:{port}/mcp"
        opened = [httpx2.post(url, json=INITIALIZE, headers=headers) for _ in range(3)]
        assert [a.status_code for a in opened[:2]] == [200, 200]
        assert opened[2].status_code >= 400  # a third is refused while two are open
        first = opened[0].headers["mcp-session-id"]
        time.sleep(2.5)  # both sessions idle past their second
        ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
        gone = httpx2.post(url, json=ping, headers={**headers, "mcp-session-id": first})
        again = httpx2.post(url, json=INITIALIZE, headers=headers)
    assert gone.status_code == 404 and again.status_code == 200
