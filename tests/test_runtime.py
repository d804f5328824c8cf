"""The real assembly, in this process: `build_app` from Settings with the sandbox (its emulator on
loopback, the socket follower, the journal file, the live catalog's sync), driven by the official
client over the SDK's in-memory transport."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp import Client

from wiro_mcp.mcp.portable import all_problems
from wiro_mcp.runtime import build_app
from wiro_mcp.settings import Settings

pytestmark = pytest.mark.anyio


def settings_for(tmp_path: Path, **values: object) -> Settings:
    return Settings(
        journal=str(tmp_path / "j.sqlite3"),
        cache_dir=str(tmp_path / "cache"),
        sandbox_seconds=0.5,
        **values,  # pyright: ignore[reportArgumentType]
    )


async def test_the_assembled_server_lists_portable_tools_and_runs_a_call(tmp_path: Path) -> None:
    async with build_app(settings_for(tmp_path), sandbox=True) as app, Client(app.server) as client:
        await app.synced.wait()
        tools = (await client.list_tools()).tools
        result = await client.call_tool("reve_generate", {"prompt": "a koala"})
        listed = await client.call_tool("task_list", {})
    assert all_problems(tools) == [] and len(tools) == 13
    assert not result.is_error and result.structured_content
    assert result.structured_content["state"] == "completed"
    assert result.structured_content["quote_usd"] == pytest.approx(0.04)  # the listing's price, synced
    assert listed.structured_content and listed.structured_content["tasks"][0]["state"] == "completed"
    assert (tmp_path / "j.sqlite3").exists()  # the journal on disk, as the settings say


async def test_the_assembled_server_refuses_a_budget_without_a_journal_on_disk(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, budget_usd=1.0).model_copy(update={"journal": "off"})
    async with build_app(settings, sandbox=True) as app, Client(app.server) as client:
        await app.synced.wait()
        refused = await client.call_tool("reve_generate", {"prompt": "a koala"})
    assert refused.is_error and "needs the task journal on disk" in refused.content[0].text  # type: ignore[union-attr]
