"""`confirm_run`, the task viewer's own tool (`_meta.ui.visibility: ["app"]`: hosts keep it from the
model): it runs a call a human confirmed in the viewer, given the single-use confirmation id that
only the refused result's `_meta` carried. A missing, altered, replayed or expired id is refused and
nothing is sent."""

from __future__ import annotations

from typing import Any

import mcp_types as types

from wiro_mcp.live_catalog import LiveCatalog
from wiro_mcp.mcp.callers import confirmation_scope
from wiro_mcp.mcp.catalog_tools import find_entry
from wiro_mcp.mcp.confirm import pending_call, take_confirmation
from wiro_mcp.mcp.results import OUTPUT_SCHEMA, error_result
from wiro_mcp.mcp.tools import NOT_CONFIRMED, CheckedTool, Context, RootsLister, run_entry
from wiro_mcp.mcp.viewer import VIEWER_URI
from wiro_mcp.tasks import Prepared, TaskService

CONFIRM_RUN = "confirm_run"


class ConfirmRunTool(CheckedTool):
    def __init__(self, live: LiveCatalog, service: TaskService, roots: RootsLister) -> None:
        self._live = live
        self._service = service
        self._roots = roots
        self.definition = types.Tool(
            name=CONFIRM_RUN,
            title="Confirm and run (the task viewer's button)",
            description="Used by the task viewer when a human confirms a paid run; not for the model.",
            input_schema={
                "type": "object",
                "properties": {"confirmation": {"type": "string", "maxLength": 200}},
                "required": ["confirmation"],
                "additionalProperties": False,
            },
            output_schema={**OUTPUT_SCHEMA, "required": []},
            annotations=types.ToolAnnotations(destructive_hint=False),
            _meta={"ui": {"resourceUri": VIEWER_URI, "visibility": ["app"]}},
        )

    def __repr__(self) -> str:
        return "ConfirmRunTool()"

    async def run(
        self, ctx: Context, arguments: dict[str, Any]
    ) -> types.CallToolResult | types.InputRequiredResult:
        confirmation = str(arguments["confirmation"])
        call = pending_call(confirmation)
        if call is None:
            return error_result(f"{CONFIRM_RUN}: not started, {NOT_CONFIRMED}. Nothing was sent.")
        slug, params = call
        found = await find_entry(self._live, CONFIRM_RUN, slug)
        if isinstance(found, types.CallToolResult):
            return found
        scope = confirmation_scope(self._service.endpoint, ctx)

        async def confirmed(prepared: Prepared) -> bool:  # the id holds for exactly this call, once
            return await take_confirmation(confirmation, scope, prepared, self._service.journal.first_use)

        label = f"{CONFIRM_RUN} ({found.spec.slug})"
        return await run_entry(self._service, found, params, ctx, self._roots, label, confirmed=confirmed)
