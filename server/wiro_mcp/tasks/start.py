"""Starting a task: prepare (validate, quote, the cap: nothing sent), then start (the budget, local
files, the journal row written first, Run sent once and shielded, its ids journalled)."""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import anyio.to_thread

from wiro_mcp.catalog.fields import FieldRule
from wiro_mcp.catalog.load import CatalogEntry
from wiro_mcp.errors import JournalError, LocalFileError, WiroError, WiroTransportError
from wiro_mcp.files import FileAccess, is_remote
from wiro_mcp.journal import Budget, JournalEntry, NewRun, OverBudget, TaskJournal
from wiro_mcp.jsonish import as_list
from wiro_mcp.tasks import cost
from wiro_mcp.tasks.ledger import Ledger
from wiro_mcp.tasks.records import Prepared, Rejected, ServiceConfig, Started
from wiro_mcp.wiro.client import FilePart, WiroClient
from wiro_mcp.wiro.models import RunAnswer, Task, TaskHandle

log = logging.getLogger(__name__)

# The client's own roots, asked for only when an argument names a local file.
RootsProvider = Callable[[], Awaitable[Sequence[Path]]]
SAME_CALL_WAIT_SECONDS = 10.0
MAX_LOCAL_FILES = 20  # per input of several files
REALTIME_REFUSAL = (
    "{slug} is a realtime model: once started it waits for live audio over a socket, which a tool call "
    "cannot carry, so it would be billed and left hanging. Use a model that takes "
    "its whole input at once instead (search the catalog for text-to-speech, speech-to-text or llm)."
)
# Wiro keeps an LLM conversation per session_id and user_id (llm-chat-streaming.md): a call that
# leaves them out starts a new conversation, under this server's own user id for the account.
SESSION_FIELD, USER_FIELD = "session_id", "user_id"
LOCAL_FILE_MARK = "(local file "  # how the journal records a file sent from disk (its bytes are not kept)


async def no_roots() -> Sequence[Path]:
    return ()


