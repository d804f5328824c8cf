"""search_models, model_info and run_model through the official client, in process: a model that is
not bundled is found, read and run; invalid arguments are refused with nothing sent."""

from __future__ import annotations

import json
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp import Client

from tests.conftest import in_process
from wiro_mcp.catalog.load import CatalogEntry

pytestmark = pytest.mark.anyio
# 13 tools; raised from 16,000 when every output schema gained text, thinking and session_id.
BUDGET_BYTES = 17_000


async def test_find_read_and_run_a_model_that_is_not_bundled(catalog: dict[str, CatalogEntry]) -> None:
    async with in_process(catalog, extra_models=20) as sandbox, Client(sandbox.app.server) as client:
        found = await client.call_tool("search_models", {"query": "text to video", "media": "video"})
        assert not found.is_error and found.structured_content
        rows = found.structured_content["models"]
        model = next(r for r in rows if "tool" not in r)["model"]  # one without a typed tool
        assert "per run" in found.structured_content["models"][0]["price"] or rows

        info = await client.call_tool("model_info", {"model": model})
        assert not info.is_error and info.structured_content
        schema = info.structured_content["input_schema"]
        assert schema["properties"]["resolution"]["enum"] == ["480p", "720p", "1080p"]
        example = info.structured_content["example"]["arguments"]

        ran = await client.call_tool("run_model", {"model": model, "arguments": example})
        assert not ran.is_error, ran.content
        assert ran.structured_content and ran.structured_content["state"] == "completed"
        assert ran.structured_content["model"].lower() == model.lower()
        (run,) = sandbox.state.requests("Run")
        assert run.body["prompt"] == example["prompt"]


async def test_invalid_arguments_for_any_model_send_nothing(catalog: dict[str, CatalogEntry]) -> None:
    async with in_process(catalog, extra_models=20) as sandbox, Client(sandbox.app.server) as client:
        refused = await client.call_tool(
            "run_model",
            {
                "model": "acme/text-to-video-prime-2",
                "arguments": {"prompt": "x", "resolution": "4k", "durtion": 5},
            },
        )
        text = refused.content[0].text  # type: ignore[union-attr]
        assert refused.is_error and "nothing was sent" in text
        assert "use one of '480p', '720p', '1080p'" in text and "did you mean 'duration'" in text
        unknown = await client.call_tool("run_model", {"model": "reve/generat", "arguments": {"prompt": "x"}})
        assert unknown.is_error and "reve/generate" in unknown.content[0].text  # type: ignore[union-attr]
    assert not sandbox.state.requests("Run")


async def test_model_info_gives_exactly_what_the_typed_tool_takes(catalog: dict[str, CatalogEntry]) -> None:
    async with in_process(catalog) as sandbox, Client(sandbox.app.server) as client:
        listed = {t.name: t for t in (await client.list_tools()).tools}
        info = await client.call_tool("model_info", {"model": "Runway/image-to-video-gen4-turbo"})
    assert info.structured_content
    assert info.structured_content["input_schema"] == listed["runway_image_to_video_gen4_turbo"].input_schema
    assert info.structured_content["tool"] == "runway_image_to_video_gen4_turbo"


async def test_the_default_tool_list_is_small(catalog: dict[str, CatalogEntry]) -> None:
    async with in_process(catalog) as sandbox, Client(sandbox.app.server) as client:
        listed = await client.list_tools()
    wire = listed.model_dump_json(by_alias=True, exclude_none=True)
    assert len(wire.encode()) <= BUDGET_BYTES, len(wire.encode())
    # The output schema is not repeated at length: no tool carries more than a few hundred bytes of it.
    assert all(len(json.dumps(t.output_schema)) < 400 for t in listed.tools if t.output_schema)


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_tools_added_later_are_announced(catalog: dict[str, CatalogEntry], mode: str) -> None:
    heard = anyio.Event()

    async def on_message(message: Any) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            heard.set()

    async with (
        in_process(catalog, extra_models=10) as sandbox,
        Client(sandbox.app.server, mode=mode, message_handler=on_message) as client,  # type: ignore[arg-type]
    ):
        before = {t.name for t in (await client.list_tools()).tools}
        entry = await sandbox.app.live.entry("acme/text-to-image-swift-1")
        if mode == "legacy":
            assert await sandbox.app.add_model_tools([entry]) == ["acme_text_to_image_swift_1"]
        else:  # 2026: change notifications ride a subscriptions/listen stream
            async with client.listen(tools_list_changed=True) as events:
                await sandbox.app.add_model_tools([entry])
                with anyio.fail_after(5):
                    await events.__anext__()
                heard.set()
        with anyio.fail_after(5):
            await heard.wait()
        after = {t.name for t in (await client.list_tools()).tools}
    assert after - before == {"acme_text_to_image_swift_1"}


async def test_task_list_takes_a_utc_since(catalog: dict[str, CatalogEntry]) -> None:
    async with in_process(catalog) as sandbox, Client(sandbox.app.server) as client:
        await client.call_tool("reve_generate", {"prompt": "x"})
        recent = await client.call_tool("task_list", {"since": "2020-01-01T00:00Z"})
        later = await client.call_tool("task_list", {"since": "2999-01-01T00:00:00+00:00"})
        bad = await client.call_tool("task_list", {"since": "yesterday"})
    assert recent.structured_content and len(recent.structured_content["tasks"]) == 1
    assert " UTC " in recent.content[0].text  # type: ignore[union-attr]
    assert later.structured_content and later.structured_content["tasks"] == []
    assert bad.is_error and "ISO 8601" in bad.content[0].text  # type: ignore[union-attr]
    assert sandbox.state.requests("Run")
