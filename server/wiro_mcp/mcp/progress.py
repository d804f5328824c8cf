"""Progress notifications for a followed task: 0-100, only ever forward, thinned out when a socket
floods events, and kept alive while the task is quiet (some clients time a call out otherwise)."""

from __future__ import annotations

import logging
import math
from typing import Any

import anyio
from mcp.server import ServerRequestContext

from wiro_mcp.catalog.validate import one_line
from wiro_mcp.mcp.client_view import inline_media
from wiro_mcp.tasks import TaskReport, TaskService
from wiro_mcp.wiro.models import STATUS_ORDER, STATUS_WORDS, Task, TaskHandle

log = logging.getLogger(__name__)
Context = ServerRequestContext[Any]

# Where each status puts a task on a 0-100 scale, from its place in Wiro's order: the phases before
# generating take 1-7, those after it 98-100. While generating, Wiro's own percentage (from its
# socket) is used as it is, held below the last phases; without one, progress moves with each status.
_GENERATING_AT = STATUS_ORDER.index("task_output")
_AFTER = STATUS_ORDER[_GENERATING_AT + 1 :]
_STATUS_PERCENT = {
    **{status: float(n + 1) for n, status in enumerate(STATUS_ORDER[: _GENERATING_AT + 1])},
    **{status: 98.0 + 2.0 * n / (len(_AFTER) - 1) for n, status in enumerate(_AFTER)},
    "task_cancel": 100.0,
}
MAX_GENERATING = 97.0
_STAGE = {status: n for n, status in enumerate((*STATUS_ORDER, "task_cancel"))}


MIN_PROGRESS_GAP = 0.2  # seconds between two notifications (a flood of events is news to none)
KEEPALIVE_SECONDS = 5.0  # some clients time a call out when nothing arrives for a while
KEEPALIVE_STEP = 0.001


def progress_words(task: Task) -> str:
    """`Wiro: generating 60% (step 6/10, 3s left) (task_output)`."""
    status = one_line(task.status, 40)
    words = STATUS_WORDS.get(task.status, status)
    if task.status == "task_output" and task.partial_answer:
        words = f"answering: {one_line(task.partial_answer, 170)}"  # an LLM's growing answer, its last words
    elif task.status == "task_output" and task.thinking_now:
        words = "thinking"
    elif task.status == "task_output" and task.percentage is not None:
        words += f" {task.percentage:.0f}%"
        if task.progress_note:
            words += f" ({one_line(task.progress_note, 60)})"
    return f"Wiro: {words} ({status})"


class Progress:
    """Turns task updates into MCP progress notifications (0-100) that only ever go forward.

    A new stage of the task (a status further on in Wiro's order) is sent at once; other news at most
    once per MIN_PROGRESS_GAP: news that comes sooner waits, and only the newest waiting news is sent
    (a socket flooding events floods nobody). While `keep_alive` runs, a quiet task still gets a
    notification every KEEPALIVE_SECONDS."""

    def __init__(self, ctx: Context, label: str = "") -> None:
        self._ctx = ctx
        self._label = label or "task"
        self._done = 0.0
        self._said = ""
        self._sent_at = -math.inf
        self._waiting: Task | None = None
        self._stage = -1
        self._news = anyio.Event()

    async def __call__(self, task: Task) -> None:
        # A status further on in Wiro's order goes at once (there are a dozen); the rest keep the gap.
        stage = _STAGE.get(task.status, -1)
        moved_on = stage > self._stage
        self._stage = max(self._stage, stage)
        if not moved_on and anyio.current_time() - self._sent_at < MIN_PROGRESS_GAP:
            self._waiting = task  # sent by keep_alive once the gap has passed
            self._news.set()
            return
        self._waiting = None
        await self._report(task)

    def _taken(self) -> Task | None:
        task, self._waiting = self._waiting, None
        return task

    async def _report(self, task: Task) -> None:
        value = _STATUS_PERCENT.get(task.status, 0.0)
        if task.status == "task_output" and task.percentage is not None:
            value = max(value, min(task.percentage, MAX_GENERATING))
        words = progress_words(task)
        if value <= self._done:
            # Progress must grow with each notification: news that does not move the figure (a status
            # polling sees after the socket's percentage, say) moves it by a hair, or is not sent.
            if words == self._said or task.status not in _STATUS_PERCENT or self._done >= MAX_GENERATING:
                return
            value = self._done + 0.01
        await self._send(value, words)

    async def _send(self, value: float, words: str) -> None:
        first = self._sent_at == -math.inf
        self._done = value
        self._said = words
        self._sent_at = anyio.current_time()
        # The first names the task, so that "stop it" can name it too.
        await self._ctx.session.report_progress(value, 100, f"{self._label}: {words}" if first else words)

    async def keep_alive(self) -> None:
        """Until cancelled: waiting news once its gap has passed, and the last news again (a hair
        further on) after a quiet KEEPALIVE_SECONDS. Never raises: a client gone away must not look
        like a cancel to the follow it runs beside."""
        try:
            while True:
                if self._waiting is not None:
                    await anyio.sleep(max(self._sent_at + MIN_PROGRESS_GAP - anyio.current_time(), 0.0))
                    task = self._taken()  # a direct send during the sleep may have taken it
                    if task is not None:
                        await self._report(task)
                    continue
                self._news = anyio.Event()
                with anyio.move_on_after(max(self._sent_at + KEEPALIVE_SECONDS - anyio.current_time(), 0.05)):
                    await self._news.wait()
                    continue
                quiet = anyio.current_time() - self._sent_at >= KEEPALIVE_SECONDS - 0.01
                if quiet and self._done < 100 - KEEPALIVE_STEP:
                    await self._send(self._done + KEEPALIVE_STEP, self._said or "Wiro: waiting")
        except Exception as exc:
            log.debug("progress keep-alive stopped: %s", type(exc).__name__)


def wants_progress(ctx: Context) -> bool:
    """Whether to follow with progress notifications. Over HTTP a progress token in the request's
    `_meta` is the only way to ask for them; over stdio and in process they are always made (an
    in-process client's callback comes with no token, and one person's calls cost little)."""
    if ctx.meta is not None and ctx.meta.get("progress_token") is not None:
        return True
    return ctx.request is None


async def follow_with_progress(
    service: TaskService, ctx: Context, handle: TaskHandle, **options: Any
) -> TaskReport:
    """`service.follow` with progress notifications, kept alive while the task is quiet; plain
    `service.follow` when the caller asked for none (about 0.5 ms a call of updates nobody would be sent).
    Either way the previews this client's result shows are made while the end is confirmed."""
    options.setdefault("preview_media", inline_media(service, ctx))
    if not wants_progress(ctx):
        return await service.follow(handle, **options)
    progress = Progress(ctx, f"task {handle.label}")
    failure: Exception | None = None
    async with anyio.create_task_group() as tg:
        tg.start_soon(progress.keep_alive)
        try:
            return await service.follow(handle, on_update=progress, **options)
        except Exception as exc:  # raised below, as it is: not wrapped in the task group's ExceptionGroup
            failure = exc
        finally:
            tg.cancel_scope.cancel()
    assert failure is not None
    raise failure
