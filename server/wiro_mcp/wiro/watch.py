"""Following a task to its end within a deadline.

Polling starts quick and backs off to a cap, but drops back to the quick interval once the task
reaches its last phases (output complete, post-processing), when the end is near. Reaching the
deadline is not an error: the latest snapshot comes back so the caller can hand out a handle.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import anyio

from wiro_mcp.errors import WiroRateLimitError, WiroServerError, WiroTransportError
from wiro_mcp.wiro.client import WiroClient
from wiro_mcp.wiro.models import TERMINAL_STATES, Task, TaskHandle

log = logging.getLogger(__name__)

NEAR_END_STATUSES = frozenset({"task_output_full", "task_end", "task_postprocess_start"})


@dataclass(frozen=True)
class PollPolicy:
    initial: float = 0.2
    factor: float = 1.5
    cap: float = 3.0
    near_end: float = 0.2
    max_transient_errors: int = 8


@dataclass(frozen=True)
class WatchOutcome:
    task: Task
    finished: bool
    detail_requests: int


OnUpdate = Callable[[Task], Awaitable[None]]


async def watch_task(
    client: WiroClient,
    *,
    taskid: str | None = None,
    tasktoken: str | None = None,
    wait_seconds: float,
    policy: PollPolicy | None = None,
    on_update: OnUpdate | None = None,
    last_known: Task | None = None,
) -> WatchOutcome:
    """Poll Task/Detail until the task ends or `wait_seconds` pass; never raises on the deadline."""
    policy = policy or PollPolicy()
    deadline = anyio.current_time() + max(wait_seconds, 0.0)
    interval = policy.initial
    latest = last_known
    seen_status = last_known.status if last_known else None
    requests = 0
    transient = 0
    while True:
        try:
            requests += 1
            task = await client.detail(taskid=taskid, tasktoken=tasktoken)
            transient = 0
        except (WiroTransportError, WiroServerError, WiroRateLimitError) as error:
            transient += 1
            log.warning("task %s: Task/Detail failed (%s), %d in a row", taskid or "?", error.kind, transient)
            if transient > policy.max_transient_errors:
                raise
            task = None
        if task is not None:
            latest = task
            taskid = taskid or task.id
            if task.status != seen_status and on_update is not None:
                await on_update(task)
            seen_status = task.status
            if task.state in TERMINAL_STATES:
                return WatchOutcome(task=task, finished=True, detail_requests=requests)
            interval = policy.near_end if task.status in NEAR_END_STATUSES else interval
        remaining = deadline - anyio.current_time()
        if remaining <= 0:
            if latest is None:
                raise WiroTransportError("Task/Detail never answered before the deadline", sent_maybe=True)
            return WatchOutcome(task=latest, finished=False, detail_requests=requests)
        await anyio.sleep(min(interval, remaining))
        if task is None or task.status not in NEAR_END_STATUSES:
            interval = min(policy.cap, interval * policy.factor)


class TaskFollower(Protocol):
    """Follows one task for up to `wait_seconds`, reporting each new status. Polling today; Wiro's
    WebSocket push is the next implementation."""

    async def follow(
        self,
        handle: TaskHandle,
        *,
        wait_seconds: float,
        on_update: OnUpdate | None = None,
        last_known: Task | None = None,
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
    ) -> WatchOutcome:
        return await watch_task(
            self.client,
            taskid=handle.taskid or None,
            tasktoken=handle.token or None,
            wait_seconds=wait_seconds,
            policy=self.policy,
            on_update=on_update,
            last_known=last_known,
        )
