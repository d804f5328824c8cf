"""The real `wiro-mcp` over stdio, with the official MCP client, against the emulator on loopback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TextIO

import httpx2
import mcp_types as types
import pytest

from tests.conftest import API_KEY, API_SECRET, RunningEmulator
from tests.e2e.conftest import OpenServer
from tests.e2e.helpers import dump, interrupt_call, wait_for_request
from wiro_mcp.catalog.load import CatalogEntry
from wiro_mcp.sandbox.state import Fault

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]
SNAPSHOT = Path(__file__).resolve().parent.parent / "snapshots" / "tool_schemas.json"
CATALOG_TOOLS = ["search_models", "model_info", "run_model"]
TASK_TOOLS = ["task_status", "task_wait", "task_kill", "task_cancel", "task_list"]


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_tool_list_matches_the_catalog_snapshot(
    wiro: RunningEmulator, open_server: OpenServer, mode: str
) -> None:
    async with open_server(mode=mode) as client:
        listed = await client.list_tools()
    tools = {t.name: t for t in listed.tools}
    snapshot = json.loads(SNAPSHOT.read_text())
    assert sorted(tools) == sorted([*snapshot, *CATALOG_TOOLS, *TASK_TOOLS])
    for name, schema in snapshot.items():
        assert tools[name].input_schema == schema
        hints = tools[name].annotations
        # Only what differs from MCP's defaults is sent: not read-only, not idempotent, open world.
        assert hints is not None and not hints.read_only_hint and not hints.idempotent_hint
        assert hints.open_world_hint is not False and hints.destructive_hint is False
        assert tools[name].output_schema is not None
    kill = tools["task_kill"].annotations
    assert kill is not None and kill.destructive_hint is not False and not kill.read_only_hint


async def test_every_model_runs_its_page_example_to_downloadable_outputs(
    wiro: RunningEmulator,
    catalog: dict[str, CatalogEntry],
    open_server: OpenServer,
    errlog: TextIO,
) -> None:
    progress: list[tuple[float, str]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, message or ""))

    seen: list[str] = []
    async with open_server() as client, httpx2.AsyncClient() as http:
        for name, entry in sorted(catalog.items()):
            example = entry.input_schema["examples"][0]
            progress.clear()
            result = await client.call_tool(name, example, progress_callback=on_progress)
            seen.append(dump(result))
            assert not result.is_error, result
            data = result.structured_content
            assert data is not None and data["state"] == "completed" and data["model"] == entry.spec.slug
            (out,) = data["outputs"]
            download = await http.get(out["url"])
            media = entry.spec.effective_media
            expected = "video/mp4" if media == "video" else "image/png"
            assert download.status_code == 200 and download.headers["content-type"] == expected
            assert len(download.content) == out["size"] > 1000
            links = [b for b in result.content if isinstance(b, types.ResourceLink)]
            assert [str(link.uri) for link in links] == [out["url"]] and links[0].mime_type == expected
            previews = [b for b in result.content if isinstance(b, types.ImageContent)]
            assert len(previews) == (1 if media == "image" else 0)
            assert out["url"] in result.content[0].text  # type: ignore[union-attr]
            assert progress and progress[-1][1].endswith("(task_postprocess_end)")
            assert [p for p, _ in progress] == sorted(p for p, _ in progress)
    runs = wiro.state.requests("Run")
    assert len(runs) == len(catalog) and all(r.signed for r in runs)
    errlog.seek(0)
    for text in [*seen, errlog.read()]:
        assert API_SECRET not in text and API_KEY not in text


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_invalid_arguments_are_an_error_and_reach_no_one(
    wiro: RunningEmulator, open_server: OpenServer, mode: str
) -> None:
    async with open_server(mode=mode) as client:
        result = await client.call_tool(
            "reve_generate", {"prompt": "x", "aspect_ratio": "1:1", "aspectRatio": "5:4"}
        )
        missing = await client.call_tool("runway_image_to_video_gen4_turbo", {"prompt": "x"})
    assert result.is_error and missing.is_error
    text = result.content[0].text  # type: ignore[union-attr]
    assert (
        "did you mean 'aspectRatio'" in text and "'5:4' is not allowed" in text and "nothing was sent" in text
    )
    assert "inputImageUrl: is required" in missing.content[0].text  # type: ignore[union-attr]
    assert wiro.state.requests("Run") == []


@pytest.mark.parametrize(
    ("mode", "wait_for", "endpoint"),
    [
        ("auto", "task_start", "Task/Kill"),
        ("legacy", "task_start", "Task/Kill"),
        ("auto", "task_queue", "Task/Cancel"),
    ],
)
async def test_cancelling_the_call_stops_the_wiro_task(
    wiro: RunningEmulator, open_server: OpenServer, mode: str, wait_for: str, endpoint: str
) -> None:
    async with open_server(mode=mode) as client:
        wiro.state.plan_next_run(seconds=8)  # queued for 0.8 s, running from 2.4 s
        await interrupt_call(client, "reve_generate", {"prompt": "slow"}, when=f"({wait_for})")
        await wait_for_request(wiro, endpoint)
    (stop,) = wiro.state.requests(endpoint)
    task = next(iter(wiro.state.tasks.values()))
    assert stop.body["taskid"] == task.id and task.stopped_at is not None
    assert task.elapsed(task.stopped_at) < 8


async def test_detach_leaves_the_task_running(wiro: RunningEmulator, open_server: OpenServer) -> None:
    async with open_server(WIRO_MCP_ON_CANCEL="detach") as client:
        wiro.state.plan_next_run(seconds=5)
        await interrupt_call(client, "reve_generate", {"prompt": "slow"})
        listed = await client.call_tool("task_list", {})
    assert listed.structured_content and listed.structured_content["tasks"][0]["state"] == "queued"
    assert wiro.state.requests("Task/Kill") == [] and wiro.state.requests("Task/Cancel") == []


async def test_a_short_wait_hands_back_a_handle_and_task_wait_finishes(
    wiro: RunningEmulator, open_server: OpenServer
) -> None:
    async with open_server(WIRO_MCP_WAIT_SECONDS="0.5") as client:
        wiro.state.plan_next_run(seconds=1.2)
        first = await client.call_tool(
            "runway_image_to_video_gen4_turbo", {"inputImageUrl": "https://x/f.png", "duration": 5}
        )
        data = first.structured_content
        assert not first.is_error and data is not None and data["state"] in ("queued", "running")
        assert data["next"] == {"tool": "task_wait", "arguments": {"taskid": data["taskid"]}}
        assert "second task" in first.content[0].text  # type: ignore[union-attr]
        done = None
        for _ in range(10):
            done = await client.call_tool("task_wait", data["next"]["arguments"])
            if done.structured_content and done.structured_content["state"] == "completed":
                break
        assert done is not None and done.structured_content is not None
        assert done.structured_content["outputs"][0]["contenttype"] == "video/mp4"
        status = await client.call_tool("task_status", {"tasktoken": data["tasktoken"]})
        assert status.structured_content and status.structured_content["state"] == "completed"
    assert len(wiro.state.requests("Run")) == 1


async def test_failures_are_errors_with_the_reason(wiro: RunningEmulator, open_server: OpenServer) -> None:
    async with open_server() as client:
        wiro.state.plan_next_run(seconds=0.3, fail="NSFW content detected")
        failed = await client.call_tool("reve_generate", {"prompt": "x"})
        wiro.state.inject("Run", Fault("wiro", code=97, message="Insufficient balance"))
        broke = await client.call_tool("reve_generate", {"prompt": "x"})
        bad_task = await client.call_tool("task_status", {})
    assert failed.is_error and failed.structured_content is not None
    assert failed.structured_content["error"] == "NSFW content detected"
    assert "NSFW content detected" in failed.content[0].text  # type: ignore[union-attr]
    assert (
        broke.is_error
        and "code 97" in broke.content[0].text
        and "Insufficient balance" in broke.content[0].text
    )  # type: ignore[union-attr]
    assert bad_task.is_error and "give a taskid" in bad_task.content[0].text  # type: ignore[union-attr]
