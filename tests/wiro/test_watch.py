from __future__ import annotations

import shutil
import socket
import subprocess
import sys

import pytest

from tests.conftest import PAGES, RunningEmulator
from wiro_mcp.sandbox.state import Fault
from wiro_mcp.wiro.models import Task
from wiro_mcp.wiro.watch import PollPolicy, RunWindow, watch_task

pytestmark = pytest.mark.anyio
FAST = PollPolicy(scale=0.05)


async def test_follows_a_task_to_completion_reporting_each_status(wiro: RunningEmulator) -> None:
    seen: list[str] = []

    async def record(task: Task) -> None:
        seen.append(task.status)

    async with wiro.client() as client:
        answer = await client.run("reve", "generate", {"prompt": "x"})
        outcome = await watch_task(
            client, taskid=answer.taskid, wait_seconds=10, policy=FAST, on_update=record
        )
    assert outcome.finished and outcome.task.state == "completed"
    assert seen[0] == "task_queue" and seen[-1] == "task_postprocess_end"
    assert seen == sorted(set(seen), key=seen.index)  # each change reported once
    (out,) = outcome.task.outputs
    assert out.contenttype == "image/png" and out.url.startswith(wiro.root)


async def test_deadline_returns_the_latest_snapshot(wiro: RunningEmulator) -> None:
    wiro.state.plan_next_run(seconds=30)
    async with wiro.client() as client:
        answer = await client.run("reve", "generate", {"prompt": "x"})
        outcome = await watch_task(client, taskid=answer.taskid, wait_seconds=0.3, policy=FAST)
    assert not outcome.finished and outcome.task.id == answer.taskid and outcome.task.state == "queued"


async def test_a_failing_task_ends_failed_with_the_reason(wiro: RunningEmulator) -> None:
    wiro.state.plan_next_run(seconds=0.3, fail="CUDA out of memory")
    async with wiro.client() as client:
        answer = await client.run("reve", "generate", {"prompt": "x"})
        outcome = await watch_task(client, taskid=answer.taskid, wait_seconds=10, policy=FAST)
    task = outcome.task
    assert task.state == "failed" and task.pexit == "1" and task.debugerror == "CUDA out of memory"
    assert task.outputs == [] and task.cost_usd == 0


async def test_a_task_error_before_execution_is_terminal() -> None:
    task = Task(id="1", status="task_error", starttime="0", debugerror="bad input image")
    assert task.state == "failed"
    assert Task(id="1", status="task_error", starttime="17", debugerror="warning").state == "running"


async def test_under_faults_the_task_still_completes_and_run_was_sent_once(wiro: RunningEmulator) -> None:
    async with wiro.client() as client:
        answer = await client.run("reve", "generate", {"prompt": "x"})
        wiro.state.inject(
            "Task/Detail",
            Fault("http", status=500),
            Fault("drop"),
            Fault("http", status=503),
            Fault("http", status=429, retry_after=0.1),
            Fault("slow", seconds=0.3),
            *[Fault("http", status=502)] * 5,  # more than one request's retries: the watcher tolerates it
        )
        outcome = await watch_task(client, taskid=answer.taskid, wait_seconds=20, policy=FAST)
    assert outcome.finished and outcome.task.state == "completed"
    assert len(wiro.state.requests("Run")) == 1


async def test_slow_answers_stretch_the_budget_as_they_stretch_wiros_own_schedule(
    wiro: RunningEmulator,
) -> None:
    """Wiro's server waits its interval after each answer: with Detail answering in 0.2 s (twice the
    scaled ladder's step), its k-th request comes k - 1 answers' time after its tick, and so does ours,
    even where it spends the requests it has in hand."""
    wiro.state.plan_next_run(seconds=2)
    async with wiro.client() as client:
        answer = await client.run("reve", "generate", {"prompt": "x"})
        wiro.state.inject("Task/Detail", *[Fault("slow", seconds=0.2)] * 12)
        outcome = await watch_task(
            client,
            taskid=answer.taskid,
            wait_seconds=20,
            policy=FAST,
            last_known=Task(id=answer.taskid, status="task_start"),
            expected=RunWindow(0.0, 3.0),  # a window from the start: requests in hand spent at once
        )
    assert outcome.finished
    began = wiro.state.requests("Run")[0].time
    asked = [r.time - began for r in wiro.state.requests("Task/Detail")]
    assert len(asked) >= 4
    for k, at in enumerate(asked[1:], start=1):  # the (k + 1)-th request, after k slow answers
        assert at >= FAST.tick(k) + k * 0.2 - 0.02, (k, at)


