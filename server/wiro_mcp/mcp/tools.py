"""The tools, as objects: each carries its MCP definition and its `call`. One `ModelTool` per catalog
model (one code path for every model), and the task tools."""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import mcp_types as types
from mcp.server import ServerRequestContext
from mcp.server.apps import client_supports_apps

from wiro_mcp.catalog.constraints import MAX_SHOWN_IN_DESCRIPTION
from wiro_mcp.catalog.load import CatalogEntry
from wiro_mcp.catalog.validate import clip, one_line
from wiro_mcp.errors import JournalError
from wiro_mcp.journal import ACTIVE, JOURNAL_STATES
from wiro_mcp.live_catalog import LiveCatalog
from wiro_mcp.mcp.callers import caller_of, confirmation_scope
from wiro_mcp.mcp.client_view import reported, rerun_call, rerun_from_journal
from wiro_mcp.mcp.confirm import confirm
from wiro_mcp.mcp.progress import follow_with_progress
from wiro_mcp.mcp.results import (
    MODEL_OUTPUT_SCHEMA,
    OUTPUT_SCHEMA,
    error_result,
    lost_follow_result,
    rejected_result,
    task_list_result,
)
from wiro_mcp.tasks import Prepared, Rejected, TaskReport, TaskService
from wiro_mcp.wiro.models import TaskHandle

log = logging.getLogger(__name__)
Context = ServerRequestContext[Any]
RootsLister = Callable[[Context], Awaitable[Sequence[Path]]]


class McpTool(Protocol):
    @property
    def definition(self) -> types.Tool: ...

    async def call(
        self, ctx: Context, arguments: dict[str, Any]
    ) -> types.CallToolResult | types.InputRequiredResult: ...


async def run_entry(
    service: TaskService,
    entry: CatalogEntry,
    arguments: dict[str, Any],
    ctx: Context,
    roots: RootsLister,
    label: str = "",
    confirmed: Callable[[Prepared], Awaitable[bool]] | None = None,
) -> types.CallToolResult | types.InputRequiredResult:
    """prepare → ask the human when the quote calls for it (unless `confirmed` says they already said
    yes to exactly this call) → start one task of `entry` → follow it for the bounded wait → the result."""
    label = label or entry.name
    prepared = service.prepare(entry, arguments)
    if isinstance(prepared, Rejected):
        return rejected_result(label, prepared)
    threshold = service.config.confirm_above_usd
    if confirmed is not None and not await confirmed(prepared):
        return rejected_result(label, Rejected(reason=NOT_CONFIRMED))
    if confirmed is None and threshold is not None and service.needs_confirmation(prepared.quote):
        scope = confirmation_scope(service.endpoint, ctx)
        answer = await confirm(ctx, label, prepared, threshold, scope=scope, once=service.journal.first_use)
        if answer is not None:
            return answer
    started = await service.start(prepared, client_roots=lambda: roots(ctx), owner=caller_of(ctx).owner)
    if isinstance(started, Rejected):
        return rejected_result(label, started)
    try:
        report = await follow_with_progress(
            service,
            ctx,
            started.handle,
            last_known=started.task,
            notes=started.notes,
            stop_on_cancel=not started.repeated,
            model="" if started.repeated else started.slug,  # a repeat's follow did not begin at its Run
        )
    except Exception:
        # Whatever went wrong after Run, the agent gets the ids of the task it paid for.
        log.exception("%s: following task %s failed", label, started.handle.label)
        return lost_follow_result(label, started)
    rerun = rerun_call(entry, prepared.params, report.tool) if client_supports_apps(ctx) else None
    return await reported(service, ctx, report, started.quote, repeat_age=started.repeat_age, rerun=rerun)


NOT_CONFIRMED = "the confirmation is not valid for this call (used already, expired, or altered)"
# What an agent must know of every model tool, in the MCP layer's words (the catalog's own description
# knows no tool names).
MODEL_TOOL_ADVICE = "Unfinished? task_wait; calling again bills twice."


class ModelTool:
    """Starts a task of one catalog model and follows it for the bounded wait."""

    def __init__(
        self, entry: CatalogEntry, service: TaskService, roots: RootsLister, live: LiveCatalog
    ) -> None:
        self.entry = entry
        self._service = service
        self._roots = roots
        self._live = live
        self.definition = types.Tool(
            name=entry.name,
            title=entry.spec.title,
            description=f"{entry.description}\n{MODEL_TOOL_ADVICE}"
            + (
                " model_info lists every combination."
                if len(entry.constraints) > MAX_SHOWN_IN_DESCRIPTION
                else ""
            ),
            input_schema=entry.input_schema,
            output_schema=MODEL_OUTPUT_SCHEMA,
            # Only what differs from the defaults (not read-only, not idempotent, open world): bytes count.
            annotations=types.ToolAnnotations(destructive_hint=False),
        )

    def __repr__(self) -> str:
        return f"ModelTool({self.entry.name!r})"

    async def call(
        self, ctx: Context, arguments: dict[str, Any]
    ) -> types.CallToolResult | types.InputRequiredResult:
        entry = await self._live.priced(self.entry)  # a cold cache: the first listing may price it
        return await run_entry(self._service, entry, arguments, ctx, self._roots)


