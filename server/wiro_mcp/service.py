"""Running model tasks and following them. Knows nothing of MCP: the MCP layer turns what this
returns into tool results.

    submit(entry, arguments)  validate → local files → journal row → Run (shielded) → ids journalled
    follow(handle)            the follower, up to the bounded wait; a cancel stops the remote task
    look / stop / recent      one Detail, Kill or Cancel, the journal
Every report carries the saved files and previews of a finished task (from `outputs`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import anyio
import anyio.to_thread

from wiro_mcp.catalog.fields import FieldRule, defaults
from wiro_mcp.catalog.load import CatalogEntry
from wiro_mcp.catalog.pricing import UNKNOWN, Quote, quote
from wiro_mcp.catalog.validate import FieldError
from wiro_mcp.errors import JournalError, LocalFileError, WiroError, WiroTransportError, WiroValidationError
from wiro_mcp.files import FileAccess, is_remote
from wiro_mcp.journal import Budget, JournalEntry, NewRun, OverBudget, Query, TaskJournal, TaskUpdate
from wiro_mcp.jsonish import as_list
from wiro_mcp.outputs import Outputs
from wiro_mcp.wiro.client import FilePart, WiroClient
from wiro_mcp.wiro.models import QUEUED_STATUSES, TERMINAL_STATES, RunAnswer, Task, TaskHandle
from wiro_mcp.wiro.watch import TaskFollower

log = logging.getLogger(__name__)

OnUpdate = Callable[[Task], Awaitable[None]]
# The client's own roots, asked for only when an argument names a local file.
RootsProvider = Callable[[], Awaitable[Sequence[Path]]]
JOURNAL_RETRY_DELAYS = (0.1, 0.4, 1.0)
STOP_SECONDS = 15.0
SANDBOX_ENDPOINT = "sandbox:"
MAX_CANCELS_KEPT = 100  # how the built-in emulator's tasks are journalled
SAME_CALL_WAIT_SECONDS = 10.0
UNPRICED_HINT = (
    "To run it, unset {setting}, or set WIRO_MCP_UNPRICED_RUN_USD to the amount such a run should count "
    "for under caps and budgets."
)


async def _no_roots() -> Sequence[Path]:
    return ()


def fingerprint(slug: str, params: dict[str, Any], parts: Sequence[FilePart]) -> str:
    """The same model (by its slug: two models may share a tool name's plain form) with the same
    arguments (local files by their bytes) gives the same text."""
    files = {p.part: hashlib.sha256(p.data).hexdigest() for p in parts}
    canonical = json.dumps(
        {"model": slug.lower(), "params": params, "files": files}, sort_keys=True, default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class ServiceConfig:
    wait_seconds: float = 45.0
    on_cancel: Literal["kill", "detach"] = "kill"
    # The same model with the same arguments within this many seconds returns the first task (0: off).
    dedup_seconds: float = 300.0
    max_cost_usd: float | None = None  # per call
    budget_usd: float | None = None  # per budget period, over the journal's spend
    budget_seconds: float = 86_400.0
    confirm_above_usd: float | None = None  # ask the human first (through the MCP client) above this quote
    # Under a cap or a budget, a run whose most it may cost is unknown counts as this much (None: refused).
    unpriced_run_usd: float | None = None


@dataclass(frozen=True)
class Rejected:
    """Arguments that never reached Wiro, and why."""

    errors: tuple[FieldError, ...] = ()
    reason: str = ""


@dataclass(frozen=True)
class Submitted:
    """A task Wiro accepted: its handle, what is known of it so far, and anything to tell the agent."""

    handle: TaskHandle
    slug: str
    task: Task | None  # what Run told; None for a task started earlier (a repeated call)
    notes: tuple[str, ...] = ()
    quote: Quote = UNKNOWN

    @property
    def repeated(self) -> bool:
        """The task of an earlier identical call: this call did not start it, so it never stops it."""
        return self.task is None


@dataclass(frozen=True)
class Quoted:
    """A dry run: the arguments are valid and this is what the call would cost."""

    params: dict[str, Any]
    quote: Quote


@dataclass(frozen=True)
class TaskReport:
    """What the server knows of a task after following it for a while."""

    tool: str
    slug: str
    task: Task
    finished: bool
    saved: dict[str, Path] = field(default_factory=dict[str, Path])
    previews: dict[str, bytes] = field(default_factory=dict[str, bytes])
    notes: tuple[str, ...] = ()
    sandbox: bool = False  # the built-in emulator's task: nothing is billed, and results say so


class TaskService:
    def __init__(
        self,
        client: WiroClient,
        catalog: dict[str, CatalogEntry],
        config: ServiceConfig,
        *,
        endpoint: str,
        account: str = "",
        journal: TaskJournal,
        follower: TaskFollower,
        outputs: Outputs,
        files: FileAccess | None = None,
    ) -> None:
        self.client = client
        self.catalog = dict(catalog)  # its own: models run through run_model are added here
        self.config = config
        self.endpoint = endpoint
        self.account = account or endpoint  # whose money: budgets are kept per account
        self.journal = journal
        self.follower = follower
        self.outputs = outputs
        self.files = files or FileAccess((), 0)
        self._slug_tools = {e.spec.slug.lower(): name for name, e in catalog.items()}
        # Journal rows whose ids could not be written yet: retried at every later journal write.
        self._unrecorded: dict[int, RunAnswer] = {}
        self._stopping = 0  # cancelled calls still stopping their remote tasks
        # What the latest cancelled calls did to their tasks (for a terminal: "task N stopped"): id → how.
        self.cancelled: dict[str, str] = {}

    def idle(self) -> bool:
        """True when no cancelled call is still stopping its Wiro task (a shutdown may proceed)."""
        return self._stopping == 0

    def __repr__(self) -> str:
        return f"TaskService(endpoint={self.endpoint!r}, models={len(self.catalog)})"

    def register(self, entry: CatalogEntry) -> None:
        """A model run through the catalog tools: its tasks are then reported under its name."""
        self.catalog.setdefault(entry.name, entry)
        self._slug_tools.setdefault(entry.spec.slug.lower(), entry.name)

    def replace(self, entry: CatalogEntry) -> None:
        """A newer version of a model already offered (its prices arrived with the listing)."""
        self.catalog[entry.name] = entry

    def handle(self, taskid: str | None = None, tasktoken: str | None = None) -> TaskHandle:
        return TaskHandle(taskid=taskid or "", token=tasktoken or "", endpoint=self.endpoint)

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
            if rule.kind != "file" or not isinstance(value, str | list):
                continue
            values = [str(v) for v in as_list(value)] if isinstance(value, list) else [value]
            if rule.multiple and isinstance(value, str):
                values = value.split(",")
            if all(is_remote(v.strip()) for v in values):
                continue
            if rule.multiple or rule.combine or not isinstance(value, str):
                raise LocalFileError(f"{rule.name}: local files are accepted for single-file inputs only")
            if roots is None:
                roots = await client_roots()
            local = await anyio.to_thread.run_sync(self.files.read, rule.name, value, roots)
            parts.append(FilePart(rule.file_part, local.filename, local.data, local.contenttype))
            out.pop(rule.name)
        return out, parts

    def quote(self, entry: CatalogEntry, params: dict[str, Any]) -> Quote:
        """What a call with these (valid) arguments will cost, Wiro's defaults filled in."""
        files = [r.name for r in entry.rules if r.kind == "file"]
        return quote(
            entry.spec.prices, {**defaults(entry.rules), **params}, files, entry.spec.approximate_cost
        )

    def dry_run(self, entry: CatalogEntry, arguments: dict[str, Any] | None) -> Quoted | Rejected:
        """Validate and quote; nothing is sent."""
        checked = entry.validate(arguments)
        if not checked.ok:
            return Rejected(errors=checked.errors)
        figure = self.quote(entry, checked.params)
        return self._over_cap(figure) or Quoted(checked.params, figure)

    def needs_confirmation(self, figure: Quote) -> bool:
        """Above the threshold, or with no known upper price while a threshold is set."""
        limit = self.config.confirm_above_usd
        return limit is not None and (figure.high is None or figure.high > limit + 1e-9)

    def bound(self, figure: Quote) -> float | None:
        """The most a call counts for under a cap or a budget: its quote's upper end, else (the price
        is not known before the run) WIRO_MCP_UNPRICED_RUN_USD, at least the part that is known."""
        if figure.high is not None:
            return figure.high if math.isfinite(figure.high) and figure.high >= 0 else None
        assumed = self.config.unpriced_run_usd
        low = figure.low if figure.low is not None and math.isfinite(figure.low) and figure.low >= 0 else 0.0
        return None if assumed is None else max(assumed, low)

    def _over_cap(self, figure: Quote) -> Rejected | None:
        cap = self.config.max_cost_usd
        if cap is None:
            return None
        most = self.bound(figure)
        if most is None:
            return Rejected(
                reason=f"its price is {figure.text()}, so the per-call cap of ${cap:g} (WIRO_MCP_MAX_COST_USD) "
                f"cannot be kept. {UNPRICED_HINT.format(setting='WIRO_MCP_MAX_COST_USD')}"
            )
        if most > cap + 1e-9:
            if figure.high is None:
                return Rejected(
                    reason=f"its price is {figure.text()}, counted as ${most:g} (WIRO_MCP_UNPRICED_RUN_USD), "
                    f"above the per-call cap of ${cap:g}. Raise WIRO_MCP_MAX_COST_USD, or lower "
                    "WIRO_MCP_UNPRICED_RUN_USD."
                )
            return Rejected(
                reason=f"it is quoted at {figure.text()}, above the per-call cap of ${cap:g}. Choose cheaper "
                "arguments, or raise WIRO_MCP_MAX_COST_USD."
            )
        return None

    def _budget(self, figure: Quote) -> tuple[Budget | None, Rejected | None]:
        limit = self.config.budget_usd
        if limit is None:
            return None, None
        if not self.journal.durable:
            # A budget kept in one process's memory is a budget per process and per restart.
            return None, Rejected(
                reason=f"a budget (WIRO_MCP_BUDGET_USD=${limit:g}) needs the task journal on disk, and the journal "
                f"is {self.journal.where}. Set WIRO_MCP_JOURNAL to a file this server can write, or unset "
                "WIRO_MCP_BUDGET_USD"
            )
        if self.bound(figure) is None:
            return None, Rejected(
                reason=f"its price is {figure.text()}, so the budget of ${limit:g} (WIRO_MCP_BUDGET_USD) cannot "
                f"be kept. {UNPRICED_HINT.format(setting='WIRO_MCP_BUDGET_USD')}"
            )
        return Budget(limit, time.time() - self.config.budget_seconds, self.account), None

    def _over_budget(self, over: OverBudget, figure: Quote) -> Rejected:
        left = max(over.limit_usd - over.spent_usd, 0.0)
        hours = self.config.budget_seconds / 3600
        return Rejected(
            reason=f"it is quoted at {figure.text()} and only ${left:.4f} of the ${over.limit_usd:g} budget is left "
            f"for the last {hours:g} h (spent or running: ${over.spent_usd:.4f}). Raise WIRO_MCP_BUDGET_USD, or "
            "wait for older spend to leave the period."
        )

    async def submit(
        self,
        entry: CatalogEntry,
        arguments: dict[str, Any] | None,
        *,
        client_roots: RootsProvider = _no_roots,
    ) -> Submitted | Rejected:
        """Validate, quote, read local files, write the journal row (within the budget), send Run once;
        nothing is sent on a rejection."""
        checked = entry.validate(arguments)
        if not checked.ok:
            return Rejected(errors=checked.errors)
        figure = self.quote(entry, checked.params)
        budget, refused = self._budget(figure)
        refused = self._over_cap(figure) or refused
        if refused is not None:
            return refused
        try:
            params, parts = await self._file_parts(entry.rules, checked.params, client_roots)
        except LocalFileError as exc:
            return Rejected(reason=str(exc))
        recorded = {
            **params,
            **{f"{p.part}Url": f"(local file {p.filename}, {len(p.data)} bytes)" for p in parts},
        }
        spec = entry.spec
        window = self.config.dedup_seconds
        run = NewRun(
            endpoint=self.endpoint,
            tool=entry.name,
            slug=spec.slug,
            arguments=recorded,
            fingerprint=fingerprint(spec.slug, params, parts),
            repeat_since=time.time() - window if window > 0 else None,
            quote_usd=self.bound(figure),  # what the budget reserves until the task settles
            budget=budget,
            account=self.account,
        )
        try:
            row = await self.journal.begin(run)
            # The same call, begun a moment ago by another caller, is still sending its Run: wait for its id.
            deadline = time.monotonic() + SAME_CALL_WAIT_SECONDS
            while isinstance(row, JournalEntry) and row.state == "submitting" and time.monotonic() < deadline:
                await anyio.sleep(0.1)
                row = await self.journal.begin(run)
        except JournalError as exc:
            return Rejected(
                reason=f"{exc}. A task is recorded before it is started, so nothing was sent. Fix the "
                "journal file (or set WIRO_MCP_JOURNAL to another path) and try again."
            )
        if isinstance(row, JournalEntry):
            return self._repeated(row)
        if isinstance(row, OverBudget):
            return self._over_budget(row, figure)
        answer = await self._run_once(entry, row, params, parts)
        notes = await self._record_started(row, answer)
        task = Task(
            id=answer.taskid,
            socketaccesstoken=answer.socketaccesstoken,
            status="task_queue",
            modelslugowner=spec.owner,
            modelslugproject=spec.project,
        )
        return Submitted(self.handle(answer.taskid, answer.socketaccesstoken), spec.slug, task, notes, figure)

    def _repeated(self, earlier: JournalEntry) -> Submitted | Rejected:
        """The same call again within the window: the first task, said so, instead of a second bill."""
        age = max(time.time() - earlier.created, 0.0)
        window = f"{self.config.dedup_seconds:g}"
        if earlier.taskid is None:
            return Rejected(
                reason=f"an identical call {age:.0f} s ago may have started a task whose id never came back "
                f"(state {earlier.state}, see task_list). Check Wiro's dashboard before running it again, or "
                f"change an argument; identical calls are recognised for {window} s (WIRO_MCP_DEDUP_SECONDS)."
            )
        note = (
            f"Same model and arguments as task {earlier.taskid}, started {age:.0f} s ago: that task is returned "
            f"instead of starting (and paying for) a second one. For another result, change an argument (a seed, "
            f"say); identical calls are recognised for {window} s (WIRO_MCP_DEDUP_SECONDS)."
        )
        return Submitted(self.handle(earlier.taskid, earlier.tasktoken), earlier.slug, None, (note,))

    async def _run_once(
        self, entry: CatalogEntry, row: int, params: dict[str, Any], parts: list[FilePart]
    ) -> RunAnswer:  # pyright: ignore[reportReturnType]  # a shielded CancelScope never swallows the return
        """Run once, shielded: once Run is on the wire its answer (the task id) must be read and
        recorded, or a task that is billed would be lost to a cancellation."""
        spec = entry.spec
        with anyio.CancelScope(shield=True):
            try:
                return await self.client.run(spec.owner, spec.project, params, parts)
            except WiroError as exc:
                uncertain = isinstance(exc, WiroTransportError) and exc.sent_maybe
                try:
                    if uncertain:
                        await self.journal.unknown(row, error=str(exc))
                    else:
                        await self.journal.discard(row)  # Wiro refused it: no task exists
                except JournalError as journal_exc:
                    log.error("%s (the row of this Run stays 'submitting')", journal_exc)
                raise

    async def _record_started(self, row: int, answer: RunAnswer) -> tuple[str, ...]:
        """Journal the ids, retried; if that keeps failing the ids still reach the agent and stderr."""
        with anyio.CancelScope(shield=True):
            for delay in (*JOURNAL_RETRY_DELAYS, None):
                try:
                    await self.journal.started(row, taskid=answer.taskid, tasktoken=answer.socketaccesstoken)
                    return ()
                except JournalError as exc:
                    if delay is None:
                        log.error("task %s was started but not journalled: %s", answer.taskid, exc)
                        self._unrecorded[row] = answer
                        return (
                            f"The task journal could not record this task ({exc}); keep its taskid "
                            f"{answer.taskid}: it is the only record.",
                        )
                    await anyio.sleep(delay)
        return ()  # pragma: no cover  (the loop always returns)

    # ----- following, looking, stopping
    async def follow(
        self,
        handle: TaskHandle,
        *,
        on_update: OnUpdate | None = None,
        last_known: Task | None = None,
        wait_seconds: float | None = None,
        notes: tuple[str, ...] = (),
        stop_on_cancel: bool = True,
    ) -> TaskReport:
        """Follow up to the bounded wait; on cancellation, stop the remote task (unless detached, or
        `stop_on_cancel` is off: a repeated call's cancel must not stop the first caller's task)."""
        latest: list[Task] = [last_known] if last_known else []

        async def remember(task: Task) -> None:
            latest.append(task)
            if on_update is not None:
                await on_update(task)

        wait = self.config.wait_seconds if wait_seconds is None else wait_seconds
        try:
            if last_known is not None and on_update is not None:
                await on_update(last_known)  # inside the try: a cancel here must still stop the task
            outcome = await self.follower.follow(
                handle, wait_seconds=wait, on_update=remember, last_known=last_known
            )
        except anyio.get_cancelled_exc_class():
            if not stop_on_cancel:
                log.info(
                    "call cancelled; task %s left running (an earlier identical call started it)",
                    handle.label,
                )
                self._said_of_cancel(handle.label, "left running (an earlier identical call started it)")
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
            lost = f"Following the task failed ({exc}); it may still be running. Try task_wait later."
            return await self._report(latest[-1], False, (*notes, lost))
        return await self._report(outcome.task, outcome.finished, notes)

    def _said_of_cancel(self, label: str, how: str) -> None:
        self.cancelled.pop(label, None)
        self.cancelled[label] = how
        while len(self.cancelled) > MAX_CANCELS_KEPT:  # a long-running server forgets the oldest
            self.cancelled.pop(next(iter(self.cancelled)))

    async def _stop_on_cancel(self, handle: TaskHandle, last: Task | None) -> None:
        if self.config.on_cancel == "detach":
            log.info("call cancelled; task %s left running (on_cancel=detach)", handle.label)
            self._said_of_cancel(handle.label, "left running (WIRO_MCP_ON_CANCEL=detach)")
            return
        self._said_of_cancel(handle.label, "may still be running: stopping it failed")
        queued = last is not None and last.status in QUEUED_STATUSES
        # Cancel takes a task out of the queue; Kill stops a running one. A queued task may start
        # meanwhile, so Kill is the fallback when Cancel is refused.
        attempts = (self.client.cancel, self.client.kill) if queued else (self.client.kill,)
        with anyio.move_on_after(STOP_SECONDS):
            for stop in attempts:
                try:
                    stopped = await stop(taskid=handle.taskid or None, tasktoken=handle.token or None)
                except WiroError as exc:
                    log.warning("call cancelled; %s of task %s failed: %s", stop.__name__, handle.label, exc)
                    continue
                log.info("call cancelled; task %s stopped by %s", handle.label, stop.__name__)
                self._said_of_cancel(handle.label, "stopped")
                if stopped is not None:
                    await self._journal_update(stopped)
                return

    async def _journal_update(self, task: Task) -> None:
        if not task.id:
            return
        for row, answer in list(self._unrecorded.items()):
            try:
                await self.journal.started(row, taskid=answer.taskid, tasktoken=answer.socketaccesstoken)
                del self._unrecorded[row]
            except JournalError:
                break
        update = TaskUpdate(
            state=task.state,
            status=task.status,
            outputs=[
                o.model_dump(mode="json", include={"url", "name", "contenttype", "size"})
                for o in task.file_outputs
            ],
            error=task.debugerror if task.state == "failed" else "",
            cost_usd=task.cost_usd,
        )
        try:
            await self.journal.update(endpoint=self.endpoint, taskid=task.id, update=update)
        except JournalError as exc:
            log.warning("%s", exc)

    async def _report(self, task: Task, finished: bool, notes: tuple[str, ...] = ()) -> TaskReport:
        await self._journal_update(task)
        tool, slug = self.tool_for(task)
        saved: dict[str, Path] = {}
        if task.state == "completed" and task.file_outputs:
            saved, note = await self.outputs.save(tool or slug or "task", task.id, task.file_outputs)
            notes = (*notes, note) if note else notes
        previews = await self.outputs.previews(task.file_outputs, saved)
        return TaskReport(
            tool=tool,
            slug=slug,
            task=task,
            finished=finished,
            saved=saved,
            previews=previews,
            notes=notes,
            sandbox=self.endpoint.startswith(SANDBOX_ENDPOINT),
        )

    async def look(self, handle: TaskHandle) -> TaskReport:
        task = await self.client.detail(taskid=handle.taskid or None, tasktoken=handle.token or None)
        return await self._report(task, task.state in TERMINAL_STATES)

    async def stop(self, handle: TaskHandle, *, kill: bool) -> TaskReport:
        """Kill (or Cancel) the task; when Wiro refuses because it is in the other phase (Cancel is for
        queued tasks, Kill for running ones), the other is used, so either stops it."""
        ids = {"taskid": handle.taskid or None, "tasktoken": handle.token or None}
        first, second = (
            (self.client.kill, self.client.cancel) if kill else (self.client.cancel, self.client.kill)
        )
        try:
            stopped = await first(**ids)
        except WiroValidationError as refused:
            try:
                stopped = await second(**ids)
            except WiroValidationError:
                task = await self.client.detail(**ids)
                if task.state not in TERMINAL_STATES:
                    raise refused from None
                return await self._report(task, True, (f"The task had already ended ({task.status}).",))
        task = stopped if stopped is not None else await self.client.detail(**ids)
        return await self._report(task, task.state in TERMINAL_STATES)

    async def recent(
        self,
        *,
        tool: str | None = None,
        state: str | None = None,
        since: float | None = None,
        limit: int = 20,
    ) -> list[JournalEntry]:
        """This endpoint's tasks from the journal, newest first."""
        query = Query(endpoint=self.endpoint, tool=tool, state=state, since=since, limit=limit)
        return await self.journal.recent(query)
