"""The socket follower against the emulator's WebSocket channel on loopback: the push path, every
socket fault handing the task to polling, a failed task, many tasks at once, and the event shapes."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator

import anyio
import pytest

from tests.conftest import RunningEmulator
from wiro_mcp.sandbox.socket import SocketFault
from wiro_mcp.wiro.client import WiroClient
from wiro_mcp.wiro.models import Task, TaskHandle
from wiro_mcp.wiro.socket import SocketFollower
from wiro_mcp.wiro.socket_events import (
    MAX_ANNOUNCED_OUTPUTS,
    SocketEvent,
    announced_outputs,
    apply_event,
    parse_event,
)
from wiro_mcp.wiro.watch import PollingFollower, PollPolicy, WatchOutcome

pytestmark = pytest.mark.anyio


@contextlib.asynccontextmanager
async def follower(
    wiro: RunningEmulator, silence: float = 5.0, per_connection: int = 1, socket_url: str = ""
) -> AsyncIterator[tuple[SocketFollower, WiroClient]]:
    async with wiro.client() as client:
        polling = PollingFollower(client, PollPolicy(scale=0.05))
        socket = SocketFollower(
            client,
            socket_url or wiro.socket_url,
            polling,
            silence_seconds=silence,
            tasks_per_connection=per_connection,
        )
        yield socket, client


async def run_and_follow(
    wiro: RunningEmulator, seconds: float = 1.0, silence: float = 5.0, fail: str | None = None
) -> tuple[WatchOutcome, list[Task]]:
    seen: list[Task] = []

    async def record(task: Task) -> None:
        seen.append(task)

    wiro.state.plan_next_run(seconds=seconds, fail=fail)
    async with follower(wiro, silence) as (socket, client):
        answer = await client.run("reve", "generate", {"prompt": "x"})
        handle = client_handle(wiro, answer.taskid, answer.socketaccesstoken)
        first = Task(id=answer.taskid, status="task_queue")
        outcome = await socket.follow(handle, wait_seconds=20, on_update=record, last_known=first)
    return outcome, seen


def client_handle(wiro: RunningEmulator, taskid: str, token: str) -> TaskHandle:
    return TaskHandle(taskid=taskid, token=token, endpoint=wiro.base_url)


async def test_the_push_path_reports_every_status_and_percentages_for_one_detail(
    wiro: RunningEmulator,
) -> None:
    outcome, seen = await run_and_follow(wiro)
    assert outcome.finished and outcome.task.state == "completed" and outcome.task.file_outputs
    assert outcome.detail_requests == 1 and len(wiro.state.requests("Task/Detail")) == 1
    statuses = [t.status for t in seen]
    assert statuses[0] == "task_accept" and statuses[-1] == "task_postprocess_end"
    assert "task_end" in statuses and statuses.index("task_end") < statuses.index("task_postprocess_start")
    percentages = [t.percentage for t in seen if t.percentage is not None]
    assert percentages == [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]  # 30, 60, 90 came JSON-encoded as strings
    assert any("step 3/10" in t.progress_note and "left" in t.progress_note for t in seen)
    assert len(wiro.state.requests("socket")) == 1


async def test_events_keep_a_task_longer_than_the_silence_on_the_socket_for_one_detail(
    wiro: RunningEmulator,
) -> None:
    # Events come at least every 0.4 s over 4 s: no spell of 1.2 s passes without one, and the
    # spells run out three times before the end.
    outcome, seen = await run_and_follow(wiro, seconds=4.0, silence=1.2)
    assert outcome.finished and outcome.task.state == "completed"
    assert outcome.detail_requests == 1 and len(wiro.state.requests("Task/Detail")) == 1
    assert seen[-1].status == "task_postprocess_end"


@pytest.mark.parametrize("fault", ["refuse", "drop", "silent", "garbage"])
async def test_each_socket_fault_hands_the_task_to_polling_and_it_completes(
    wiro: RunningEmulator, fault: SocketFault
) -> None:
    wiro.emulator.socket.inject(fault)
    outcome, seen = await run_and_follow(wiro, seconds=1.5, silence=0.4)
    assert outcome.finished and outcome.task.state == "completed" and outcome.task.file_outputs
    assert outcome.detail_requests >= 2  # polling took over
    assert outcome.detail_requests == len(wiro.state.requests("Task/Detail"))
    assert [t.status for t in seen][-1] == "task_postprocess_end"
    statuses = [t.status for t in seen]
    assert statuses == sorted(set(statuses), key=statuses.index)  # nothing reported twice or backwards


async def test_a_failed_task_is_reported_with_its_reason(wiro: RunningEmulator) -> None:
    outcome, _seen = await run_and_follow(wiro, seconds=0.6, fail="CUDA out of memory")
    task = outcome.task
    assert outcome.finished and task.state == "failed" and task.pexit == "1"
    assert task.debugerror == "CUDA out of memory" and outcome.detail_requests == 1


async def test_a_quiet_socket_over_a_task_that_is_not_moving_is_kept(wiro: RunningEmulator) -> None:
    # A 3 s task sits in the queue for 0.3 s, then moves on every 0.15 s or so: with a 0.2 s silence
    # window the queue is quiet, Detail agrees nothing moved, and the socket is kept.
    outcome, _seen = await run_and_follow(wiro, seconds=3.0, silence=0.2)
    assert outcome.finished and outcome.task.state == "completed"
    assert len(wiro.state.requests("socket")) == 1


async def test_the_deadline_hands_back_the_latest_snapshot(wiro: RunningEmulator) -> None:
    wiro.state.plan_next_run(seconds=30)
    async with follower(wiro) as (socket, client):
        answer = await client.run("reve", "generate", {"prompt": "x"})
        handle = client_handle(wiro, answer.taskid, answer.socketaccesstoken)
        outcome = await socket.follow(handle, wait_seconds=0.5)  # resuming: one Detail first
    assert not outcome.finished and outcome.task.id == answer.taskid and outcome.detail_requests == 1


async def follow_many(
    wiro: RunningEmulator, count: int, *, per_connection: int = 1, silence: float = 5.0
) -> list[WatchOutcome]:
    outcomes: list[WatchOutcome] = []
    async with follower(wiro, silence, per_connection) as (socket, client):

        async def one() -> None:
            answer = await client.run("reve", "generate", {"prompt": "x"})
            handle = client_handle(wiro, answer.taskid, answer.socketaccesstoken)
            last = Task(id=answer.taskid, status="task_queue")
            outcomes.append(await socket.follow(handle, wait_seconds=30, last_known=last))

        with anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                for _ in range(count):
                    tg.start_soon(one)
        assert not socket.pool.open  # every connection closed with its last task
    assert len(outcomes) == count and all(o.finished and o.task.state == "completed" for o in outcomes)
    return outcomes


async def test_fifty_tasks_at_once_one_socket_each_one_detail_each(wiro: RunningEmulator) -> None:
    wiro.state.seconds["*"] = 1.5
    outcomes = await follow_many(wiro, 50)
    assert sum(o.detail_requests for o in outcomes) == 50
    assert len(wiro.state.requests("socket")) == wiro.emulator.socket.connections == 50


async def test_where_one_connection_serves_several_tasks_ten_share_each(wiro: RunningEmulator) -> None:
    wiro.emulator.socket.several_per_connection = True
    wiro.state.seconds["*"] = 1.5
    outcomes = await follow_many(wiro, 50, per_connection=10)
    assert sum(o.detail_requests for o in outcomes) == 50  # every task heard its own events to the end
    assert len(wiro.state.requests("socket")) == 50
    assert 5 <= wiro.emulator.socket.connections < 50


async def test_where_a_connection_serves_only_its_first_task_sharing_stops_and_nothing_is_lost(
    wiro: RunningEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    # As Wiro's page documents the channel: later registrations on a connection are not served. The
    # unserved tasks go quiet, polling completes them, and the pool learns one connection per task.
    wiro.state.seconds["*"] = 2.0
    outcomes = await follow_many(wiro, 4, per_connection=4, silence=0.3)
    assert sum(o.detail_requests for o in outcomes) > 4  # the unserved ones were polled
    assert caplog.text.count("serves only the first task registered on a connection") == 1
    served_alone = wiro.emulator.socket.connections
    outcomes = await follow_many(wiro, 3, per_connection=1)
    assert wiro.emulator.socket.connections == served_alone + 3


@pytest.mark.parametrize(
    ("text", "kind", "message"),
    [
        ('{"type": "task_assign", "id": "1", "message": null, "result": true}', "task_assign", None),
        ('{"type": "task_output", "message": "Step 1/10..."}', "task_output", "Step 1/10..."),
        (
            json.dumps(
                {
                    "type": "task_output",
                    "message": json.dumps({"type": "progressGenerate", "percentage": "60"}),
                }
            ),
            "task_output",
            {"type": "progressGenerate", "percentage": "60"},
        ),
        (
            '{"type": "task_postprocess_end", "message": [{"name": "0.png"}]}',
            "task_postprocess_end",
            [{"name": "0.png"}],
        ),
    ],
)
def test_every_documented_message_shape_parses(text: str, kind: str, message: object) -> None:
    event = parse_event(text)
    assert event is not None and (event.kind, event.message) == (kind, message)


def test_an_event_names_its_task_by_token_and_id() -> None:
    event = parse_event('{"type": "task_start", "id": 534574, "tasktoken": "eDcC", "message": null}')
    assert event == SocketEvent("task_start", None, token="eDcC", taskid="534574")


def test_the_end_event_announces_its_files_and_nothing_else_does() -> None:
    documented = {
        "name": "0.png",
        "contenttype": "image/png",
        "size": "202472",
        "url": "https://cdn1.wiro.ai/x/0.png",
    }
    end = parse_event(json.dumps({"type": "task_postprocess_end", "id": "1", "message": [documented]}))
    assert end is not None
    (output,) = announced_outputs(end)
    assert (output.url, output.mime, output.size) == (documented["url"], "image/png", 202472)
    # Hostile or other shapes: bounded, and only items with a URL.
    many = SocketEvent("task_postprocess_end", [{"url": f"https://cdn/{n}.png"} for n in range(10_000)])
    assert len(announced_outputs(many)) == MAX_ANNOUNCED_OUTPUTS
    odd = SocketEvent(
        "task_postprocess_end", ["https://cdn/0.png", None, 7, {"name": "no url"}, [{"url": "x"}]]
    )
    assert announced_outputs(odd) == []
    assert announced_outputs(SocketEvent("task_postprocess_end", {"url": "https://cdn/0.png"})) == []
    assert announced_outputs(SocketEvent("task_output", [documented])) == []


@pytest.mark.parametrize("text", ["\x00not an event{", "[]", '{"message": "no type"}', "null"])
def test_anything_else_is_not_an_event(text: str) -> None:
    assert parse_event(text) is None


def test_stderr_lines_and_log_output_change_nothing_and_task_end_is_not_terminal() -> None:
    running = Task(id="1", status="task_output", starttime="17")
    assert apply_event(running, SocketEvent("task_error", "UserWarning: …")) is None
    assert apply_event(running, SocketEvent("task_output", "a log line")) is None
    ended = apply_event(running, SocketEvent("task_end", None))
    assert ended is not None and ended.status == "task_end" and ended.state == "running"


async def test_two_followers_of_one_task_each_hear_it_to_the_end_on_shared_connections(
    wiro: RunningEmulator,
) -> None:
    wiro.emulator.socket.several_per_connection = True
    wiro.state.plan_next_run(seconds=1.0)
    async with follower(wiro, per_connection=10) as (socket, client):
        answer = await client.run("reve", "generate", {"prompt": "x"})
        handle = client_handle(wiro, answer.taskid, answer.socketaccesstoken)
        outcomes: list[WatchOutcome] = []

        async def follow() -> None:  # a model call and a task_wait on the same task, say
            last = Task(id=answer.taskid, status="task_queue")
            outcomes.append(await socket.follow(handle, wait_seconds=20, last_known=last))

        with anyio.fail_after(20):
            async with anyio.create_task_group() as tg:
                tg.start_soon(follow)
                tg.start_soon(follow)
    assert [o.task.state for o in outcomes] == ["completed", "completed"]
    assert [o.detail_requests for o in outcomes] == [1, 1]  # neither lost its events to the other
    assert wiro.emulator.socket.connections == 2


async def test_output_urls_name_the_host_the_run_went_to_when_the_socket_is_reached_by_another(
    wiro: RunningEmulator,
) -> None:
    # The push shows the outputs before Task/Detail does: their URLs must still be at Wiro's own host,
    # or the output policy (https, or http to Wiro's host) would refuse to fetch them.
    renamed = wiro.socket_url.replace("127.0.0.1", "localhost", 1)
    async with follower(wiro, socket_url=renamed) as (socket, client):
        answer = await client.run("reve", "generate", {"prompt": "x"})
        handle = client_handle(wiro, answer.taskid, answer.socketaccesstoken)
        outcome = await socket.follow(handle, wait_seconds=20, last_known=Task(id=answer.taskid))
    assert len(wiro.state.requests("socket")) == 1  # it was the push, not polling
    urls = [o.url for o in outcome.task.file_outputs]
    assert urls and all(u.startswith(wiro.root + "/files/") for u in urls), urls
