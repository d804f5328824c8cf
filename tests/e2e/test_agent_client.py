"""An agent framework's MCP client (fastmcp's), not the SDK's: the real `wiro-mcp` over stdio and over
HTTP lists its tools, runs a model tool, and waits on and looks at the task by a numeric id, as an
agent that copies Wiro's ids as numbers would."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastmcp import Client
from fastmcp.client.transports import StdioTransport, StreamableHttpTransport

from tests.conftest import RunningEmulator
from tests.e2e.helpers import TOKEN, WIRO_MCP, free_port, running_http_server

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]


@contextlib.contextmanager
def http_url(env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    with running_http_server(env, port):
        yield f"http://127.0.0.1:{port}/mcp"


@contextlib.asynccontextmanager
async def agent_client(kind: str, wiro: RunningEmulator, tmp_path: Path) -> AsyncIterator[Client[Any]]:
    env = wiro.env(WIRO_MCP_JOURNAL=str(tmp_path / "j.sqlite3"), WIRO_MCP_HTTP_TOKEN=TOKEN)
    if kind == "stdio":
        with (tmp_path / "stderr.txt").open("w") as log:
            async with Client(StdioTransport(WIRO_MCP, [], env=env, log_file=log), timeout=60) as client:
                yield client
        return
    with http_url(env) as url:
        transport = StreamableHttpTransport(url, headers={"authorization": f"Bearer {TOKEN}"})
        async with Client(transport, timeout=60) as client:
            yield client


@pytest.mark.parametrize("kind", ["stdio", "http"])
async def test_an_agent_frameworks_client_lists_runs_and_waits(
    kind: str, wiro: RunningEmulator, tmp_path: Path
) -> None:
    async with agent_client(kind, wiro, tmp_path) as client:
        tools = {t.name: t for t in await client.list_tools()}
        assert {"reve_generate", "task_wait", "task_status"} <= set(tools)
        for tool in tools.values():  # what Claude's and OpenAI's APIs require of a tool's schema
            assert tool.input_schema.get("type") == "object"
            assert not {"anyOf", "oneOf", "allOf"} & set(tool.input_schema)
        wiro.state.plan_next_run(seconds=1.5)
        started = await client.call_tool(
            "reve_generate", {"prompt": "a koala"}, raise_on_error=False, progress_handler=None
        )
        assert not started.is_error and started.structured_content
        taskid = started.structured_content["taskid"]
        waited = await client.call_tool("task_wait", {"taskid": int(taskid)}, raise_on_error=False)
        looked = await client.call_tool("task_status", {"taskid": int(taskid)}, raise_on_error=False)
    assert waited.structured_content and waited.structured_content["state"] == "completed"
    assert looked.structured_content and looked.structured_content["taskid"] == taskid
    assert len(wiro.state.requests("Run")) == 1
