"""Following a task over Wiro's WebSocket channel: every status change pushed as it happens, with the
generation's percentage and remaining time, for one Task/Detail read at the end (the authoritative
outputs, `pexit` and cost).

Polling takes over for the task, from the last status seen, when the socket cannot connect, closes
before the end, or is silent for `silence_seconds` while Task/Detail shows the task moving on. A quiet
socket over a task that is not moving (a long queue) is kept. The events are read in
`socket_events.py`; `task_postprocess_end` and `task_cancel` end a task. Connections come from
`socket_pool.py`.
"""

from __future__ import annotations

import logging
import math
import time

import anyio

from wiro_mcp.errors import WiroError
from wiro_mcp.wiro.client import WiroClient
from wiro_mcp.wiro.models import TERMINAL_STATES, TERMINAL_STATUSES, Task, TaskHandle
from wiro_mcp.wiro.socket_events import SocketEvent, announced_outputs, apply_event
from wiro_mcp.wiro.socket_pool import SocketPool, Subscription
from wiro_mcp.wiro.watch import OnEnd, OnUpdate, RunWindow, TaskFollower, WatchOutcome
from wiro_mcp.wiro.wsclient import SocketClosed, WireSocket, connect

log = logging.getLogger(__name__)

FIRST_CHECK_SECONDS = 3.0
_said = {"silent": False}  # "the socket delivers nothing but Detail shows progress" is logged once


class _Fallback(Exception):
    """The socket cannot be relied on for this task: polling takes over."""


class SocketFollower:
    """The default follower: Wiro's socket, with `fallback` (polling) taking over when it fails."""

    def __init__(
        self,
        client: WiroClient,
        socket_url: str,
        fallback: TaskFollower,
        *,
        silence_seconds: float = 15.0,
        connect_seconds: float = 10.0,
        tasks_per_connection: int = 1,
    ) -> None:
        self.client = client
        self.url = socket_url
        self.fallback = fallback
        self.silence = silence_seconds
        self.handshake_seconds = connect_seconds  # connecting and the whole upgrade, in all
        self.pool = SocketPool(self.connect, tasks_per_connection)

    async def connect(self) -> WireSocket:
        return await connect(self.url, handshake_seconds=self.handshake_seconds)

    def __repr__(self) -> str:
        return f"SocketFollower({self.url!r}, {self.pool!r}, fallback={self.fallback!r})"

    async def follow(
        self,
        handle: TaskHandle,
        *,
        wait_seconds: float,
        on_update: OnUpdate | None = None,
        last_known: Task | None = None,
        expected: RunWindow | None = None,
        on_end: OnEnd | None = None,
    ) -> WatchOutcome:
        if not handle.token:  # the socket takes the task token only
            return await self.fallback.follow(
                handle,
                wait_seconds=wait_seconds,
                on_update=on_update,
                last_known=last_known,
                expected=expected,
                on_end=on_end,
            )
        began = anyio.current_time()
        deadline = began + max(wait_seconds, 0.0)
        run = _SocketRun(self, handle, on_update, on_end)
        if last_known is None:  # resuming: where the task stands, and maybe it has ended already
            await run.detail()
            if run.latest is not None and run.latest.state in TERMINAL_STATES:
                return run.outcome(True)
        else:
            run.latest = last_known
        with anyio.move_on_after(deadline - anyio.current_time()):
            try:
                return await run.listen()
            except _Fallback as why:
                log.info("task %s: socket %s; polling takes over", handle.label, why)
        remaining = deadline - anyio.current_time()
        if remaining <= 0 and run.latest is not None:
            return run.outcome(False)
        polled = await self.fallback.follow(
            handle,
            wait_seconds=max(remaining, 0.0),
            on_update=on_update,
            last_known=run.latest,
            expected=expected.after(anyio.current_time() - began) if expected else None,
            on_end=on_end,
        )
        return WatchOutcome(polled.task, polled.finished, polled.detail_requests + run.requests)


