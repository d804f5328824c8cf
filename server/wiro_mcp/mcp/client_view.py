"""What this client is shown of a task. Where it renders the task viewer (MCP Apps), the result leaves
the image and audio previews out (the viewer plays the files themselves) unless configured, and
carries, for the viewer alone, "Run again with a new seed": the call that repeats the task with only
its seed changed, in the result's `_meta` (for the app, not the model). The seed is drawn here, once
per result, so a double click sends one identical call (handed the first task), not two paid runs.
The call goes through tools/call like any other: validation, caps, budget and confirmation apply."""

from __future__ import annotations

import secrets
from typing import Any

import mcp_types as types
from mcp.server import ServerRequestContext
from mcp.server.apps import client_supports_apps

from wiro_mcp.catalog.load import CatalogEntry
from wiro_mcp.catalog.pricing import Quote
from wiro_mcp.errors import JournalError
from wiro_mcp.jsonish import as_dict
from wiro_mcp.mcp.results import task_result
from wiro_mcp.tasks import TaskReport, TaskService
from wiro_mcp.tasks.start import LOCAL_FILE_MARK, SESSION_FIELD, USER_FIELD

RERUN_KEY = "wiro-mcp/rerun"  # where a result's _meta carries the call for the viewer's button
SEED_FIELD = "seed"
MAX_SEED = 2**31 - 1  # what every seed field Wiro documents takes
RERUN_STATES = frozenset({"completed", "failed"})  # a task that ended by itself
CONVERSATION_FIELDS = frozenset({SESSION_FIELD, USER_FIELD})  # a new run starts a new conversation


def _seed_for(field: dict[str, Any]) -> int | str:
    low, high = field.get("minimum", 1), field.get("maximum", MAX_SEED)
    if not isinstance(low, int | float) or not isinstance(high, int | float) or high < low:
        low, high = 1, MAX_SEED
    low, high = int(max(low, 0)), int(min(high, MAX_SEED))
    seed = low + secrets.randbelow(max(high - low, 0) + 1)
    return str(seed) if field.get("type") == "string" else seed


def rerun_call(entry: CatalogEntry, params: dict[str, Any], tool: str) -> dict[str, Any] | None:
    """The call that runs `params` again with a new seed: through `tool` (the model's typed tool), or
    run_model when it has none; None for a model without a seed."""
    fields = as_dict(entry.input_schema.get("properties"))
    name = next((k for k in fields if k.lower() == SEED_FIELD), None)
    if name is None:
        return None
    arguments = {k: v for k, v in params.items() if k not in CONVERSATION_FIELDS}
    arguments[name] = _seed_for(as_dict(fields[name]))
    if tool:
        return {"tool": tool, "arguments": arguments}
    return {"tool": "run_model", "arguments": {"model": entry.spec.slug, "arguments": arguments}}


async def rerun_from_journal(service: TaskService, report: TaskReport) -> dict[str, Any] | None:
    """The same, for a task looked at or waited on later: its arguments as the journal kept them.
    None where they cannot be sent again (a file sent from disk is recorded by name only)."""
    entry = service.offered.get(report.tool) if report.tool else None
    if entry is None or not report.task.id or report.task.state not in RERUN_STATES:
        return None
    try:
        found = await service.journal.find(endpoint=service.endpoint, taskid=report.task.id, tasktoken=None)
    except JournalError:  # a nicety: the result stands without it
        return None
    if found is None or any(str(v).startswith(LOCAL_FILE_MARK) for v in found.arguments.values()):
        return None
    call = rerun_call(entry, found.arguments, report.tool)
    if call is None:
        return None
    import jsonschema  # loads with the first call, not at start-up

    try:  # what Wiro was sent may name a field otherwise than the tool does: offered only if it takes it
        jsonschema.validate(call["arguments"], entry.input_schema)
    except jsonschema.ValidationError:
        return None
    return call


def inline_media(service: TaskService, ctx: ServerRequestContext[Any]) -> bool:
    """Whether this client's results carry image and audio previews: not where the viewer plays the
    files themselves, unless configured."""
    return not client_supports_apps(ctx) or service.config.preview_beside_viewer


async def reported(
    service: TaskService,
    ctx: ServerRequestContext[Any],
    report: TaskReport,
    quote: Quote | None = None,
    *,
    repeat_age: float | None = None,
    rerun: dict[str, Any] | None = None,
) -> types.CallToolResult:
    """A task's result for this client. Where the viewer shows it, the image and audio previews are
    left out (the viewer plays the files themselves) unless configured, and a finished task's result
    carries, for the viewer alone, the call that runs it again with a new seed."""
    viewer = client_supports_apps(ctx)  # it renders the task viewer
    previews = await service.previews(report, media=inline_media(service, ctx))
    result = task_result(report, previews, quote, repeat_age=repeat_age)
    if viewer and rerun is not None and report.task.state in RERUN_STATES:
        result.meta = {**(result.meta or {}), RERUN_KEY: rerun}
    return result
