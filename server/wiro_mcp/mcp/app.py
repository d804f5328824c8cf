"""The MCP server: the low-level `mcp` Server built from the catalog and the task service."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import anyio
import jsonschema
import mcp_types as types
from mcp.server import Server, ServerRequestContext

from wiro_mcp import __version__
from wiro_mcp.catalog.load import CatalogEntry
from wiro_mcp.errors import WiroError, WiroTransportError
from wiro_mcp.mcp.results import error_result, rejected_result, task_result
from wiro_mcp.mcp.tool_defs import model_tool, task_tools
from wiro_mcp.service import Rejected, TaskService
from wiro_mcp.wiro.models import STATUS_ORDER, STATUS_WORDS, Task

log = logging.getLogger(__name__)

INSTRUCTIONS = (
    "Each model tool starts a paid Wiro generation and waits a bounded time for it. If a result says the task "
    "is still running, call task_wait with its taskid; never call the model tool again for the same request. "
    "task_list shows tasks started earlier, even before a restart."
)


class Progress:
    """Turns Wiro statuses into MCP progress notifications that only ever go forward."""

    def __init__(self, ctx: ServerRequestContext[Any]) -> None:
        self._ctx = ctx
        self._done = 0

    async def __call__(self, task: Task) -> None:
        step = STATUS_ORDER.index(task.status) + 1 if task.status in STATUS_ORDER else self._done
        self._done = max(self._done, step)
        words = STATUS_WORDS.get(task.status, task.status)
        await self._ctx.session.report_progress(
            self._done, len(STATUS_ORDER), f"Wiro: {words} ({task.status})"
        )


class WiroMcp:
    def __init__(
        self, service: TaskService, *, preview: bool = True, preview_max_bytes: int = 1_000_000
    ) -> None:
        self.service = service
        self.catalog: dict[str, CatalogEntry] = service.catalog
        self.preview_max_bytes = preview_max_bytes if preview else 0
        max_wait = service.config.wait_seconds
        self.tools = [model_tool(e) for e in self.catalog.values()] + task_tools(max_wait)
        self._schemas = {t.name: t.input_schema for t in self.tools}
        self.server: Server[Any] = Server(
            "wiro-mcp",
            version=__version__,
            title="Wiro models",
            instructions=INSTRUCTIONS,
            on_list_tools=self._list_tools,
            on_call_tool=self._call_tool,
        )

    async def _list_tools(
        self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=self.tools)

    async def _call_tool(
        self, ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        name, args = params.name, dict(params.arguments or {})
        try:
            if name in self.catalog:
                return await self._model_call(ctx, self.catalog[name], args)
            if name in self._schemas:
                return await self._task_call(ctx, name, args)
            return error_result(f"Unknown tool {name!r}.")
        except WiroTransportError as exc:
            return error_result(_transport_message(name, exc))
        except WiroError as exc:
            code = f", code {exc.code}" if exc.code is not None else ""
            return error_result(f"{name}: Wiro error ({exc.kind}{code}): {exc.message}")

    async def _model_call(
        self, ctx: ServerRequestContext[Any], entry: CatalogEntry, args: dict[str, Any]
    ) -> types.CallToolResult:
        outcome = await self.service.start(
            entry, args, on_update=Progress(ctx), client_roots=lambda: self._client_roots(ctx)
        )
        if isinstance(outcome, Rejected):
            return rejected_result(entry.name, outcome)
        return await task_result(outcome, self.service.fetcher, self.preview_max_bytes)

    async def _task_call(
        self, ctx: ServerRequestContext[Any], name: str, args: dict[str, Any]
    ) -> types.CallToolResult:
        try:
            jsonschema.validate(args, self._schemas[name])
        except jsonschema.ValidationError as exc:
            problem = "give a taskid or a tasktoken" if exc.validator == "anyOf" else exc.message
            return error_result(f"{name}: invalid arguments: {problem}.")
        if name == "task_list":
            return await self._task_list(args)
        taskid = str(args["taskid"]) if args.get("taskid") else None
        token = str(args["tasktoken"]) if args.get("tasktoken") else None
        match name:
            case "task_status":
                report = await self.service.look(taskid, token)
            case "task_wait":
                wait = min(
                    float(args.get("wait_seconds", self.service.config.wait_seconds)),
                    self.service.config.wait_seconds,
                )
                report = await self.service.follow(taskid, token, on_update=Progress(ctx), wait_seconds=wait)
            case "task_kill":
                report = await self.service.stop(taskid, token, kill=True)
            case _:
                report = await self.service.stop(taskid, token, kill=False)
        return await task_result(report, self.service.fetcher, self.preview_max_bytes)

    async def _task_list(self, args: dict[str, Any]) -> types.CallToolResult:
        journal = self.service.journal
        if journal is None:
            return error_result("task_list: the task journal is off (WIRO_MCP_JOURNAL=off).")
        entries = await journal.recent(
            tool=args.get("tool"), state=args.get("state"), limit=int(args.get("limit", 20))
        )
        tasks = [e.as_json() for e in entries]
        lines = [f"{len(tasks)} task(s), newest first:"] + [
            f"- {t['created']} {t['tool']} taskid={t['taskid'] or '(unknown: Run answer lost)'} state={t['state']}"
            + (f" outputs={len(t['outputs'])}" if t["outputs"] else "")
            for t in tasks
        ]
        return types.CallToolResult(
            content=[types.TextContent(text="\n".join(lines))], structured_content={"tasks": tasks}
        )

    async def _client_roots(self, ctx: ServerRequestContext[Any]) -> list[Path]:
        """The client's MCP roots (file:// URIs), when it offers them; a client without roots gives none."""
        if not ctx.session.check_client_capability(types.ClientCapabilities(roots=types.RootsCapability())):
            return []
        try:
            with anyio.fail_after(5):
                with warnings.catch_warnings():
                    # Roots are deprecated in 2026-07-28 but still how 2025 clients share their folders.
                    warnings.simplefilter("ignore")
                    listed = await ctx.session.list_roots()  # pyright: ignore[reportDeprecated]
        except Exception as exc:  # a client that cannot answer roots must not break the call
            log.info("could not list the client's roots: %s", type(exc).__name__)
            return []
        return [
            Path(unquote(urlparse(str(r.uri)).path)) for r in listed.roots if str(r.uri).startswith("file://")
        ]


def _transport_message(name: str, exc: WiroTransportError) -> str:
    if exc.sent_maybe:
        return (
            f"{name}: {exc.message}. Wiro may have received the request: if it started a task, it is recorded in "
            "the journal as state 'unknown' (see task_list). Check before trying again, or you may pay twice."
        )
    return f"{name}: {exc.message}. Nothing reached Wiro; it is safe to try again."