def test_sandbox_command_answers_the_pages_curl(tmp_path) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wiro_mcp",
            "sandbox",
            "--port",
            str(port),
            "--api-key",
            "k",
            "--api-secret",
            "s",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        assert "Wiro emulator at" in proc.stderr.readline()
        page = (PAGES / "004_fc3d0069ecbfbac6.txt").read_text()
        payload = page.split("-d '", 1)[1].split("}';", 1)[0] + "}"
        script = (
            'export YOUR_API_KEY="k"; export YOUR_API_SECRET="s"; export NONCE=$(date +%s); '
            'export SIGNATURE="$(echo -n "${YOUR_API_SECRET}${NONCE}" | openssl dgst -sha256 -hmac "${YOUR_API_KEY}" | sed "s/^.* //")"; '
            f'curl -s -X POST "http://127.0.0.1:{port}/v1/Run/reve/generate" -H "Content-Type: application/json" '
            '-H "x-api-key: ${YOUR_API_KEY}" -H "x-nonce: ${NONCE}" -H "x-signature: ${SIGNATURE}" '
            f"-d @{tmp_path / 'body.json'}"
        )
        (tmp_path / "body.json").write_text(payload)
        out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30).stdout
        assert '"result":true' in out.replace(" ", "") and '"taskid"' in out
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stderr.close()


def test_the_poller_never_asks_before_wiros_own_schedule_whatever_the_statuses() -> None:
    """The budget holds on any timeline: the k-th Detail request is never before the k-th of Wiro's
    own server (which asks at once, then on its ladder, each wait after an answer), for every status
    the task shows."""
    import random

    policy = PollPolicy()
    statuses = [
        "task_queue",
        "task_assign",
        "task_start",
        "task_output",
        "task_end",
        "task_postprocess_start",
    ]
    rng = random.Random(5)
    for run in range(400):
        low = rng.uniform(0, 120)  # half the runs with a window learned from the model's run times
        window = RunWindow(low, low + rng.uniform(0, 60)) if run % 2 else None
        trip = rng.choice((0.0, rng.uniform(0, 1)))  # Wiro's server waits its interval after each answer
        elapsed, spent = 0.0, 0
        while elapsed < 300:
            elapsed = policy.next_after(elapsed, spent, rng.choice(statuses), window, trip)
            spent += 1
            # Wiro's spent-th: its first at once, each later one a round trip later than its tick.
            assert elapsed >= policy.tick(spent - 1) + (spent - 1) * trip - 1e-9


def requests_between(start: float, end: float, window: RunWindow | None) -> list[float]:
    """When the poller asks, within [start, end), about a task that shows no sign of its end."""
    policy, asked, elapsed = PollPolicy(), [], 0.0
    while elapsed < end:
        elapsed = policy.next_after(elapsed, len(asked), "task_output", window)
        asked.append(elapsed)
    return [t for t in asked if start <= t < end]


def test_a_learned_run_time_moves_requests_from_before_it_into_it() -> None:
    """A task whose end comes unannounced, of a model whose tasks have ended between 36 and 44 s:
    fewer requests before that window than Wiro's ladder makes, more within it, and the gaps there
    shorter than the ladder's 5 s, the last at its close."""
    window = RunWindow(36.0, 44.0)
    assert len(requests_between(0, 36, window)) < len(requests_between(0, 36, None))
    within = requests_between(36, 44, window)
    assert len(within) > len(requests_between(36, 44, None))
    assert 44.0 in requests_between(36, 45, window)  # the window's close
    assert max(b - a for a, b in zip([36.0, *within], [*within, 44.0], strict=True)) < 5.0


def test_a_window_shifts_with_a_follow_that_begins_later() -> None:
    """Polling taking over from the socket 30 s in sees the window 30 s closer, and none once past."""
    assert RunWindow(36.0, 44.0).after(30.0) == RunWindow(6.0, 14.0)
    assert RunWindow(36.0, 44.0).after(40.0) == RunWindow(0.0, 4.0)
    assert RunWindow(36.0, 44.0).after(44.0) is None
