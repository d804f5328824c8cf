"""Following a task to its end within a deadline, by polling Task/Detail (the fallback follower).

Wiro's own MCP server polls at once, then every 2 s for a task's first 15 s, every 5 s until 60 s,
then every 10 s. That schedule is the budget: the k-th Detail request is never sent before Wiro's own
k-th, so a task never costs more requests than with Wiro's server. Within it, every request falls on
one of Wiro's own ticks (so an end that comes without warning is seen about when Wiro's server would
see it, whatever the task's timeline), except that Wiro's first, at once, is held (Run's answer is
the first look) and, after the 2 s tick (a short task may be done by then), every other tick while
the task is still queued or being set up (its end is at least a generation away). The requests in
hand are spent close together once Detail shows the last phases, which Wiro documents before the
end (output complete, the process ended, post-processing), so the end is then seen sooner than on
Wiro's fixed ticks. An end that comes without warning is seen sooner where the model's earlier tasks
say when it is due (a `RunWindow`): ticks before it are skipped alike and the requests in hand
spread across it, the last at its close. Reaching the deadline is not an error: the latest snapshot
comes back so the caller can hand out a handle.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import anyio

from wiro_mcp.errors import WiroRateLimitError, WiroServerError, WiroTransportError
from wiro_mcp.wiro.client import WiroClient
from wiro_mcp.wiro.models import TERMINAL_STATES, Output, Task, TaskHandle

log = logging.getLogger(__name__)

NEAR_END_STATUSES = frozenset({"task_output_full", "task_end", "task_postprocess_start"})
# Before generation starts the end is far: the requests saved here are spent near the end.
EARLY_STATUSES = frozenset(
    {"task_queue", "task_accept", "task_preprocess_start", "task_preprocess_end", "task_assign"}
)
WIRO_LADDER: tuple[tuple[float, float], ...] = ((15.0, 2.0), (60.0, 5.0), (math.inf, 10.0))


@dataclass(frozen=True)
class PollPolicy:
    """`ladder`: (below this many seconds, poll every this many), Wiro's own schedule by default;
    `scale` shrinks the whole schedule (tests). `skip_early` skips every other tick after the 2 s one
    while the task is queued or being set up; with `spend_near_end` the requests in hand are spent
    once the end is near. Both off is Wiro's schedule itself, less its first request (the benchmarks'
    baseline). `bench/poll_timeline.py` judges it on timelines drawn independently of the emulator's."""

    ladder: tuple[tuple[float, float], ...] = WIRO_LADDER
    scale: float = 1.0
    skip_early: bool = True
    spend_near_end: bool = True
    quickest: float = 0.25  # the closest two requests ever come, near the end
    max_transient_errors: int = 8

    def interval_at(self, elapsed: float) -> float:
        for below, step in self.ladder:
            if elapsed < below * self.scale:
                return step * self.scale
        return self.ladder[-1][1] * self.scale

    def tick(self, k: int) -> float:
        """When Wiro's schedule sends its request after its first (k ≥ 1), seconds after the follow began."""
        moment = 0.0
        for _ in range(k):
            moment += self.interval_at(moment)
        return moment

    def count_by(self, elapsed: float) -> int:
        """How many requests Wiro's schedule has sent by `elapsed`, after its first."""
        count, moment = 0, 0.0
        while True:
            moment += self.interval_at(moment)
            if moment > elapsed + 1e-9:
                return count
            count += 1

    def next_after(
        self,
        elapsed: float,
        spent: int,
        status: str,
        expected: RunWindow | None = None,
        round_trip: float = 0.0,
    ) -> float:
        """When (seconds after the follow began) to send the next request, `spent` sent so far;
        `expected`: when this model's tasks have ended lately, on the same clock; `round_trip`: a
        Detail's, as measured (Wiro's server waits its interval after each answer, so each of its
        requests comes a round trip later than the one before would have it on the ladder alone)."""
        passed = self.count_by(elapsed)  # Wiro's ticks gone by, after its first
        # Requests Wiro's schedule has made and this one has not, its first (at once) included: Run's
        # answer is this follower's first look, so that one is held for when the end is near.
        banked = passed + 1 - spent
        floor = self.tick(spent) + spent * round_trip  # Wiro's (spent + 1)-th: never before it
        if self.spend_near_end and status in NEAR_END_STATUSES and banked >= 1:
            wait = max(self.interval_at(elapsed) / (banked + 1), self.quickest * self.scale)
            return max(elapsed + wait, floor)
        # The end is not due yet while the task is being set up, nor (by its model's latest run times)
        # before their window opens: every other tick is skipped, and the saving spent in the window.
        # Never the 2 s tick: a short task may have ended by then.
        due_later = expected is not None and self.tick(passed + 1) < expected.low
        setting_up = status in EARLY_STATUSES
        not_due = setting_up or due_later
        skip = 1 if self.skip_early and not_due and passed > 0 and passed % 2 == 0 else 0
        wiro = max(self.tick(passed + 1 + skip), floor)
        if expected is None or banked < 1 or setting_up or elapsed >= expected.high:
            return wiro
        # Within the window the requests in hand are spread over what is left of it, the last at its
        # close, each no later than Wiro's next tick.
        start = max(elapsed, expected.low)
        soon = start + max((expected.high - start) / banked, self.quickest * self.scale)
        return max(min(wiro, soon), floor)


