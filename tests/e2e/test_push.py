"""Wiro's socket through the real `wiro-mcp`: percentages reach the MCP client as progress, a cancel
while the socket is being listened to still kills the task, and a socket that cannot connect leaves
the call to polling, which completes it."""

from __future__ import annotations

import re

import anyio
import mcp_types as types
import pytest

from tests.conftest import RunningEmulator
from tests.e2e.conftest import OpenServer
from tests.e2e.helpers import interrupt_call, wait_for_request
from wiro_mcp.sandbox.state import Fault

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_progress_notifications_carry_wiros_percentages(
    mode: str, wiro: RunningEmulator, open_server: OpenServer
) -> None:
    wiro.state.plan_next_run(seconds=2.0)
    updates: list[tuple[float, float | None, str]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        updates.append((done, total, message or ""))

    async with open_server(mode) as client:
        result = await client.call_tool("reve_generate", {"prompt": "a koala"}, progress_callback=on_progress)
    assert not result.is_error and result.structured_content
    assert result.structured_content["state"] == "completed"
    assert all(total == 100 for _, total, _ in updates)
    values = [done for done, _, _ in updates]
    assert values == sorted(values) and len(set(values)) == len(values)  # only ever forward
    assert values[-1] == 100
    generating = [(done, message) for done, _, message in updates if "%" in message]
    # Wiro's own figure, in numbers and in words (news closer than 0.2 s apart is thinned out).
    said = [re.match(r"Wiro: generating (\d+)% \(step (\d+)/10, \d+s left\)", m) for _, m in generating]
    assert len(generating) >= 3 and all(said)
    assert all(
        done == float(m.group(1)) == 10 * int(m.group(2))
        for (done, _), m in zip(generating, said, strict=True)
        if m
    )
    assert len(wiro.state.requests("socket")) == 1
    assert len(wiro.state.requests("Task/Detail")) == 1  # the one read at the end


async def completed_with_a_fault(
    wiro: RunningEmulator, open_server: OpenServer, endpoint: str, fault: Fault, **env: str
) -> types.CallToolResult:
    """The result of an image task of 1 s with `fault` injected at `endpoint`, checked: completed,
    with its preview inline."""
    wiro.state.plan_next_run(seconds=1.0)
    wiro.state.inject(endpoint, fault)
    async with open_server(**env) as client:
        result = await client.call_tool("reve_generate", {"prompt": "a koala"})
    assert not result.is_error and result.structured_content
    assert result.structured_content["state"] == "completed"
    assert any(isinstance(block, types.ImageContent) for block in result.content)
    return result


async def test_an_images_preview_is_fetched_while_task_detail_confirms_the_end(
    wiro: RunningEmulator, open_server: OpenServer
) -> None:
    held = 3.0  # Wiro's answer to the last Task/Detail, held this long
    await completed_with_a_fault(wiro, open_server, "Task/Detail", Fault("slow", seconds=held))
    (detail,) = wiro.state.requests("Task/Detail")
    (fetched,) = wiro.state.requests("files")  # once: the result shows the preview made meanwhile
    assert fetched.time < detail.time + held  # asked for while the Detail was held, not after it


async def test_a_slow_preview_never_turns_a_confirmed_end_into_an_unfinished_wait(
    wiro: RunningEmulator, open_server: OpenServer
) -> None:
    # The file comes after the call's wait is over.
    slow_file = Fault("slow", seconds=4.0)
    result = await completed_with_a_fault(wiro, open_server, "files", slow_file, WIRO_MCP_WAIT_SECONDS="2.5")
    assert "task_wait" not in str(result.structured_content)  # nothing left to wait for
    assert len(wiro.state.requests("files")) == 1


async def test_a_last_detail_that_fails_while_previews_are_made_leaves_the_task_to_polling(
    wiro: RunningEmulator, open_server: OpenServer
) -> None:
    unreadable = Fault("wiro", code=0, message="Task could not be read")
    await completed_with_a_fault(wiro, open_server, "Task/Detail", unreadable)  # polling's Detail did
    assert len(wiro.state.requests("Task/Detail")) == 2


async def test_a_cancel_while_listening_to_the_socket_kills_the_task(
    wiro: RunningEmulator, open_server: OpenServer
) -> None:
    wiro.state.plan_next_run(seconds=8)
    async with open_server() as client:
        await interrupt_call(client, "reve_generate", {"prompt": "a koala"}, when="% (step ")
        await wait_for_request(wiro, "Task/Kill")
    (task,) = wiro.state.tasks.values()
    assert task.stopped_at is not None and len(wiro.state.requests("Task/Kill")) == 1
    assert len(wiro.state.requests("socket")) == 1 and not wiro.state.requests("Task/Detail")


async def test_a_refused_socket_leaves_the_call_to_polling(
    wiro: RunningEmulator, open_server: OpenServer
) -> None:
    wiro.emulator.socket.inject("refuse")
    wiro.state.plan_next_run(seconds=1.0)
    values: list[float] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        values.append(done)

    async with open_server() as client:
        result = await client.call_tool("reve_generate", {"prompt": "a koala"}, progress_callback=on_progress)
    assert not result.is_error and result.structured_content
    assert result.structured_content["state"] == "completed"
    assert len(wiro.state.requests("Task/Detail")) >= 2
    assert values == sorted(values) and len(set(values)) == len(values) and values[-1] == 100


async def test_calls_at_once_share_one_connection_where_the_setting_and_the_server_allow_it(
    wiro: RunningEmulator, open_server: OpenServer
) -> None:
    wiro.emulator.socket.several_per_connection = True
    wiro.state.seconds["*"] = 1.5
    results: list[bool] = []

    async with open_server(WIRO_MCP_SOCKET_TASKS_PER_CONNECTION="10") as client:

        async def call(prompt: str) -> None:
            result = await client.call_tool("reve_generate", {"prompt": prompt})
            results.append(not result.is_error and bool(result.structured_content))

        async with anyio.create_task_group() as tg:
            for n in range(3):
                tg.start_soon(call, f"a koala, take {n}")
    assert results == [True, True, True]
    assert len(wiro.state.requests("socket")) == 3 and wiro.emulator.socket.connections == 1
    assert len(wiro.state.requests("Task/Detail")) == 3  # one each, at the end: every task heard its events
