"""Following a started task up to the bounded wait, looking at one, stopping one; each ends in a
TaskReport (journal updated, finished outputs saved; previews are read when a result is made). A
cancelled follow stops the remote task (Cancel while queued, else Kill), shielded, unless detached
or a repeat's."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio

from wiro_mcp.errors import WiroError, WiroValidationError
from wiro_mcp.jsonish import as_dict
from wiro_mcp.outputs import Outputs, Preview
from wiro_mcp.tasks.finishing import Finishing
from wiro_mcp.tasks.ledger import Ledger
from wiro_mcp.tasks.records import EarlyPreviews, ServiceConfig, TaskReport
from wiro_mcp.tasks.run_times import RunTimes
from wiro_mcp.tasks.start import SESSION_FIELD
from wiro_mcp.wiro.client import WiroClient
from wiro_mcp.wiro.models import QUEUED_STATUSES, TERMINAL_STATES, Output, Task, TaskHandle
from wiro_mcp.wiro.watch import TaskFollower, WatchOutcome

log = logging.getLogger(__name__)

OnUpdate = Callable[[Task], Awaitable[None]]
# Who a task is reported under: (tool name, slug); the tool name is "" for a model with no typed tool.
Naming = Callable[[Task], tuple[str, str]]
STOP_SECONDS = 15.0
LIVE_AUDIO_STATUS = "task_stream_ready"  # a realtime model's: ready for audio a tool call cannot send
SHOWN_ANSWER_CHARS = 20_000  # of a text answer in a result; a longer one is kept whole in a file
MAX_CANCELS_KEPT = 100
SANDBOX_ENDPOINT = "sandbox:"  # how the built-in emulator's tasks are journalled
INLINE_MEDIA = ("image/", "audio/")  # the previews a viewer makes needless: it shows the files themselves


class Following:
    def __init__(
        self,
        client: WiroClient,
        config: ServiceConfig,
        *,
        endpoint: str,
        follower: TaskFollower,
        outputs: Outputs,
        ledger: Ledger,
        naming: Naming,
    ) -> None:
        self.client = client
        self.config = config
        self.endpoint = endpoint
        self.follower = follower
        self.outputs = outputs
        self.ledger = ledger
        self.naming = naming
        self.run_times = RunTimes()  # how long each model's tasks have taken lately: polling's cue
        self.finishing = Finishing()  # ends that come together, in turn while the loop is saturated
        self._stopping = 0  # cancelled calls still stopping their remote tasks
        # What the latest cancelled calls did to their tasks (for a terminal: "task N stopped"): id → how.
        self.cancelled: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"Following(endpoint={self.endpoint!r}, {self.follower!r})"

    def idle(self) -> bool:
        """True when no cancelled call is still stopping its Wiro task (a shutdown may proceed)."""
        return self._stopping == 0

    async def follow(
        self,
        handle: TaskHandle,
        *,
        on_update: OnUpdate | None = None,
        last_known: Task | None = None,
        wait_seconds: float | None = None,
        notes: tuple[str, ...] = (),
        stop_on_cancel: bool = True,
        model: str = "",
        preview_media: bool | None = None,
    ) -> TaskReport:
        """Follow up to the bounded wait; on cancellation, stop the remote task (unless detached, or
        `stop_on_cancel` is off: a repeated call's cancel must not stop the first caller's task).
        `model` is given for a task whose Run has just answered: its run time is then learned.
        `preview_media` is given when the result will show previews (with images and audio, or
        without): they are then made while the last Task/Detail confirms the end."""
        began = anyio.current_time()
        latest: list[Task] = [last_known] if last_known else []
        live = anyio.CancelScope()  # cancelled when the task turns out to wait for live audio

        async def remember(task: Task) -> None:
            latest.append(task)
            if task.status == LIVE_AUDIO_STATUS:
                live.cancel()
                return
            if on_update is not None:
                await on_update(task)

        wait = self.config.wait_seconds if wait_seconds is None else wait_seconds
        try:
            if last_known is not None and on_update is not None:
                await on_update(last_known)  # inside the try: a cancel here must still stop the task
            outcome, early = None, EarlyPreviews()
            with live:
                outcome, early = await self._follow_previewing(
                    handle, wait, remember, last_known, model, preview_media
                )
            if outcome is None:
                return await self._stop_live(handle, latest[-1], notes)
        except anyio.get_cancelled_exc_class():
            if not stop_on_cancel:
                log.info(
                    "call cancelled; task %s left running (an earlier identical call started it)",
                    handle.label,
                )
                self._said(handle.label, "left running (an earlier identical call started it)")
                raise
            self._stopping += 1
            try:
                with anyio.CancelScope(shield=True):
                    await self._stop_on_cancel(handle, latest[-1] if latest else None)
            finally:
                self._stopping -= 1
            raise
        except WiroError as exc:
            if not latest:
                raise
            # The task exists even though Wiro stopped answering: hand back its ids, never lose them.
            lost = f"Following the task failed ({exc}); it may still be running: wait on it again later."
            return await self._report(latest[-1], False, (*notes, lost))
        if model and outcome.finished and outcome.task.state == "completed":
            self.run_times.add(model, anyio.current_time() - began)
        return await self._report(outcome.task, outcome.finished, notes, early)

    async def _follow_previewing(
        self,
        handle: TaskHandle,
        wait: float,
        on_update: OnUpdate,
        last_known: Task | None,
        model: str,
        media: bool | None,
    ) -> tuple[WatchOutcome, EarlyPreviews]:
        """The follower; with `media` given (with images and audio, or without), the previews of the
        files the end event announces are made beside the last Task/Detail, outside the
        follower's wait (an end it confirmed is never cut short by a slow preview), and dropped when
        the follow ends unfinished. With downloads on, previews are read from the saved files instead.
        From its end event on, the task holds its turn in `finishing` until its previews are made."""
        early = EarlyPreviews()
        previewing = media is not None and self.outputs.policy.download_dir is None
        held = False

        async def preview(announced: list[Output]) -> None:
            chosen = [o for o in _shown_kinds(announced, media) if self.outputs.preview_limit(o)]
            made = await self.outputs.previews(chosen, {})
            early.update({(o.url, o.mime): made.get(o.url) for o in chosen})

        outcome: WatchOutcome | None = None
        failed: Exception | None = None
        try:
            async with anyio.create_task_group() as tg:

                async def ended(files: list[Output]) -> None:
                    nonlocal held
                    await self.finishing.enter()
                    held = True
                    if previewing and files:
                        tg.start_soon(preview, files)

                try:
                    outcome = await self.follower.follow(
                        handle,
                        wait_seconds=wait,
                        on_update=on_update,
                        last_known=last_known,
                        expected=self.run_times.window(model),  # none for "": nothing is kept under it
                        on_end=ended,
                    )
                except Exception as exc:  # raised as it is below, not in the task group's ExceptionGroup
                    failed = exc
                if outcome is None or not outcome.finished:
                    tg.cancel_scope.cancel()
        finally:
            if held:
                self.finishing.leave()
        if failed is not None:
            raise failed
        assert outcome is not None
        return outcome, early

    async def _stop_live(self, handle: TaskHandle, last: Task, notes: tuple[str, ...]) -> TaskReport:
        """A realtime model, not known as one before Run: it waits for live audio no tool call can send,
        so it is killed rather than left running (and billed) until Wiro times it out."""
        with anyio.CancelScope(shield=True), anyio.move_on_after(STOP_SECONDS):
            try:
                stopped = await self.client.kill(**handle.ids)
                last = stopped or await self.client.detail(**handle.ids)
            except WiroError as exc:
                log.warning("task %s waits for live audio; Kill failed: %s", handle.label, exc)
        note = (
            "The model waits for live audio (a realtime model), which a tool call cannot carry: the task was "
            f"stopped so that it is not left running. Now: {last.status or 'unknown'}."
        )
        return await self._report(last, last.state in TERMINAL_STATES, (*notes, note))

    def _said(self, label: str, how: str) -> None:
        self.cancelled.pop(label, None)
        self.cancelled[label] = how
        while len(self.cancelled) > MAX_CANCELS_KEPT:  # a long-running server forgets the oldest
            self.cancelled.pop(next(iter(self.cancelled)))

    async def _stop_on_cancel(self, handle: TaskHandle, last: Task | None) -> None:
        if self.config.on_cancel == "detach":
            log.info("call cancelled; task %s left running (on_cancel=detach)", handle.label)
            self._said(handle.label, "left running (WIRO_MCP_ON_CANCEL=detach)")
            return
        self._said(handle.label, "may still be running: stopping it failed")
        queued = last is not None and last.status in QUEUED_STATUSES
        # Cancel takes a task out of the queue; Kill stops a running one. A queued task may start
        # meanwhile, so Kill is the fallback when Cancel is refused.
        attempts = (self.client.cancel, self.client.kill) if queued else (self.client.kill,)
        with anyio.move_on_after(STOP_SECONDS):
            for stop in attempts:
                try:
                    stopped = await stop(**handle.ids)
                except WiroError as exc:
                    log.warning("call cancelled; %s of task %s failed: %s", stop.__name__, handle.label, exc)
                    continue
                log.info("call cancelled; task %s stopped by %s", handle.label, stop.__name__)
                self._said(handle.label, "stopped")
                if stopped is not None:
                    await self.ledger.update(stopped)
                return

    async def _report(
        self, task: Task, finished: bool, notes: tuple[str, ...] = (), early: EarlyPreviews | None = None
    ) -> TaskReport:
        await self.ledger.update_behind(task)
        tool, slug = self.naming(task)
        saved: dict[str, Path] = {}
        folder = tool or slug or "task"
        if task.state == "completed" and task.file_outputs:
            saved, note = await self.outputs.save(folder, task.id, task.file_outputs)
            notes = (*notes, note) if note else notes
        answer = task.answer
        answer_file: Path | None = None
        if answer and len(answer.text) > SHOWN_ANSWER_CHARS:
            answer_file, note = await self.outputs.keep_text(folder, task.id, "answer.md", answer.text)
            notes = (*notes, note) if note else notes
        session = as_dict(task.parameters).get(SESSION_FIELD)
        return TaskReport(
            answer=answer,
            answer_file=answer_file,
            session=session.strip()[:200] if isinstance(session, str) else "",
            tool=tool,
            slug=slug,
            task=task,
            finished=finished,
            saved=saved,
            notes=notes,
            sandbox=self.endpoint.startswith(SANDBOX_ENDPOINT),
            early_previews=early or {},
        )

    async def previews(self, report: TaskReport, *, media: bool = True) -> dict[str, Preview]:
        """What the chat can be shown of a report's outputs, made when its result is (and not kept),
        or while the end was confirmed: `media` off leaves images and audio out, for a client whose
        viewer plays them from their URLs."""
        outputs = _shown_kinds(report.task.file_outputs, media)
        early = report.early_previews
        found = {o.url: early[o.url, o.mime] for o in outputs if (o.url, o.mime) in early}
        rest = [o for o in outputs if (o.url, o.mime) not in early]
        made = await self.outputs.previews(rest, report.saved) if rest else {}
        return {**{url: p for url, p in found.items() if p is not None}, **made}

    async def look(self, handle: TaskHandle) -> TaskReport:
        task = await self.client.detail(**handle.ids)
        return await self._report(task, task.state in TERMINAL_STATES)

    async def stop(self, handle: TaskHandle, *, kill: bool) -> TaskReport:
        """Kill (or Cancel) the task; when Wiro refuses because it is in the other phase (Cancel is for
        queued tasks, Kill for running ones), the other is used, so either stops it."""
        first, second = (
            (self.client.kill, self.client.cancel) if kill else (self.client.cancel, self.client.kill)
        )
        try:
            stopped = await first(**handle.ids)
        except WiroValidationError as refused:
            try:
                stopped = await second(**handle.ids)
            except WiroValidationError:
                task = await self.client.detail(**handle.ids)
                if task.state not in TERMINAL_STATES:
                    raise refused from None
                return await self._report(task, True, (f"The task had already ended ({task.status}).",))
        task = stopped if stopped is not None else await self.client.detail(**handle.ids)
        return await self._report(task, task.state in TERMINAL_STATES)


def _shown_kinds(outputs: list[Output], media: bool | None) -> list[Output]:
    """The outputs a result may preview: all, or with `media` off all but images and audio."""
    return [o for o in outputs if media or not o.mime.startswith(INLINE_MEDIA)]