@dataclass(frozen=True)
class RunWindow:
    """When a model's tasks have ended lately, in seconds after their follow began: most of them
    between `low` and `high` (the follower's cue for a task whose end comes without warning)."""

    low: float
    high: float

    def after(self, seconds: float) -> RunWindow | None:
        """The same window for a follow that begins `seconds` later; None once it has passed."""
        if self.high - seconds <= 0:
            return None
        return RunWindow(max(self.low - seconds, 0.0), self.high - seconds)


@dataclass(frozen=True)
class WatchOutcome:
    task: Task
    finished: bool
    detail_requests: int


OnUpdate = Callable[[Task], Awaitable[None]]
# Told of a task's end event and the files it announces (maybe none), before the Task/Detail that
# confirms it: awaited (the caller may make that end wait its turn), whatever is made of the files is
# made beside that Detail, by the caller.
OnEnd = Callable[[list[Output]], Awaitable[None]]


async def watch_task(
    client: WiroClient,
    *,
    taskid: str | None = None,
    tasktoken: str | None = None,
    wait_seconds: float,
    policy: PollPolicy | None = None,
    on_update: OnUpdate | None = None,
    last_known: Task | None = None,
    expected: RunWindow | None = None,
) -> WatchOutcome:
    """Poll Task/Detail until the task ends or `wait_seconds` pass; never raises on the deadline."""
    policy = policy or PollPolicy()
    began = anyio.current_time()
    deadline = began + max(wait_seconds, 0.0)
    latest = last_known
    seen_status = last_known.status if last_known else None
    requests = 0
    transient = 0
    waited, answered = 0.0, 0  # from each request's due time to its answer: what Wiro's server drifts by
    while True:
        due = anyio.current_time()
        if latest is not None:  # with nothing known yet (a resumed task), look at once
            status = latest.status if transient == 0 else ""
            trip = waited / answered if answered else 0.0
            at = began + policy.next_after(anyio.current_time() - began, requests, status, expected, trip)
            if at >= deadline:
                await anyio.sleep_until(deadline)
                return WatchOutcome(task=latest, finished=False, detail_requests=requests)
            await anyio.sleep_until(at)
            due = at
        try:
            requests += 1
            task = await client.detail(taskid=taskid, tasktoken=tasktoken)
            waited, answered = waited + anyio.current_time() - due, answered + 1
            transient = 0
        except (WiroTransportError, WiroServerError, WiroRateLimitError) as error:
            transient += 1
            log.warning("task %s: Task/Detail failed (%s), %d in a row", taskid or "?", error.kind, transient)
            if transient > policy.max_transient_errors:
                raise
            if latest is None and anyio.current_time() >= deadline:
                raise WiroTransportError(
                    "Task/Detail never answered before the deadline", sent_maybe=True
                ) from None
            if latest is None:
                await anyio.sleep(min(policy.interval_at(0.0), max(deadline - anyio.current_time(), 0.0)))
            continue
        latest = task
        taskid = taskid or task.id
        if task.status != seen_status and on_update is not None:
            await on_update(task)
        seen_status = task.status
        if task.state in TERMINAL_STATES:
            return WatchOutcome(task=task, finished=True, detail_requests=requests)


class TaskFollower(Protocol):
    """Follows one task for up to `wait_seconds`, reporting each new status: `SocketFollower` (Wiro's
    push channel, the default) or `PollingFollower` (its fallback). `on_end` is told of an end event
    and the files it announces, before the Task/Detail that confirms the end (a follower that first
    learns of the end from that Detail never calls it)."""

    async def follow(
        self,
        handle: TaskHandle,
        *,
        wait_seconds: float,
        on_update: OnUpdate | None = None,
        last_known: Task | None = None,
        expected: RunWindow | None = None,
        on_end: OnEnd | None = None,
    ) -> WatchOutcome: ...


class PollingFollower:
    def __init__(self, client: WiroClient, policy: PollPolicy | None = None) -> None:
        self.client = client
        self.policy = policy or PollPolicy()

    def __repr__(self) -> str:
        return f"PollingFollower({self.policy})"

    async def follow(
        self,
        handle: TaskHandle,
        *,
        wait_seconds: float,
        on_update: OnUpdate | None = None,
        last_known: Task | None = None,
        expected: RunWindow | None = None,
        on_end: OnEnd | None = None,  # polling first sees the end in the last Detail
    ) -> WatchOutcome:
        return await watch_task(
            self.client,
            **handle.ids,
            wait_seconds=wait_seconds,
            policy=self.policy,
            on_update=on_update,
            last_known=last_known,
            expected=expected,
        )