MAX_ID_CHARS = 200
_TASK_IDS: dict[str, Any] = {
    "taskid": {
        "type": "string",
        "maxLength": MAX_ID_CHARS,
        "description": "Wiro's task id (a number is accepted too). Give this or tasktoken.",
    },
    "tasktoken": {"type": "string", "maxLength": MAX_ID_CHARS, "description": "Instead of taskid."},
}
TASK_TOOL_NAMES = frozenset({"task_status", "task_wait", "task_kill", "task_cancel", "task_list"})
LOOK = types.ToolAnnotations(read_only_hint=True)
STOP = types.ToolAnnotations(idempotent_hint=True)


def check_arguments(name: str, schema: dict[str, Any], arguments: dict[str, Any]) -> str | None:
    """A short message naming the field whose value does not fit `schema` (NaN and infinities included)."""
    import jsonschema  # loads with the first call, not at start-up

    try:
        jsonschema.validate(arguments, schema)
    except jsonschema.ValidationError as exc:
        where = ".".join(str(p) for p in exc.absolute_path)
        problem = clip(exc.message, 300)
        return f"{name}: invalid arguments: {clip(where, 60) + ': ' if where else ''}{problem}."
    for key, value in arguments.items():
        if isinstance(value, float) and not math.isfinite(value):
            return f"{name}: invalid arguments: {key} must be a finite number."
    return None


