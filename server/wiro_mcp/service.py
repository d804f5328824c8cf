"""Running model tasks and following them: validation, local files, Run, journal, watch, stop.

Knows nothing of MCP: the MCP layer turns what this returns into tool results.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import anyio
import anyio.to_thread
import httpx2

from wiro_mcp.catalog.fields import FieldRule
from wiro_mcp.catalog.load import CatalogEntry
from wiro_mcp.catalog.validate import FieldError, validate_arguments
from wiro_mcp.downloads import save_outputs
from wiro_mcp.errors import LocalFileError, WiroError, WiroTransportError
from wiro_mcp.files import FileAccess, is_remote
from wiro_mcp.journal import Journal
from wiro_mcp.wiro.client import FilePart, WiroClient
from wiro_mcp.wiro.models import QUEUED_STATUSES, TERMINAL_STATES, RunAnswer, Task
from wiro_mcp.wiro.watch import PollPolicy, watch_task

log = logging.getLogger(__name__)

OnUpdate = Callable[[Task], Awaitable[None]]
# The client's own roots, asked for only when an argument names a local file.
RootsProvider = Callable[[], Awaitable[Sequence[Path]]]


async def _no_roots() -> Sequence[Path]:
    return ()


@dataclass(frozen=True)
class ServiceConfig:
    wait_seconds: float = 45.0
    on_cancel: Literal["kill", "detach"] = "kill"
    poll: PollPolicy = field(default_factory=PollPolicy)
    download_dir: Path | None = None


@dataclass(frozen=True)
class Rejected:
    """Arguments that never reached Wiro, and why."""

    errors: tuple[FieldError, ...] = ()
    file_error: str = ""


@dataclass(frozen=True)
class TaskReport:
    """What the server knows of a task after following it for a while."""

    tool: str
    slug: str
    task: Task
    finished: bool
    saved: dict[str, Path] = field(default_factory=dict[str, Path])
    note: str = ""


class TaskService:
    def __init__(
        self,
        client: WiroClient,
        catalog: dict[str, CatalogEntry],
        config: ServiceConfig,
        *,
        journal: Journal | None = None,
        files: FileAccess | None = None,
    ) -> None:
        self.client = client
        self.catalog = catalog
        self.config = config
        self.journal = journal
        self.files = files or FileAccess((), 0)
        # Output files are fetched without Wiro's credentials: they live on a public CDN.
        self.fetcher = httpx2.AsyncClient(timeout=httpx2.Timeout(60.0, connect=10.0), follow_redirects=True)
        self._slug_tools = {e.spec.slug.lower(): name for name, e in catalog.items()}

    async def aclose(self) -> None:
        await self.fetcher.aclose()

    def tool_for(self, task: Task) -> tuple[str, str]:
        slug = f"{task.modelslugowner}/{task.modelslugproject}"
        return self._slug_tools.get(slug.lower(), ""), slug if slug != "/" else ""

    # ----- starting a model task
    async def _file_parts(
        self, rules: Sequence[FieldRule], params: dict[str, Any], client_roots: RootsProvider
    ) -> tuple[dict[str, Any], list[FilePart]]:
        """Local paths in file fields → file parts for a multipart Run (read off the event loop)."""
        parts: list[FilePart] = []
        out = dict(params)
        roots: Sequence[Path] | None = None
        for rule in rules:
            value = params.get(rule.name)
            if rule.kind != "file" or not isinstance(value, str):
                continue
            values = value.split(",") if rule.multiple else [value]
            if all(is_remote(v.strip()) for v in values):
                continue
            if rule.multiple:
                raise LocalFileError(f"{rule.name}: local files are accepted for single-file inputs only")
            if roots is None:
                roots = await client_roots()
            local = await anyio.to_thread.run_sync(self.files.read, rule.name, value, roots)
            parts.append(FilePart(rule.file_part, local.filename, local.data, local.contenttype))
            out.pop(rule.name)
        return out, parts

    async def start(
        self,
        entry: CatalogEntry,
        arguments: dict[str, Any] | None,
        *,
        on_update: OnUpdate | None = None,
        client_roots: RootsProvider = _no_roots,
    ) -> TaskReport | Rejected:
        checked = validate_arguments(entry.rules, arguments)
        if not checked.ok:
            return Rejected(errors=checked.errors)
        try:
            params, parts = await self._file_parts(entry.rules, checked.params, client_roots)
        except LocalFileError as exc:
            return Rejected(file_error=str(exc))
        recorded = {
            **params,
            **{f"{p.part}Url": f"(local file {p.filename}, {len(p.data)} bytes)" for p in parts},
        }
        spec = entry.spec
        answer = await self._run_and_record(entry, params, parts, recorded)
        first = Task(
            id=answer.taskid,
            socketaccesstoken=answer.socketaccesstoken,
            status="task_queue",
            modelslugowner=spec.owner,
            modelslugproject=spec.project,
        )
        return await self.follow(
            answer.taskid, answer.socketaccesstoken, on_update=on_update, last_known=first
        )

    async def _run_and_record(
        self, entry: CatalogEntry, params: dict[str, Any], parts: list[FilePart], recorded: dict[str, Any]
    ) -> RunAnswer:  # pyright: ignore[reportReturnType]  # a shielded CancelScope never swallows the return
        """Run once and journal the answer, shielded: once Run is on the wire its answer (the task id)
        must be read and recorded, or a task that is billed would be lost to a cancellation."""
        spec = entry.spec
        with anyio.CancelScope(shield=True):
            try:
                answer = await self.client.run(spec.owner, spec.project, params, parts)
            except WiroTransportError as exc:
                if exc.sent_maybe and self.journal is not None:
                    await self.journal.record_unknown(
                        tool=entry.name, slug=spec.slug, arguments=recorded, error=str(exc)
                    )
                raise
            if self.journal is not None:
                await self.journal.record_started(
                    taskid=answer.taskid,
                    tasktoken=answer.socketaccesstoken,
                    tool=entry.name,
                    slug=spec.slug,
                    arguments=recorded,
                )
            return answer

    # ----- following, looking, stopping
    async def follow(
        self,
        taskid: str | None,
        tasktoken: str | None,
        *,
        on_update: OnUpdate | None = None,
        last_known: Task | None = None,
        wait_seconds: float | None = None,
    ) -> TaskReport:
        """Watch up to the bounded wait; on cancellation, stop the remote task (unless detached)."""
        latest: list[Task] = [last_known] if last_known else []

        async def remember(task: Task) -> None:
            latest.append(task)
            if on_update is not None:
                await on_update(task)

        wait = self.config.wait_seconds if wait_seconds is None else wait_seconds
        try:
            if last_known is not None and on_update is not None:
                await on_update(last_known)  # inside the try: a cancel here must still stop the task
            outcome = await watch_task(
                self.client,
                taskid=taskid,
                tasktoken=tasktoken,
                wait_seconds=wait,
                policy=self.config.poll,
                on_update=remember,
                last_known=last_known,
            )
        except anyio.get_cancelled_exc_class():
            with anyio.CancelScope(shield=True):
                await self._stop_on_cancel(taskid, tasktoken, latest[-1] if latest else None)
            raise
        except WiroError as exc:
            if not latest:
                raise
            # The task exists even though Wiro stopped answering: hand back its ids, never lose them.
            report = await self._report(latest[-1], False)
            return replace(
                report,
                note=f"Following the task failed ({exc}); it may still be running. Try task_wait later.",
            )
        return await self._report(outcome.task, outcome.finished)

    async def _stop_on_cancel(self, taskid: str | None, tasktoken: str | None, last: Task | None) -> None:
        if self.config.on_cancel == "detach":
            log.info("call cancelled; task %s left running (on_cancel=detach)", taskid)
            return
        queued = last is not None and last.status in QUEUED_STATUSES
        # Cancel takes a task out of the queue; Kill stops a running one. A queued task may start
        # meanwhile, so Kill is the fallback when Cancel is refused.
        attempts = (self.client.cancel, self.client.kill) if queued else (self.client.kill,)
        with anyio.move_on_after(15):
            for stop in attempts:
                try:
                    stopped = await stop(taskid=taskid, tasktoken=tasktoken)
                except WiroError as exc:
                    log.warning("call cancelled; %s of task %s failed: %s", stop.__name__, taskid, exc)
                    continue
                log.info("call cancelled; task %s stopped by %s", taskid, stop.__name__)
                if stopped is not None:
                    await self._journal_update(stopped)
                return

    async def _journal_update(self, task: Task) -> None:
        if self.journal is None or not task.id:
            return
        outputs = [
            o.model_dump(mode="json", include={"url", "name", "contenttype", "size"})
            for o in task.file_outputs
        ]
        error = task.debugerror if task.state == "failed" else ""
        await self.journal.record_update(
            taskid=task.id,
            state=task.state,
            status=task.status,
            outputs=outputs,
            error=error,
            cost_usd=task.cost_usd,
        )

    async def _report(self, task: Task, finished: bool) -> TaskReport:
        await self._journal_update(task)
        tool, slug = self.tool_for(task)
        saved: dict[str, Path] = {}
        note = ""
        folder = self.config.download_dir
        if folder is not None and task.state == "completed" and task.file_outputs:
            try:
                saved = await save_outputs(
                    self.fetcher, folder, tool or slug or "task", task.id, task.file_outputs
                )
            except (httpx2.HTTPError, OSError) as exc:
                note = f"Saving the outputs failed ({type(exc).__name__}); the URLs still work for a while."
        return TaskReport(tool=tool, slug=slug, task=task, finished=finished, saved=saved, note=note)

    async def look(self, taskid: str | None, tasktoken: str | None) -> TaskReport:
        task = await self.client.detail(taskid=taskid, tasktoken=tasktoken)
        return await self._report(task, task.state in TERMINAL_STATES)

    async def stop(self, taskid: str | None, tasktoken: str | None, *, kill: bool) -> TaskReport:
        stopped = await (self.client.kill if kill else self.client.cancel)(taskid=taskid, tasktoken=tasktoken)
        task = (
            stopped if stopped is not None else await self.client.detail(taskid=taskid, tasktoken=tasktoken)
        )
        return await self._report(task, task.state in TERMINAL_STATES)
