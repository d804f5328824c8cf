"""Costs through the real `wiro-mcp`: a budget shared by two processes through one journal holds
under concurrent calls; a per-call cap and a dry run send nothing; a costly run waits for the human's
confirmation (both protocol eras, stdio and HTTP); an invalid combination of options sends nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TextIO

import anyio
import mcp_types as types
import pytest
from mcp import Client

from tests.conftest import RunningEmulator
from tests.e2e.helpers import (
    TOKEN,
    free_port,
    http_client_for,
    running_http_server,
    stdio_client_for,
    stdio_params,
)
from wiro_mcp.sandbox.state import Fault

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]
PRICE = 0.04  # the emulator's price for reve/generate (it publishes none of its own)


async def test_a_budget_holds_under_twenty_concurrent_calls_from_two_processes(
    wiro: RunningEmulator, tmp_path: Path, errlog: TextIO
) -> None:
    env = {"WIRO_MCP_JOURNAL": str(tmp_path / "shared.sqlite3"), "WIRO_MCP_BUDGET_USD": "0.2"}
    outcomes: list[bool] = []

    async def calls(client: Client, first_seed: int) -> None:
        async def one(seed: int) -> None:
            arguments = {"prompt": f"a koala, take {seed}", "aspectRatio": "1:1"}
            result = await client.call_tool("run_model", {"model": "reve/generate", "arguments": arguments})
            text = result.content[0].text  # type: ignore[union-attr]
            if result.is_error:
                assert "budget" in text and "nothing was sent" in text, text
            outcomes.append(not result.is_error)

        async with anyio.create_task_group() as tg:
            for seed in range(first_seed, first_seed + 10):
                tg.start_soon(one, seed)

    async with (
        stdio_client_for(stdio_params(wiro, **env), errlog) as first,
        stdio_client_for(stdio_params(wiro, **env), errlog) as second,
    ):
        with anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                tg.start_soon(calls, first, 0)
                tg.start_soon(calls, second, 100)
    runs = wiro.state.requests("Run")
    assert len(outcomes) == 20
    assert sum(outcomes) == len(runs) == 5  # $0.20 / $0.04: five ran, fifteen were refused
    assert len(runs) * PRICE <= 0.2 + 1e-9


async def test_a_cap_or_a_dry_run_sends_nothing(
    wiro: RunningEmulator, tmp_path: Path, errlog: TextIO
) -> None:
    env = {"WIRO_MCP_JOURNAL": str(tmp_path / "j.sqlite3"), "WIRO_MCP_MAX_COST_USD": "0.3"}
    video = {"inputImageUrl": "https://x.test/a.png", "prompt": "waves", "duration": "10"}
    async with stdio_client_for(stdio_params(wiro, **env), errlog) as client:
        quoted = await client.call_tool(
            "run_model",
            {
                "model": "Runway/image-to-video-gen4-turbo",
                "arguments": {**video, "duration": 5},
                "dry_run": True,
            },
        )
        assert not quoted.is_error and quoted.structured_content
        assert quoted.structured_content["quote"]["usd_high"] == pytest.approx(0.25)  # 5 s x $0.05
        over = await client.call_tool(
            "run_model", {"model": "Runway/image-to-video-gen4-turbo", "arguments": video, "dry_run": True}
        )
        assert over.is_error and "quoted at $0.50" in over.content[0].text  # type: ignore[union-attr]
        capped = await client.call_tool(
            "run_model", {"model": "Runway/image-to-video-gen4-turbo", "arguments": video}
        )
        assert capped.is_error and "above the per-call cap of $0.3" in capped.content[0].text  # type: ignore[union-attr]
        cheap = await client.call_tool(
            "run_model",
            {"model": "Runway/image-to-video-gen4-turbo", "arguments": {**video, "duration": "5"}},
        )
        assert not cheap.is_error and cheap.structured_content
        assert cheap.structured_content["quote_usd"] == pytest.approx(0.25)
        assert cheap.structured_content["cost_usd"] == pytest.approx(0.25)  # billed as quoted
    assert len(wiro.state.requests("Run")) == 1


VIDEO = {"inputImageUrl": "https://x.test/a.png", "prompt": "waves", "duration": "10"}  # $0.50
RUNWAY = "runway_image_to_video_gen4_turbo"


async def until_priced(client: Client, tool: str) -> None:
    """Until the typed tool shows its price: with a cold cache its prices come with the first listing,
    fetched in the background just after start-up."""
    with anyio.fail_after(20):
        while True:
            listed = await client.list_tools()
            if any(t.name == tool and "$" in (t.description or "") for t in listed.tools):
                return
            await anyio.sleep(0.1)


def answering(action: str, asked: list[str]) -> Any:
    """An MCP elicitation callback: the human's answer, and a record of what they were asked."""

    async def answer(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        asked.append(params.message)
        content = {"confirm": True} if action == "accept" else None
        return types.ElicitResult(action=action, content=content)  # type: ignore[arg-type]

    return answer


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_costly_run_starts_only_when_the_human_confirms_over_stdio(
    mode: str, wiro: RunningEmulator, tmp_path: Path, errlog: TextIO
) -> None:
    env = {"WIRO_MCP_JOURNAL": str(tmp_path / "j.sqlite3"), "WIRO_MCP_CONFIRM_ABOVE_USD": "0.3"}
    for action in ("decline", "cancel", "accept"):
        asked: list[str] = []
        callback = answering(action, asked)
        async with stdio_client_for(
            stdio_params(wiro, **env), errlog, mode, elicitation_callback=callback
        ) as client:
            result = await client.call_tool(RUNWAY, VIDEO)
        (question,) = asked
        assert "Runway/image-to-video-gen4-turbo" in question and 'duration: "10"' in question
        assert "$0.50" in question
        text = result.content[0].text  # type: ignore[union-attr]
        if action == "accept":
            assert not result.is_error and result.structured_content
            assert result.structured_content["state"] == "completed"
        else:
            assert result.is_error and "not started" in text and "Nothing was sent" in text, text
    assert len(wiro.state.requests("Run")) == 1  # only the confirmed one


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_client_that_cannot_ask_gets_a_refusal_and_a_cheap_run_is_not_asked(
    mode: str, wiro: RunningEmulator, tmp_path: Path, errlog: TextIO
) -> None:
    env = {"WIRO_MCP_JOURNAL": str(tmp_path / "j.sqlite3"), "WIRO_MCP_CONFIRM_ABOVE_USD": "0.3"}
    async with stdio_client_for(stdio_params(wiro, **env), errlog, mode) as client:
        await until_priced(client, RUNWAY)
        refused = await client.call_tool(RUNWAY, VIDEO)
        assert refused.is_error
        text = refused.content[0].text  # type: ignore[union-attr]
        assert (
            "cannot ask" in text and "raise WIRO_MCP_CONFIRM_ABOVE_USD" in text and "Nothing was sent" in text
        )
        assert not wiro.state.requests("Run")
        cheap = await client.call_tool(RUNWAY, {**VIDEO, "duration": "5"})  # $0.25, under the threshold
        assert not cheap.is_error
    assert len(wiro.state.requests("Run")) == 1


async def test_confirmation_over_http_in_the_2026_era(wiro: RunningEmulator, tmp_path: Path) -> None:
    env = wiro.env(
        WIRO_MCP_JOURNAL=str(tmp_path / "j.sqlite3"),
        WIRO_MCP_CONFIRM_ABOVE_USD="0.3",
        WIRO_MCP_HTTP_TOKEN=TOKEN,
    )
    port = free_port()
    asked: list[str] = []
    with running_http_server(env, port):
        url = f"http://127.0.0.1:{port}/mcp"
        async with http_client_for(url, elicitation_callback=answering("decline", asked)) as client:
            await until_priced(client, RUNWAY)
            declined = await client.call_tool(RUNWAY, VIDEO)
        async with http_client_for(url, elicitation_callback=answering("accept", asked)) as client:
            accepted = await client.call_tool(RUNWAY, VIDEO)
    assert declined.is_error and "declined" in declined.content[0].text  # type: ignore[union-attr]
    assert not accepted.is_error and accepted.structured_content
    assert len(asked) == 2 and len(wiro.state.requests("Run")) == 1


async def test_pixverse_fast_motion_at_1080p_is_refused_with_nothing_sent(
    wiro: RunningEmulator, tmp_path: Path, errlog: TextIO
) -> None:
    env = {"WIRO_MCP_JOURNAL": str(tmp_path / "j.sqlite3")}
    image = "https://x.test/a.png"
    async with stdio_client_for(stdio_params(wiro, **env), errlog) as client:
        listed = await client.list_tools()
        refused = await client.call_tool(
            "pixverse_image_to_video_v4",
            {"inputImageUrl": image, "prompt": "a bear", "motionMode": "fast", "quality": "1080p"},
        )
        info = await client.call_tool("model_info", {"model": "PixVerse/image-to-video-v4"})
    text = refused.content[0].text  # type: ignore[union-attr]
    assert refused.is_error and "quality" in text and "'1080p'" in text
    assert "duration 5, quality 360p|540p|720p" in text  # the valid combination, named
    assert not wiro.state.requests("Run")
    (tool,) = [t for t in listed.tools if t.name == "pixverse_image_to_video_v4"]
    assert "Only together: motionMode fast → duration 5, quality 360p|540p|720p" in (tool.description or "")
    assert not {"allOf", "anyOf", "oneOf"} & set(tool.input_schema)
    assert info.structured_content and info.structured_content["combinations"]


async def test_with_a_cold_cache_the_first_capped_call_waits_for_its_price_instead_of_refusing(
    wiro: RunningEmulator, tmp_path: Path, errlog: TextIO
) -> None:
    env = {"WIRO_MCP_JOURNAL": str(tmp_path / "j.sqlite3"), "WIRO_MCP_MAX_COST_USD": "1"}
    wiro.state.inject("Tool/List", Fault("slow", seconds=1.5))  # the call comes before the listing
    async with stdio_client_for(stdio_params(wiro, **env), errlog) as client:
        result = await client.call_tool("reve_generate", {"prompt": "a koala"})
    assert not result.is_error and result.structured_content, result.content
    assert result.structured_content["quote_usd"] == pytest.approx(PRICE)
    assert len(wiro.state.requests("Tool/List")) == 1  # the start-up listing, fetched once


async def test_the_same_call_after_a_restart_returns_the_first_task(
    wiro: RunningEmulator, tmp_path: Path, errlog: TextIO
) -> None:
    env = {"WIRO_MCP_JOURNAL": str(tmp_path / "j.sqlite3")}
    arguments = {"prompt": "a koala", "aspectRatio": "1:1"}
    async with stdio_client_for(stdio_params(wiro, **env), errlog) as client:
        first = await client.call_tool("reve_generate", arguments)
    async with stdio_client_for(stdio_params(wiro, **env), errlog) as client:  # a new server process
        again = await client.call_tool("reve_generate", arguments)
    assert first.structured_content and again.structured_content
    assert again.structured_content["taskid"] == first.structured_content["taskid"]
    assert again.content[0].text.startswith("Not a new run: the same call as task")  # type: ignore[union-attr]
    assert again.structured_content["deduplicated"] is True and "deduplicated" not in first.structured_content
    assert len(wiro.state.requests("Run")) == 1
