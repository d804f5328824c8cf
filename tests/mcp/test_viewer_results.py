"""A task's result for a client that renders the task viewer: no inline image (the viewer shows the
file itself), and, for the viewer alone, the call that runs the task again with a new seed. A client
without the viewer gets exactly what it always got."""

from __future__ import annotations

import json

import mcp_types as types
import pytest
from mcp import Client

from tests.conftest import APPS, in_process
from wiro_mcp.catalog.load import CatalogEntry
from wiro_mcp.mcp.client_view import RERUN_KEY

pytestmark = pytest.mark.anyio
TOOL = "runway_image_to_image_gen4_image"  # an image model with a seed
ARGS = {"prompt": "@image1 at dusk", "inputImageUrl": "https://cdn.wiro.ai/uploads/sampleinputs/car.jpg"}


def images(result: types.CallToolResult) -> list[types.ImageContent]:
    return [c for c in result.content if isinstance(c, types.ImageContent)]


async def test_the_viewer_gets_the_files_and_a_new_seed_and_a_plain_client_what_it_always_got(
    catalog: dict[str, CatalogEntry],
) -> None:
    async with (
        in_process(catalog, wait_seconds=20) as sandbox,
        Client(sandbox.app.server, extensions=[APPS]) as viewer,
        Client(sandbox.app.server) as plain,
    ):
        shown = await viewer.call_tool(TOOL, {**ARGS, "seed": 7})
        assert (shown.structured_content or {})["state"] == "completed"
        assert images(shown) == []  # the viewer shows the original; the context is spared the thumbnail
        assert any(isinstance(c, types.ResourceLink) for c in shown.content)  # the file itself stays
        rerun = (shown.meta or {})[RERUN_KEY]
        assert rerun["tool"] == TOOL
        assert {k: v for k, v in rerun["arguments"].items() if k != "seed"} == ARGS
        assert isinstance(rerun["arguments"]["seed"], int) and rerun["arguments"]["seed"] != 7
        # Only the viewer sees it: a model reading the result is not tempted to run it again.
        assert json.dumps(rerun["arguments"]) not in json.dumps(shown.structured_content)

        # The button's call is an ordinary call: a new task, with the new seed.
        runs = len(sandbox.state.requests("Run"))
        again = await viewer.call_tool(rerun["tool"], rerun["arguments"])
        assert (again.structured_content or {})["taskid"] != (shown.structured_content or {})["taskid"]
        assert len(sandbox.state.requests("Run")) == runs + 1
        # A second click on the same result is the same call: handed the task, not billed twice.
        twice = await viewer.call_tool(rerun["tool"], rerun["arguments"])
        assert (twice.structured_content or {}).get("deduplicated") is True
        assert len(sandbox.state.requests("Run")) == runs + 1

        # Looked at later, the same task offers the same button, from the journal's arguments.
        taskid = (shown.structured_content or {})["taskid"]
        looked = await viewer.call_tool("task_status", {"taskid": taskid})
        assert (looked.meta or {})[RERUN_KEY]["tool"] == TOOL

        # A model without a seed has no such button; a client without the viewer, no _meta at all.
        no_seed = await viewer.call_tool("reve_generate", {"prompt": "a koala"})
        assert RERUN_KEY not in (no_seed.meta or {})
        before = await plain.call_tool(TOOL, {**ARGS, "seed": 8})
        assert len(images(before)) == 1 and RERUN_KEY not in (before.meta or {})
