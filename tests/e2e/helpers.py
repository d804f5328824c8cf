"""Driving the real `wiro-mcp` command with the official MCP client."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import AsyncGenerator, Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

import anyio
import httpx2
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import RunningEmulator

WIRO_MCP = str(Path(sys.executable).parent / "wiro-mcp")


def stdio_params(wiro: RunningEmulator, *args: str, **env: str) -> StdioServerParameters:
    return StdioServerParameters(command=WIRO_MCP, args=list(args), env=wiro.env(**env))


@contextlib.asynccontextmanager
async def stdio_client_for(
    params: StdioServerParameters, errlog: TextIO, mode: str = "auto", **kwargs: Any
) -> AsyncGenerator[Client, None]:
    async with Client(stdio_client(params, errlog=errlog), mode=mode, **kwargs) as client:  # type: ignore[arg-type]
        yield client


def dump(result: Any) -> str:
    return result.model_dump_json(by_alias=True)


async def interrupt_call(
    client: Client,
    tool: str,
    arguments: dict[str, Any],
    *,
    when: str = "",
    before_cancel: Callable[[], None] | None = None,
    call_may_fail: bool = False,
) -> None:
    """Call a tool and cancel the call once a progress message contains `when` (any message if empty),
    after running `before_cancel`. With `call_may_fail`, an error from the call itself is expected."""
    reached = anyio.Event()

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        if when in (message or ""):
            reached.set()

    async def call() -> None:
        try:
            await client.call_tool(tool, arguments, progress_callback=on_progress)
        except Exception:
            if not call_may_fail:
                raise

    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            tg.start_soon(call)
            await reached.wait()
            if before_cancel is not None:
                before_cancel()
            tg.cancel_scope.cancel()


async def wait_for_request(wiro: RunningEmulator, endpoint: str) -> None:
    """Until the emulator has received a request at `endpoint` (bounded)."""
    with anyio.fail_after(30):
        while not wiro.state.requests(endpoint):
            await anyio.sleep(0.05)


TOKEN = "http-token-for-tests-7d1e"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_http_server(
    env: dict[str, str], port: int, stderr: Any = subprocess.DEVNULL, host: str = "127.0.0.1"
) -> Iterator[subprocess.Popen[bytes]]:
    """`wiro-mcp --http --host HOST --port PORT` as a subprocess, once it accepts connections; stopped after."""
    proc = subprocess.Popen([WIRO_MCP, "--http", "--host", host, "--port", str(port)], env=env, stderr=stderr)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection((host.strip("[]"), port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("wiro-mcp --http did not start") from None
                time.sleep(0.05)
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.wait(timeout=15)


@contextlib.asynccontextmanager
async def http_client_for(
    url: str, mode: str = "auto", token: str = TOKEN, **kwargs: Any
) -> AsyncGenerator[Client, None]:
    """The official client over streamable HTTP, sending a bearer token (the test's static one)."""
    async with (
        httpx2.AsyncClient(headers={"authorization": f"Bearer {token}"}, timeout=60) as http,
        Client(streamable_http_client(url, http_client=http), mode=mode, **kwargs) as client,  # type: ignore[arg-type]
    ):
        yield client


INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    },
}


def host_answer(url: str, host: str) -> int:
    """The HTTP status of an initialize request that claims to be for `host`."""
    headers = {
        "authorization": f"Bearer {TOKEN}",
        "host": host,
        "accept": "application/json, text/event-stream",
        "content-type": "application/json",
    }
    return httpx2.post(url, json=INITIALIZE, headers=headers).status_code
