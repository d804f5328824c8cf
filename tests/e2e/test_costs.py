"""Costs through the real `wiro-mcp`: a budget shared by two processes through one journal holds
under concurrent calls; a per-call cap and a dry run send nothing."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

import anyio
import pytest
from mcp import Client

from tests.conftest import RunningEmulator
from tests.e2e.helpers import stdio_client_for, stdio_params

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
