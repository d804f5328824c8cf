"""Every tool the real `wiro-mcp` lists is one the model APIs accept (no root oneOf/anyOf/allOf, object
schemas, names of at most 64 characters from [a-zA-Z0-9_-]): with the bundled catalog, and with 300
generated models whose slugs are as odd as Wiro's (spaces, dots, capitals, leading spaces, over-long
names), every one of them selected and every one offered as a typed tool."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TextIO

import anyio
import pytest
from mcp import StdioServerParameters

from tests.e2e.helpers import WIRO_MCP, stdio_client_for
from wiro_mcp.mcp.app import SERVER_TOOL_NAMES
from wiro_mcp.mcp.confirm_run import CONFIRM_RUN
from wiro_mcp.mcp.portable import all_problems
from wiro_mcp.sandbox.generated import generated_models

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]
EXTRA = 300
LISTED_SERVER_TOOLS = len(SERVER_TOOL_NAMES - {CONFIRM_RUN})  # confirm_run: only for clients with the viewer


def sandbox(tmp_path: Path, **env: str) -> StdioServerParameters:
    base = {k: v for k, v in os.environ.items() if not k.startswith("WIRO_")}
    base.update(WIRO_MCP_JOURNAL="off", WIRO_MCP_CACHE_DIR=str(tmp_path / "cache"), **env)
    return StdioServerParameters(command=WIRO_MCP, args=["--sandbox"], env=base)


async def test_the_default_tools_are_portable(tmp_path: Path, errlog: TextIO) -> None:
    async with stdio_client_for(sandbox(tmp_path), errlog) as client:
        tools = (await client.list_tools()).tools
    assert len(tools) == 13 and all_problems(tools) == []


async def test_three_hundred_odd_slugs_all_become_portable_typed_tools(
    tmp_path: Path, errlog: TextIO
) -> None:
    odd = [listed for _, listed in generated_models(EXTRA)]
    assert any(" " in p for _, p in odd) and any(o.startswith(" ") for o, _ in odd)
    assert any(len(p) > 64 for _, p in odd) and any("." in p for _, p in odd)
    params = sandbox(tmp_path, WIRO_MCP_SANDBOX_EXTRA_MODELS=str(EXTRA), WIRO_MCP_MODELS="*")
    async with stdio_client_for(params, errlog) as client:
        with anyio.fail_after(120):
            while len(tools := (await client.list_tools()).tools) < 5 + EXTRA + LISTED_SERVER_TOOLS:
                await anyio.sleep(0.5)
    assert all_problems(tools) == []
    assert len(tools) == 5 + EXTRA + LISTED_SERVER_TOOLS, sys.stderr


async def test_the_portability_check_reads_what_the_inspector_prints(tmp_path: Path, errlog: TextIO) -> None:
    async with stdio_client_for(sandbox(tmp_path), errlog) as client:
        listed = await client.list_tools()
    text = listed.model_dump_json(by_alias=True)
    good = await anyio.run_process(
        [sys.executable, "-m", "wiro_mcp.mcp.portable"], input=text.encode(), check=False
    )
    bad_text = text.replace('"inputSchema":{"type":"object"', '"inputSchema":{"anyOf":[],"type":"object"', 1)
    bad = await anyio.run_process(
        [sys.executable, "-m", "wiro_mcp.mcp.portable"], input=bad_text.encode(), check=False
    )
    assert good.returncode == 0 and b"0 portability problems" in good.stderr
    assert bad.returncode == 1 and b"has `anyOf` at its root" in bad.stdout
