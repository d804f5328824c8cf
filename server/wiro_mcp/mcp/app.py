"""The MCP server: the low-level `mcp` Server over one registry of tool objects."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
from mcp.server import InitializationOptions, NotificationOptions, Server, ServerRequestContext
from mcp.server.apps import client_supports_apps
from mcp.server.subscriptions import InMemorySubscriptionBus, ListenHandler
from mcp.shared.exceptions import MCPError
from mcp.shared.subscriptions import ToolsListChanged
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from wiro_mcp import __version__
from wiro_mcp.catalog.load import CatalogEntry
from wiro_mcp.catalog.validate import clip
from wiro_mcp.errors import (
    JournalError,
    LocalFileError,
    WiroBalanceError,
    WiroConcurrencyError,
    WiroError,
    WiroTransportError,
)
from wiro_mcp.files import root_from_uri
from wiro_mcp.journal import Query
from wiro_mcp.live_catalog import LiveCatalog
from wiro_mcp.mcp.callers import READ_SCOPE, RUN_SCOPE, caller_of
from wiro_mcp.mcp.catalog_tools import CATALOG_TOOL_NAMES, ModelInfoTool, RunModelTool, SearchModelsTool
from wiro_mcp.mcp.confirm_run import CONFIRM_RUN, ConfirmRunTool
from wiro_mcp.mcp.results import error_result, money_message, transport_message
from wiro_mcp.mcp.tools import TASK_TOOL_NAMES, McpTool, ModelTool, task_tools
from wiro_mcp.mcp.viewer import VIEWER_URI, viewer_contents, viewer_resource, with_viewer
from wiro_mcp.tasks import ServiceConfig, TaskService

log = logging.getLogger(__name__)
MAX_REMEMBERED_SESSIONS = 1000
# The server's own tools: no model may take one of these names.
SERVER_TOOL_NAMES = CATALOG_TOOL_NAMES | TASK_TOOL_NAMES | {CONFIRM_RUN}

RESOURCE_NOT_FOUND = -32002  # MCP's code for a resource that does not exist
# The server's own tools that start paid tasks (every model's typed tool does too).
PAID_TOOLS = frozenset({"run_model", CONFIRM_RUN})
# Tools whose results are no task: the viewer is not offered on them.
NO_VIEWER = frozenset({"search_models", "model_info", "task_list", CONFIRM_RUN})
INSTRUCTIONS = (
    "Typed model tools and run_model start a paid Wiro generation (billed only if it succeeds) and wait a "
    "bounded time for it. If a result says the task is still running, call task_wait with its taskid; never "
    "call the model again for the same request. search_models and model_info find any Wiro model and its "
    "inputs. task_list shows tasks started earlier, even before a restart."
)


def instructions_for(config: ServiceConfig) -> str:
    """The instructions, with the limits this server keeps (an agent should know them before a refusal)."""
    period = {86_400.0: "day", 7 * 86_400.0: "week", 30 * 86_400.0: "month"}.get(
        config.budget_seconds, f"{config.budget_seconds:g} s"
    )
    limits = [
        f"at most ${config.max_cost_usd:g} per call" if config.max_cost_usd is not None else "",
        f"a budget of ${config.budget_usd:g} per {period}" if config.budget_usd is not None else "",
        f"a team budget of ${config.team_budget_usd:g} per {period}"
        if config.team_budget_usd is not None
        else "",
        f"a human confirms any call quoted above ${config.confirm_above_usd:g}"
        if config.confirm_above_usd is not None
        else "",
    ]
    said = [limit for limit in limits if limit]
    return INSTRUCTIONS + (
        f" Limits here: {'; '.join(said)}." if said else " No spending limits are set on this server."
    )


class _Server(Server[Any]):
    """The low-level server, announcing that its tool list can change (typed tools fetched in the
    background are added after start-up)."""

    def create_initialization_options(
        self,
        notification_options: NotificationOptions | None = None,
        experimental_capabilities: dict[str, dict[str, Any]] | None = None,
        extensions: dict[str, dict[str, Any]] | None = None,
    ) -> InitializationOptions:
        return super().create_initialization_options(
            notification_options or NotificationOptions(tools_changed=True),
            experimental_capabilities,
            extensions,
        )


class WiroMcp:
    def __init__(self, service: TaskService, live: LiveCatalog, *, per_person: bool = False) -> None:
        self.service = service
        self.live = live
        # Behind OAuth: every call must name its person (a request without one is refused, never
        # taken as the server's one person).
        self.per_person = per_person
        self.calls_in_flight = 0  # tool calls being answered (a drain on SIGTERM waits for them)
        self.models = service.offered  # the one registry of typed tools' models
        server_tools: list[McpTool] = [
            SearchModelsTool(live, self.offered),
            ModelInfoTool(live, self.offered),
            RunModelTool(live, service, self._client_roots),
            *task_tools(service),
            ConfirmRunTool(live, service, self._client_roots),
        ]
        self._server_tools: dict[str, McpTool] = {t.definition.name: t for t in server_tools}
        self._model_tools: dict[str, ModelTool] = {}  # made from the registry's entries, as they change
        self.synced = anyio.Event()  # set once the start-up catalog sync is done (or has given up)
        # Who to tell when the tool list changes: 2025-era sessions directly, 2026-era listen streams via the bus.
        # One session per connection (a session object is made per request; its connection's
        # client_params object lives as long as the connection, so it keys them), newest last.
        self._sessions: dict[int, Any] = {}
        self.bus = InMemorySubscriptionBus()
        self.server: Server[Any] = _Server(
            "wiro-mcp",
            version=__version__,
            title="Wiro models",
            instructions=instructions_for(service.config),
            on_list_tools=self._list_tools,
            on_call_tool=self._call_tool,
            on_list_resources=self._list_resources,
            on_read_resource=self._read_resource,
            on_subscriptions_listen=ListenHandler(self.bus),
            get_tool_input_schema=self._input_schema,
        )

    def __repr__(self) -> str:
        return f"WiroMcp(models={len(self.models)}, tools={len(self._server_tools)})"

    def _model_tool(self, entry: CatalogEntry) -> ModelTool:
        tool = self._model_tools.get(entry.name)
        if tool is None or tool.entry is not entry:
            tool = self._model_tools[entry.name] = ModelTool(
                entry, self.service, self._client_roots, self.live
            )
        return tool

    @property
    def tools(self) -> dict[str, McpTool]:
        """Every tool offered, by name: the typed tools of the registry's models, then the server's own."""
        return {**{e.name: self._model_tool(e) for e in self.models}, **self._server_tools}

    def offered(self) -> dict[str, str]:
        """Model key → typed tool name, for every model offered as a typed tool."""
        return self.models.by_key()

    async def add_model_tools(self, entries: list[CatalogEntry]) -> list[str]:
        """Offer typed tools for more models (fetched after start-up), and tell the clients."""
        added: list[str] = []
        for entry in entries:
            if self.models.offer(entry):
                added.append(entry.name)
        if added:
            await self._announce_tools_changed()
        return added

    async def update_model_tools(self, latest: Callable[[str], CatalogEntry | None]) -> list[str]:
        """Rebuild typed tools whose model has changed since start-up (a bundled spec that gained its
        prices from the first listing, say), and tell the clients."""
        changed: list[str] = []
        for entry in self.models:
            newer = latest(entry.spec.slug.lower())
            if newer is not None and newer is not entry and newer.name == entry.name:
                self.models.update(newer)
                changed.append(entry.name)
        if changed:
            await self._announce_tools_changed()
        return changed

    async def _announce_tools_changed(self) -> None:
        await self.bus.publish(ToolsListChanged())
        for key, session in list(self._sessions.items()):
            try:
                await session.send_tool_list_changed()
            except Exception as exc:  # a gone client must not stop the others hearing of it
                log.debug("tools/list_changed not delivered: %s", type(exc).__name__)
                self._sessions.pop(key, None)

    def _remember(self, ctx: ServerRequestContext[Any]) -> None:
        """Keep a way to reach this connection later (2025-era clients hear of tool changes directly)."""
        if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS or ctx.session.client_params is None:
            return  # 2026 clients hear through subscriptions/listen
        key = id(ctx.session.client_params)
        self._sessions.pop(key, None)
        self._sessions[key] = ctx.session
        while len(self._sessions) > MAX_REMEMBERED_SESSIONS:
            self._sessions.pop(next(iter(self._sessions)))

    def _input_schema(self, name: str) -> dict[str, Any] | None:
        """A tool's input schema, for the SDK's check of `Mcp-Param-*` headers: looked up here, since
        without it the SDK runs the whole tools/list for every tools/call."""
        known = self.models.get(name)
        tool = self._model_tool(known) if known is not None else self._server_tools.get(name)
        return tool.definition.input_schema if tool is not None else None

    async def _list_tools(
        self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        self._remember(ctx)
        tools = [t.definition for t in self.tools.values()]
        if client_supports_apps(ctx):  # their results shown in the task viewer; other clients see no _meta
            tools = [with_viewer(t) if t.name not in NO_VIEWER else t for t in tools]
        else:  # the viewer's own tool, for a viewer that is not there
            tools = [t for t in tools if t.name != CONFIRM_RUN]
        return types.ListToolsResult(tools=tools)

    async def _list_resources(
        self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        return types.ListResourcesResult(resources=[viewer_resource(self.service.base_url)])

    async def _read_resource(
        self, ctx: ServerRequestContext[Any], params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        if str(params.uri) != VIEWER_URI:
            raise MCPError(code=RESOURCE_NOT_FOUND, message=f"no resource {clip(str(params.uri), 80)!r}")
        return viewer_contents(self.service.base_url)

    async def _call_tool(
        self, ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult | types.InputRequiredResult:
        self._remember(ctx)
        name, args = params.name, dict(params.arguments or {})
        known = self.models.get(name)
        tool = self._model_tool(known) if known is not None else self._server_tools.get(name)
        if tool is None:
            return error_result(f"Unknown tool {clip(name, 80)!r}.")
        refused = self._refused(ctx, name, paid=known is not None or name in PAID_TOOLS)
        if refused is not None:
            return refused
        self.calls_in_flight += 1
        try:
            return await tool.call(ctx, args)
        except WiroTransportError as exc:
            return error_result(transport_message(name, exc))
        except (WiroBalanceError, WiroConcurrencyError) as exc:
            return error_result(money_message(name, exc))
        except WiroError as exc:
            code = f", code {exc.code}" if exc.code is not None else ""
            return error_result(f"{name}: Wiro error ({exc.kind}{code}): {clip(exc.message, 500)}")
        except Exception:
            # A bug must not reach the agent as Python text; the traceback goes to stderr.
            log.exception("tool %s failed", name)
            return error_result(f"{name}: internal error in wiro-mcp (details are in the server's log).")
        finally:
            self.calls_in_flight -= 1

    async def journal_problem(self) -> str | None:
        """What keeps the journal from answering (for /readyz), or None."""
        try:
            await self.service.journal.recent(Query(limit=1))
        except JournalError as exc:
            return str(exc)
        return None

    def _refused(
        self, ctx: ServerRequestContext[Any], name: str, *, paid: bool
    ) -> types.CallToolResult | None:
        """A call its caller may not make: nobody signed in on a server for many, or a token without
        the scope (`wiro:run` starts paid tasks, `wiro:read` the rest). Nothing is sent."""
        caller = caller_of(ctx)
        if self.per_person and not caller.signed_in:
            return error_result(
                f"{name}: sign in first: this server takes OAuth access tokens. Nothing was sent."
            )
        needed = RUN_SCOPE if paid else READ_SCOPE
        if not caller.may(needed):
            return error_result(
                f"{name}: your access token lacks the scope {needed}"
                + (" (it starts paid Wiro tasks)" if paid else "")
                + ": sign in again granting it. Nothing was sent."
            )
        return None

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
        roots: list[Path] = []
        for root in listed.roots:
            try:
                roots.append(root_from_uri(str(root.uri)))
            except LocalFileError as exc:
                log.warning("client root refused: %s", exc)
        return roots