class CheckedTool:
    """A server tool whose arguments are checked against its own schema before `run` sees them."""

    definition: types.Tool

    def normalised(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """The arguments as the schema expects them (a tool accepting a looser form says how)."""
        return arguments

    async def call(
        self, ctx: Context, arguments: dict[str, Any]
    ) -> types.CallToolResult | types.InputRequiredResult:
        arguments = self.normalised(arguments)
        problem = check_arguments(self.definition.name, self.definition.input_schema, arguments)
        if problem:
            return error_result(problem)
        return await self.run(ctx, arguments)

    async def run(
        self, ctx: Context, arguments: dict[str, Any]
    ) -> types.CallToolResult | types.InputRequiredResult:
        raise NotImplementedError


# What a task tool does with the handle it was given (and its other arguments).
HandleAction = Callable[[Context, TaskHandle, dict[str, Any]], Awaitable[TaskReport]]


class HandleTool(CheckedTool):
    """A task tool that takes a task handle (taskid or tasktoken) and answers like a model tool."""

    def __init__(
        self,
        name: str,
        title: str,
        description: str,
        annotations: types.ToolAnnotations,
        service: TaskService,
        action: HandleAction,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self._service = service
        self._action = action
        self.definition = types.Tool(
            name=name,
            title=title,
            description=description,
            input_schema={
                "type": "object",
                "properties": {**_TASK_IDS, **(extra or {})},
                # Not `anyOf` required taskid|tasktoken: model APIs refuse anyOf at the root of a tool's
                # schema, so "one of the two" is checked in `call`, with a clear error.
                "additionalProperties": False,
            },
            output_schema=OUTPUT_SCHEMA,
            annotations=annotations,
        )

    def __repr__(self) -> str:
        return f"HandleTool({self.definition.name!r})"

    def normalised(self, arguments: dict[str, Any]) -> dict[str, Any]:
        return {**arguments, **{k: id_text(arguments[k]) for k in _TASK_IDS if k in arguments}}

    async def run(self, ctx: Context, arguments: dict[str, Any]) -> types.CallToolResult:
        name = self.definition.name
        taskid, token = (str(arguments.get(k) or "").strip() for k in ("taskid", "tasktoken"))
        if not taskid and not token:
            return error_result(
                f"{name}: give a taskid (or a tasktoken): the task, as a model tool's result or task_list shows it."
            )
        for field, value in (("taskid", taskid), ("tasktoken", token)):
            if not value.isprintable():
                return error_result(
                    f"{name}: invalid arguments: {field}: {one_line(value, 40)} is not an id."
                )
        handle = self._service.handle(taskid or None, token or None)
        try:
            theirs = await self._service.belongs_to(handle, caller_of(ctx).owner)
        except JournalError as exc:
            return error_result(f"{name}: {exc}. Nothing was sent to Wiro.")
        if not theirs:
            # The same words whether the task is someone else's or unknown: nothing is told of others.
            return error_result(
                f"{name}: no task {one_line(taskid or token, 40)} of yours is known here; task_list shows yours. "
                "Nothing was sent to Wiro."
            )
        report = await self._action(ctx, handle, arguments)
        rerun = await rerun_from_journal(self._service, report) if client_supports_apps(ctx) else None
        return await reported(self._service, ctx, report, rerun=rerun)


def id_text(value: Any) -> Any:
    """A task id given as a number (Wiro's ids are numbers) is its digits; anything else is left to
    the schema check, which names the field."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 10**40:
        return str(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e40:
        return str(int(value))
    return value


TASK_LIST_OUTPUT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "tasks": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    # One type per branch: a `type` array does not map onto single-type schema dialects.
                    "taskid": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                    "tool": {"type": "string"},
                    "state": {"type": "string"},
                    "created": {"type": "string", "description": "UTC, ISO 8601"},
                },
            },
        },
        "journal": {"type": "string"},
    },
    "required": ["tasks"],
}


class TaskListTool(CheckedTool):
    def __init__(self, service: TaskService) -> None:
        self._service = service
        self.definition = types.Tool(
            name="task_list",
            title="Recent tasks",
            description=(
                "Tasks this server started, newest first, from its journal (survives restarts): find one to "
                "resume with task_wait. State submitting/unknown: Run's answer never came back, so Wiro may "
                "have started (and billed) it."
            ),
            input_schema={
                "type": "object",
                "properties": {
                    "tool": {"type": "string", "maxLength": 200},
                    "state": {
                        "type": "string",
                        "enum": [ACTIVE, *JOURNAL_STATES],
                        "description": "active: queued or running.",
                    },
                    "since": {
                        "type": "string",
                        "maxLength": 40,
                        "description": "UTC time, e.g. 2026-11-22T10:00Z",
                    },
                    "limit": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
                },
                "additionalProperties": False,
            },
            output_schema=TASK_LIST_OUTPUT,
            annotations=LOOK,
        )

    def __repr__(self) -> str:
        return "TaskListTool()"

    async def run(self, ctx: Context, arguments: dict[str, Any]) -> types.CallToolResult:
        since: float | None = None
        if arguments.get("since"):
            try:
                since = utc_time(str(arguments["since"]))
            except ValueError:
                return error_result(
                    f"task_list: since {clip(str(arguments['since']), 40)!r} is not a time; use ISO 8601 in UTC, "
                    "e.g. 2026-11-22T10:00Z."
                )
        try:
            entries = await self._service.recent(
                tool=arguments.get("tool"),
                state=arguments.get("state"),
                since=since,
                limit=int(arguments.get("limit", 20)),
                owner=caller_of(ctx).owner,
            )
        except JournalError as exc:
            return error_result(f"task_list: {exc}")
        return task_list_result(entries, self._service.journal.where)


def utc_time(text: str) -> float:
    """ISO 8601 → epoch seconds; a time without a zone is taken as UTC."""
    moment = datetime.fromisoformat(text.strip().replace("z", "Z").replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def task_tools(service: TaskService) -> list[McpTool]:
    most = service.config.wait_seconds
    wait_arg = {
        "wait_seconds": {
            "type": "number",
            "minimum": 0,
            "maximum": most,
            "description": f"Default and most: {most:g} s.",
        }
    }

    async def look(ctx: Context, handle: TaskHandle, arguments: dict[str, Any]) -> TaskReport:
        return await service.look(handle)

    async def wait(ctx: Context, handle: TaskHandle, arguments: dict[str, Any]) -> TaskReport:
        seconds = min(float(arguments.get("wait_seconds", most)), most)
        return await follow_with_progress(service, ctx, handle, wait_seconds=seconds)

    async def kill(ctx: Context, handle: TaskHandle, arguments: dict[str, Any]) -> TaskReport:
        return await service.stop(handle, kill=True)

    async def cancel(ctx: Context, handle: TaskHandle, arguments: dict[str, Any]) -> TaskReport:
        return await service.stop(handle, kill=False)

    not_billed = "A stopped task is not billed (Wiro bills only successful runs)."
    return [
        HandleTool(
            "task_status",
            "Task status",
            "One look at a Wiro task: state, outputs, cost. Does not wait.",
            LOOK,
            service,
            look,
        ),
        HandleTool(
            "task_wait",
            "Wait for a task",
            "Keep waiting for a task started earlier (even before a restart), with progress, up to a bounded "
            "wait; returns its outputs, or the handle again if still running. Never starts or bills a task.",
            LOOK,
            service,
            wait,
            wait_arg,
        ),
        HandleTool(
            "task_kill",
            "Stop a task",
            f"Stop a Wiro task, running or queued; its work is lost. {not_billed}",
            STOP,
            service,
            kill,
        ),
        HandleTool(
            "task_cancel",
            "Cancel a task",
            f"Take a queued Wiro task out of the queue (a running one is killed instead). {not_billed}",
            STOP,
            service,
            cancel,
        ),
        TaskListTool(service),
    ]
