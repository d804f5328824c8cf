"""The MCP server: the low-level `mcp` Server over one registry of tool objects."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
from mcp.server import Server, ServerRequestContext

from wiro_mcp import __version__
from wiro_mcp.catalog.validate import clip
from wiro_mcp.errors import (
    LocalFileError,
    WiroBalanceError,
    WiroConcurrencyError,
    WiroError,
    WiroTransportError,
)
from wiro_mcp.files import root_from_uri
from wiro_mcp.mcp.results import error_result, money_message, transport_message
from wiro_mcp.mcp.tools import McpTool, ModelTool, task_tools
from wiro_mcp.service import TaskService

log = logging.getLogger(__name__)

INSTRUCTIONS = (
    "Each model tool starts a paid Wiro generation and waits a bounded time for it. If a result says the task "
    "is still running, call task_wait with its taskid; never call the model tool again for the same request. "
    "task_list shows tasks started earlier, even before a restart."
)


class WiroMcp:
    def __init__(self, service: TaskService) -> None:
        self.service = service
        tools: list[McpTool] = [ModelTool(e, service, self._client_roots) for e in service.catalog.values()]
        tools += task_tools(service)
        self.tools: dict[str, McpTool] = {t.definition.name: t for t in tools}
        self.server: Server[Any] = Server(
            "wiro-mcp",
            version=__version__,
            title="Wiro models",
            instructions=INSTRUCTIONS,
            on_list_tools=self._list_tools,
            on_call_tool=self._call_tool,
        )

    def __repr__(self) -> str:
        return f"WiroMcp(tools={len(self.tools)})"

    async def _list_tools(
        self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=[t.definition for t in self.tools.values()])

    async def _call_tool(
        self, ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        name, args = params.name, dict(params.arguments or {})
        tool = self.tools.get(name)
        if tool is None:
            return error_result(f"Unknown tool {clip(name, 80)!r}.")
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
