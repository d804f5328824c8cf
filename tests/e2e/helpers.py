"""Driving the real `wiro-mcp` command with the official MCP client."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any, TextIO

from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from tests.conftest import RunningEmulator

WIRO_MCP = str(Path(sys.executable).parent / "wiro-mcp")


def stdio_params(wiro: RunningEmulator, *args: str, **env: str) -> StdioServerParameters:
    return StdioServerParameters(command=WIRO_MCP, args=list(args), env=wiro.env(**env))


@contextlib.asynccontextmanager
async def stdio_client_for(
    params: StdioServerParameters, errlog: TextIO, mode: str = "auto", **kwargs: Any
) -> AsyncGenerator[Client, None]:
    async with Client(stdio_client(params, errlog=errlog), mode=mode, **kwargs) as client:  # type: ignore[arg-type]
        yield client


def dump(result: Any) -> str:
    return result.model_dump_json(by_alias=True)