class _SocketRun:
    """One task followed over one socket connection."""

    def __init__(
        self,
        follower: SocketFollower,
        handle: TaskHandle,
        on_update: OnUpdate | None,
        on_end: OnEnd | None,
    ) -> None:
        self.f = follower
        self.handle = handle
        self.on_update = on_update
        self.on_end = on_end
        self.latest: Task | None = None
        self.requests = 0

    def outcome(self, finished: bool) -> WatchOutcome:
        assert self.latest is not None
        return WatchOutcome(self.latest, finished, self.requests)

    async def detail(self) -> Task:
        self.requests += 1
        task = await self.f.client.detail(**self.handle.ids)
        await self.report(task)
        return task

    async def report(self, task: Task) -> None:
        changed = self.latest is None or _news(task) != _news(self.latest)
        self.latest = task
        if changed and self.on_update is not None:
            await self.on_update(task)

    async def listen(self) -> WatchOutcome:
        try:
            return await self._listen()
        except SocketClosed as closed:
            raise _Fallback(closed.reason) from None
        except OSError as exc:
            raise _Fallback(f"failed ({type(exc).__name__})") from None
        except WiroError as exc:  # Detail failing while the socket works: polling copes with it
            raise _Fallback(f"could not be checked ({exc})") from None

    async def _listen(self) -> WatchOutcome:
        async with self.f.pool.subscribe(self.handle.token, self.handle.taskid) as events:
            # Nothing documents that a registration replays what already happened: a task that ended
            # while we connected would leave the socket silent. So the first quiet spell is short.
            spell = min(self.f.silence, FIRST_CHECK_SECONDS)
            first = spell < self.f.silence  # the short first spell, however long its events keep it
            heard = -math.inf  # when the last event came, by time.monotonic()
            end: SocketEvent | None = None
            while True:
                # One scope per spell, left alone by each event (moving its deadline reschedules a
                # timer, which adds up over hundreds of sockets): when it expires, an event heard
                # within the last `silence` seconds starts a spell for the rest of that time.
                with anyio.move_on_after(spell):
                    while True:
                        event = await events.next_event()
                        heard = time.monotonic()
                        if event.kind in TERMINAL_STATUSES:
                            end = event
                            break
                        assert self.latest is not None
                        updated = apply_event(self.latest, event)
                        if updated is not None:
                            await self.report(updated)
                if end is not None:  # outside the spell: its deadline does not cut the Detail
                    return await self._ended(end)
                quiet_for = time.monotonic() - heard
                if quiet_for < self.f.silence:
                    spell = self.f.silence - quiet_for
                    continue
                if await self._silent(events, first=first):
                    return self.outcome(True)
                spell, first = self.f.silence, False

    async def _silent(self, events: Subscription, first: bool) -> bool:
        """Nothing for a while: one Detail tells a quiet task from a socket that stopped delivering.
        True when that Detail shows the task has ended. A move before the first event may predate the
        registration, so only a later silent spell hands the task to polling."""
        before = self.latest
        task = await self.detail()
        if task.state in TERMINAL_STATES:
            return True
        if not first and before is not None and task.status != before.status:
            events.note_unserved()
            if not _said["silent"]:
                _said["silent"] = True
                log.warning(
                    "Wiro's socket delivered nothing for %g s while Task/Detail showed the task moving on; "
                    "polling follows such tasks",
                    self.f.silence,
                )
            raise _Fallback(f"was silent for {self.f.silence:g} s")
        return False

    async def _ended(self, end: SocketEvent) -> WatchOutcome:
        """The end, confirmed by one Task/Detail (the authoritative outputs, `pexit` and cost); the
        end event and the files it names go to `on_end` first, so that what is made of them (previews)
        is ready about when the Detail is, not one more trip to Wiro later."""
        if self.on_end is not None:
            await self.on_end(announced_outputs(end))
        task = await self.detail()
        if task.state not in TERMINAL_STATES:
            raise _Fallback("ended before Task/Detail did")
        return self.outcome(True)


def _news(task: Task) -> tuple[object, ...]:
    """What of a task an update reports: a change in any of it is news."""
    return (task.status, task.percentage, task.partial_answer, task.thinking_now)
