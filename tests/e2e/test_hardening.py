"""Hardening through the real command: crashes during Run, signals, Host checks, a broken journal."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
from pathlib import Path

import anyio
import httpx2
import mcp_types as types
import pytest

from tests.conftest import RunningEmulator
from tests.e2e.conftest import OpenServer
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
from wiro_mcp.sandbox.state import Fault

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


async def test_a_server_killed_during_run_leaves_a_row_that_says_check(
    wiro: RunningEmulator, tmp_path: Path
) -> None:
    journal = tmp_path / "journal.sqlite3"
    env = wiro.env(WIRO_MCP_HTTP_TOKEN=TOKEN, WIRO_MCP_JOURNAL=str(journal))
    port = free_port()
    wiro.state.inject("Run", Fault("slow", seconds=5))
    with running_http_server(env, port) as server:

        def kill_during_run() -> None:
            os.kill(server.pid, signal.SIGKILL)
            server.wait(timeout=10)

        try:
            async with http_client_for(f"http://127.0.0.1:{port}/mcp") as client:
                async with anyio.create_task_group() as tg:

                    async def call() -> None:
                        with contextlib.suppress(Exception):  # the server dies under the call
                            await client.call_tool("reve_generate", {"prompt": "paid for"})

                    tg.start_soon(call)
                    await wait_for_request(wiro, "Run")  # Run is on the wire, its answer not back yet
                    kill_during_run()
                    tg.cancel_scope.cancel()
        except* httpx2.HTTPError:
            pass  # closing the session of a dead server
    with sqlite3.connect(journal) as db:
        rows = db.execute("SELECT tool, state, taskid, arguments FROM tasks").fetchall()
    assert rows == [("reve_generate", "submitting", None, '{"prompt": "paid for"}')]
    listed = subprocess.run(
        [WIRO_MCP, "journal", "list", "--json"], env=env, capture_output=True, text=True, timeout=30
    )
    assert '"state": "submitting"' in listed.stdout and "check Wiro's dashboard" in listed.stdout


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_a_signal_during_a_wait_kills_the_task_and_the_server_exits(
    wiro: RunningEmulator, tmp_path: Path, signum: signal.Signals
) -> None:
    env = wiro.env(WIRO_MCP_HTTP_TOKEN=TOKEN, WIRO_MCP_JOURNAL=str(tmp_path / "j.sqlite3"))
    port = free_port()
    wiro.state.plan_next_run(seconds=20)
    with running_http_server(env, port) as server:
        async with http_client_for(f"http://127.0.0.1:{port}/mcp") as client:
            await interrupt_call(
                client,
                "reve_generate",
                {"prompt": "slow"},
                when="(task_start)",
                before_cancel=lambda: os.kill(server.pid, signum),
                call_may_fail=True,
            )
        await wait_for_request(wiro, "Task/Kill")
        assert server.wait(timeout=30) == 0
    (task,) = wiro.state.tasks.values()
    assert task.stopped_at is not None


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.parametrize("bind", ["127.0.0.2", "[::1]"])
def test_host_checks_hold_on_every_loopback_bind(wiro: RunningEmulator, tmp_path: Path, bind: str) -> None:
    if bind == "[::1]" and not ipv6_loopback():
        pytest.skip("no IPv6 loopback here")
    env = wiro.env(
        WIRO_MCP_HTTP_TOKEN=TOKEN,
        WIRO_MCP_JOURNAL=str(tmp_path / "j.sqlite3"),
        WIRO_MCP_HTTP_ALLOWED_HOSTS="studio.lan",
    )
    port = free_port()
    with running_http_server(env, port, host=bind):
        url = f"http://{bind}:{port}/mcp"
        assert host_answer(url, "evil.example.com") == 421
        assert host_answer(url, f"evil.example.com:{port}") == 421
        assert host_answer(url, f"{bind}:{port}") == 200
        assert host_answer(url, f"studio.lan:{port}") == 200


async def test_a_corrupt_journal_is_said_once_and_the_server_runs_in_memory(
    wiro: RunningEmulator, tmp_path: Path, open_server: OpenServer, errlog: object
) -> None:
    broken = tmp_path / "broken.sqlite3"
    broken.write_bytes(b"not a database at all" * 200)
    async with open_server(WIRO_MCP_JOURNAL=str(broken)) as client:
        result = await client.call_tool("reve_generate", {"prompt": "x"})
        listed = await client.call_tool("task_list", {})
    assert not result.is_error
    assert listed.structured_content is not None and len(listed.structured_content["tasks"]) == 1
    assert "in memory only" in listed.structured_content["journal"]
    errlog.seek(0)  # type: ignore[attr-defined]
    logged = errlog.read()  # type: ignore[attr-defined]
    assert logged.count("keeping tasks in memory only") == 1 and str(broken) in logged


def test_a_signal_stops_a_stdio_server_mid_call_and_its_task(wiro: RunningEmulator, tmp_path: Path) -> None:
    """stdio speaks JSON lines: a raw client is enough, and leaves the server's pid in hand."""
    env = wiro.env(WIRO_MCP_JOURNAL=str(tmp_path / "j.sqlite3"))
    wiro.state.plan_next_run(seconds=20)
    with subprocess.Popen(
        [WIRO_MCP], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
    ) as server:
        assert server.stdin is not None and server.stdout is not None
        stdin, stdout = server.stdin, server.stdout

        def send(message: dict[str, object]) -> None:
            stdin.write((json.dumps(message) + "\n").encode())
            stdin.flush()

        try:
            send(INITIALIZE)
            assert b'"id":1' in stdout.readline()
            send({"jsonrpc": "2.0", "method": "notifications/initialized"})
            call = {"name": "reve_generate", "arguments": {"prompt": "slow"}, "_meta": {"progressToken": 1}}
            send({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": call})
            while b"task_start" not in stdout.readline():  # progress lines, until the task runs
                pass
            server.send_signal(signal.SIGTERM)
            assert server.wait(timeout=30) == 0
        finally:
            if server.poll() is None:
                server.kill()
    (task,) = wiro.state.tasks.values()
    assert task.stopped_at is not None and len(wiro.state.requests("Task/Kill")) == 1


async def test_a_drain_lets_a_call_in_flight_hand_back_its_task_and_kills_nothing(
    wiro: RunningEmulator, tmp_path: Path
) -> None:
    """With a drain longer than the bounded wait, SIGTERM lets the call end as a call ends: with
    its task's handle (still running), which is not stopped."""
    env = wiro.env(
        WIRO_MCP_HTTP_TOKEN=TOKEN,
        WIRO_MCP_JOURNAL=str(tmp_path / "j.sqlite3"),
        WIRO_MCP_WAIT_SECONDS="3",
        WIRO_MCP_HTTP_DRAIN_SECONDS="15",
    )
    port = free_port()
    wiro.state.plan_next_run(seconds=30)
    results: list[types.CallToolResult] = []
    with running_http_server(env, port) as server:
        # The client's own goodbye, sent once the server has gone, may fail: the call's answer is what counts.
        with contextlib.suppress(Exception):
            async with http_client_for(f"http://127.0.0.1:{port}/mcp") as client:
                async with anyio.create_task_group() as tg:

                    async def call() -> None:
                        results.append(await client.call_tool("reve_generate", {"prompt": "drained"}))

                    tg.start_soon(call)
                    await wait_for_request(wiro, "Run")
                    os.kill(server.pid, signal.SIGTERM)
        assert server.wait(timeout=30) == 0
    (result,) = results
    assert not result.is_error and result.structured_content is not None
    assert result.structured_content["state"] != "completed" and result.structured_content["taskid"]
    assert not wiro.state.requests("Task/Kill")
