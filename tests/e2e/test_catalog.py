"""The live catalog through the real `wiro-mcp`, over stdio (both protocol eras) and HTTP: find a
model that is not bundled, read it, run it; select typed tools by category; start offline from a
warm cache; start with a cold cache and Wiro unreachable."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

import anyio
import mcp_types as types
import pytest
from mcp import Client

from tests.conftest import API_KEY, API_SECRET, RunningEmulator, emulator_on_loopback
from tests.e2e.helpers import (
    TOKEN,
    free_port,
    http_client_for,
    running_http_server,
    stdio_client_for,
    stdio_params,
)
from wiro_mcp.catalog.load import CatalogEntry
from wiro_mcp.catalog.schema import tool_name
from wiro_mcp.sandbox.app import Emulator

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]
BUNDLED = {
    "pixverse_image_to_video_v4",
    "reve_generate",
    "runway_image_to_image_gen4_image",
    "runway_image_to_video_gen4_turbo",
    "wan_ai_wan2_2_ti2v_5b_image_to_video_fast",
}


def model_tools(listed: types.ListToolsResult) -> set[str]:
    return {
        t.name for t in listed.tools if t.output_schema and "taskid" in t.output_schema.get("required", [])
    } - {
        "run_model",
        "task_status",
        "task_wait",
        "task_kill",
        "task_cancel",
    }


async def find_read_run(client: Client, wiro: RunningEmulator) -> None:
    found = await client.call_tool(
        "search_models", {"query": "image to video", "media": "video", "limit": 50}
    )
    assert found.structured_content
    model = next(r["model"] for r in found.structured_content["models"] if "tool" not in r)
    info = await client.call_tool("model_info", {"model": model})
    assert info.structured_content and "inputImageUrl" in info.structured_content["input_schema"]["required"]
    example = info.structured_content["example"]["arguments"]
    refused = await client.call_tool(
        "run_model", {"model": model, "arguments": {**example, "resolution": "8k"}}
    )
    assert refused.is_error and "nothing was sent" in refused.content[0].text  # type: ignore[union-attr]
    assert not wiro.state.requests("Run")
    ran = await client.call_tool("run_model", {"model": model, "arguments": example})
    assert not ran.is_error and ran.structured_content and ran.structured_content["state"] == "completed"
    assert len(wiro.state.requests("Run")) == 1


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_find_read_and_run_any_model_over_stdio(
    wiro_catalog: RunningEmulator, tmp_path: Path, errlog: TextIO, mode: str
) -> None:
    params = stdio_params(wiro_catalog, WIRO_MCP_JOURNAL=str(tmp_path / "j.sqlite3"))
    async with stdio_client_for(params, errlog, mode=mode) as client:
        assert model_tools(await client.list_tools()) == BUNDLED  # the default: the bundled five
        await find_read_run(client, wiro_catalog)


@pytest.mark.parametrize("mode", ["auto", "legacy"])
def test_find_read_and_run_any_model_over_http(
    wiro_catalog: RunningEmulator, tmp_path: Path, mode: str
) -> None:
    port = free_port()
    env = wiro_catalog.env(WIRO_MCP_HTTP_TOKEN=TOKEN, WIRO_MCP_JOURNAL=str(tmp_path / "j.sqlite3"))

    async def go() -> None:
        async with http_client_for(f"http://127.0.0.1:{port}/mcp", mode=mode) as client:
            await find_read_run(client, wiro_catalog)

    with running_http_server(env, port):
        anyio.run(go)


async def test_a_category_selects_exactly_its_models_and_a_warm_cache_works_offline(
    catalog: dict[str, CatalogEntry], tmp_path: Path, errlog: TextIO
) -> None:
    emulator = Emulator(
        [e.spec for e in catalog.values()], api_key=API_KEY, api_secret=API_SECRET, extra_models=40
    )
    env = {"WIRO_MCP_MODELS": "category:text-to-video", "WIRO_MCP_JOURNAL": str(tmp_path / "j.sqlite3")}
    expected = {
        tool_name(spec.owner, spec.project)
        for spec in emulator.state.models.values()
        if "text-to-video" in spec.categories
    }
    with emulator_on_loopback(emulator, tmp_path / "cache") as wiro:
        params = stdio_params(wiro, **env)
        async with stdio_client_for(params, errlog) as client:
            # Cold cache: the category's models are fetched in the background (clients are told of
            # the change; see tests/mcp/test_catalog_tools.py), so they appear within moments.
            with anyio.fail_after(20):
                while (warm := model_tools(await client.list_tools())) != expected:
                    await anyio.sleep(0.1)
    assert warm == expected and len(expected) > 5

    # The emulator is gone now (same address, nothing listening): the same tools come straight
    # from the cache, at the first tools/list.
    async with stdio_client_for(params, errlog) as client:
        assert model_tools(await client.list_tools()) == expected


async def test_cold_cache_and_wiro_unreachable_serve_the_bundled_models(
    wiro_catalog: RunningEmulator, tmp_path: Path, errlog: TextIO
) -> None:
    env = {"WIRO_API_BASE_URL": "http://127.0.0.1:9/v1", "WIRO_MCP_JOURNAL": str(tmp_path / "j.sqlite3")}
    async with stdio_client_for(stdio_params(wiro_catalog, **env), errlog) as client:
        assert model_tools(await client.list_tools()) == BUNDLED
        found = await client.call_tool("search_models", {"query": "video"})
        assert found.structured_content and "only bundled models" in found.structured_content["note"]
        with anyio.fail_after(20):  # the background refresh fails and logs it
            while "model list could not be fetched" not in (logged := Path(errlog.name).read_text()):
                await anyio.sleep(0.05)
    errlog.seek(0)
    logged = errlog.read()
    assert logged.count("model list could not be fetched") == 1, logged