def fingerprint(slug: str, params: dict[str, Any], parts: Sequence[FilePart]) -> str:
    """The same model (by its slug: two models may share a tool name's plain form) with the same
    arguments (local files by their bytes) gives the same text."""
    files: dict[str, str] = {}
    seen: Counter[str] = Counter()
    for p in parts:  # several files of one input: `part`, `part#1`, …
        key = f"{p.part}#{seen[p.part]}" if seen[p.part] else p.part
        seen[p.part] += 1
        files[key] = hashlib.sha256(p.data).hexdigest()
    canonical = json.dumps(
        {"model": slug.lower(), "params": params, "files": files}, sort_keys=True, default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def prepare(
    entry: CatalogEntry, arguments: dict[str, Any] | None, config: ServiceConfig
) -> Prepared | Rejected:
    """Validate and quote once; the per-call cap is checked here. Nothing is sent."""
    if entry.spec.realtime:
        return Rejected(reason=REALTIME_REFUSAL.format(slug=entry.spec.slug))
    checked = entry.validate(arguments)
    if not checked.ok:
        return Rejected(errors=checked.errors)
    figure = cost.quote_for(entry, checked.params)
    return cost.over_cap(figure, config, entry, checked.params) or Prepared(
        entry, checked.params, figure, checked.filled
    )


class Starter:
    def __init__(
        self,
        client: WiroClient,
        config: ServiceConfig,
        *,
        endpoint: str,
        account: str,
        journal: TaskJournal,
        ledger: Ledger,
        files: FileAccess,
    ) -> None:
        self.client = client
        self.config = config
        self.endpoint = endpoint
        self.account = account
        self.journal = journal
        self.ledger = ledger
        self.files = files

    def __repr__(self) -> str:
        return f"Starter(endpoint={self.endpoint!r})"

    async def _file_parts(
        self, rules: Sequence[FieldRule], params: dict[str, Any], client_roots: RootsProvider
    ) -> tuple[dict[str, Any], list[FilePart]]:
        """Local paths in file fields → file parts for a multipart Run (read off the event loop), as
        Wiro's model-parameters page documents them: a single file in `{id}` (with `{id}Url` empty);
        several in repeated `{id}` parts, the URLs of the same field kept in `{id}Url` (comma-separated,
        a multifileinput) or beside the files in `{id}` itself (a combinefileinput)."""
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
            values = [v.strip() for v in values if v.strip()]
            remote = [v for v in values if is_remote(v)]
            local = [v for v in values if not is_remote(v)]
            if not local:
                continue
            if len(local) > MAX_LOCAL_FILES:
                raise LocalFileError(f"{rule.name}: at most {MAX_LOCAL_FILES} local files per input")
            if roots is None:
                roots = await client_roots()
            for path in local:
                found = await anyio.to_thread.run_sync(self.files.read, rule.name, path, roots)
                parts.append(
                    FilePart(rule.file_part, found.filename, found.data, found.contenttype, not rule.combine)
                )
            if rule.combine and remote:
                out[rule.name] = remote
            elif rule.multiple and remote:
                out[rule.name] = ",".join(remote)
            else:
                out.pop(rule.name)
        return out, parts

    async def start(
        self, prepared: Prepared, client_roots: RootsProvider = no_roots, owner: str = ""
    ) -> Started | Rejected:
        """The budget, local files, the journal row (checked against repeats and the budgets in one
        step), then Run once; nothing is sent on a rejection. `owner` is who starts it ("" on a
        server for one person): repeats and the budget per person are theirs."""
        entry, figure = prepared.entry, prepared.quote
        budget = cost.budget_for(
            figure, self.config, account=self.account, durable=self.journal.durable, where=self.journal.where
        )
        if isinstance(budget, Rejected):
            return budget
        try:
            params, parts = await self._file_parts(entry.rules, prepared.params, client_roots)
        except LocalFileError as exc:
            return Rejected(reason=str(exc))
        sent = self._in_conversation(entry, params, owner)
        row = await self._begin(self._new_run(prepared, params, sent, parts, budget, owner))
        if isinstance(row, Rejected | Started):
            return row
        if isinstance(row, OverBudget):
            return cost.over_budget(row, figure, self.config, entry, prepared.params)
        try:  # cancelled while the row was being written: nothing is sent
            await anyio.lowlevel.checkpoint_if_cancelled()
        except anyio.get_cancelled_exc_class():
            with anyio.CancelScope(shield=True):
                await self._settle_unstarted(row)
            raise
        answer = await self._run_once(entry, row, sent, parts)
        notes = (*prepared.notes, *await self.ledger.started(row, answer))
        spec = entry.spec
        task = Task(
            id=answer.taskid,
            socketaccesstoken=answer.socketaccesstoken,
            status="task_queue",
            modelslugowner=spec.owner,
            modelslugproject=spec.project,
        )
        handle = TaskHandle(answer.taskid, answer.socketaccesstoken, self.endpoint)
        return Started(handle, spec.slug, task, notes, figure)

    def _in_conversation(self, entry: CatalogEntry, params: dict[str, Any], owner: str) -> dict[str, Any]:
        """A chat model's arguments with a new session_id (and this account's and person's user_id)
        where left out."""
        fields = {r.name for r in entry.rules}
        filled = dict(params)
        if SESSION_FIELD in fields and not str(params.get(SESSION_FIELD) or "").strip():
            filled[SESSION_FIELD] = str(uuid.uuid4())
        if USER_FIELD in fields and not str(params.get(USER_FIELD) or "").strip():
            person = f"/{owner}" if owner else ""  # one person's id stays what it was before owners
            filled[USER_FIELD] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"wiro-mcp:{self.account}{person}"))
        return filled

    def _new_run(
        self,
        prepared: Prepared,
        params: dict[str, Any],
        sent: dict[str, Any],
        parts: list[FilePart],
        budget: Budget | None,
        owner: str,
    ) -> NewRun:
        """The journal row of a Run of `sent`; a repeat is recognised by the agent's own `params` (a
        session filled in here is new each time, and must not make an identical call look new)."""
        local: dict[str, list[str]] = {}
        for p in parts:
            local.setdefault(f"{p.part}Url", []).append(f"{p.filename}, {len(p.data)} bytes")
        recorded = {
            **sent,
            **{field: f"{LOCAL_FILE_MARK}{'; '.join(files)})" for field, files in local.items()},
        }
        spec, window = prepared.entry.spec, self.config.dedup_seconds
        return NewRun(
            endpoint=self.endpoint,
            tool=prepared.entry.name,
            slug=spec.slug,
            arguments=recorded,
            fingerprint=fingerprint(spec.slug, params, parts),
            repeat_since=time.time() - window if window > 0 else None,
            quote_usd=cost.bound(prepared.quote, self.config),  # what the budget reserves until it settles
            budget=budget,
            account=self.account,
            owner=owner,
        )

    async def _begin(self, run: NewRun) -> int | OverBudget | Started | Rejected:
        """The journal row for `run`; or the task of an identical call started a moment ago."""
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
        return self._repeated(row) if isinstance(row, JournalEntry) else row

    async def _settle_unstarted(self, row: int, error: WiroError | None = None) -> None:
        """The row of a Run that started no task we know of: discarded when none exists (never sent,
        or refused by Wiro), marked unknown when `error` says the Run may have reached Wiro."""
        try:
            if isinstance(error, WiroTransportError) and error.sent_maybe:
                await self.journal.unknown(row, error=str(error))
            else:
                await self.journal.discard(row)
        except JournalError as exc:
            log.error("%s (the row of this Run stays 'submitting')", exc)

    def _repeated(self, earlier: JournalEntry) -> Started | Rejected:
        """The same call again within the window: the first task, said so, instead of a second bill."""
        age = max(time.time() - earlier.created, 0.0)
        window = f"{self.config.dedup_seconds:g}"
        if earlier.taskid is None:
            return Rejected(
                reason=f"an identical call {age:.0f} s ago may have started a task whose id never came back "
                f"(state {earlier.state} in the task journal). Check Wiro's dashboard before running it again, or "
                f"change an argument; identical calls are recognised for {window} s (WIRO_MCP_DEDUP_SECONDS)."
            )
        # Said first, by the result: "Not a new run: …"; the note only says how to get another.
        note = (
            f"For another result, change an argument (a seed, say); identical calls are recognised for "
            f"{window} s (WIRO_MCP_DEDUP_SECONDS)."
        )
        handle = TaskHandle(earlier.taskid, earlier.tasktoken, self.endpoint)
        return Started(handle, earlier.slug, None, (note,), repeat_age=age)

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
                await self._settle_unstarted(row, exc)
                raise
