"""Cold start: from spawning the server to its first tools/list answer, `wiro-mcp` (pointed at the
emulator, its catalog cache warm) against a bare server of the same SDK with one tool, as
interleaved pairs so both see the same machine. Prints figures; asserts nothing.

    python bench/startup.py [--pairs 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from wiro_mcp.catalog.load import load_catalog
from wiro_mcp.mcp.transports import serve_in_background
from wiro_mcp.sandbox import SANDBOX_API_KEY
from wiro_mcp.sandbox.app import Emulator

WIRO_MCP = str(Path(sys.executable).parent / "wiro-mcp")
BARE = """
import anyio
import mcp_types as types
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server

async def list_tools(ctx, params):
    tool = types.Tool(name="echo", input_schema={"type": "object"})
    return types.ListToolsResult(tools=[tool])

async def main():
    server = Server("bare", on_list_tools=list_tools)
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())

anyio.run(main)
"""


async def first_list(params: StdioServerParameters) -> float:
    began = time.perf_counter()
    with open(os.devnull, "w") as quiet:  # noqa: ASYNC230  (opening /dev/null does not block)
        async with Client(stdio_client(params, errlog=quiet)) as client:  # type: ignore[arg-type]
            await client.list_tools()
            return time.perf_counter() - began


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pairs", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        bare_script = folder / "bare.py"
        bare_script.write_text(BARE)
        emulator = Emulator([e.spec for e in load_catalog().values()])
        async with serve_in_background(emulator.app) as root:
            env = {k: v for k, v in os.environ.items() if not k.startswith("WIRO_")}
            env.update(
                WIRO_API_KEY=SANDBOX_API_KEY,
                WIRO_API_BASE_URL=f"{root}/v1",
                WIRO_MCP_CACHE_DIR=str(folder / "cache"),
                WIRO_MCP_JOURNAL=str(folder / "j.sqlite3"),
                WIRO_MCP_LOG_LEVEL="WARNING",
            )
            ours = StdioServerParameters(command=WIRO_MCP, args=[], env=env)
            bare = StdioServerParameters(command=sys.executable, args=[str(bare_script)], env=env)
            await first_list(ours)  # warms the catalog cache and the OS's file cache for both
            await first_list(bare)
            times: dict[str, list[float]] = {"wiro-mcp": [], "bare SDK server": []}
            for _ in range(args.pairs):
                times["wiro-mcp"].append(await first_list(ours))
                times["bare SDK server"].append(await first_list(bare))
    print(f"cold start to the first tools/list, {args.pairs} interleaved pairs (median, min-max):")
    for name, got in times.items():
        print(f"  {name:16} {statistics.median(got):.3f} s ({min(got):.3f}-{max(got):.3f})")
    ratios = [a / b for a, b in zip(times["wiro-mcp"], times["bare SDK server"], strict=True)]
    print(
        f"  ratio: {statistics.median(ratios):.2f}x the bare server (pairs {min(ratios):.2f}-{max(ratios):.2f})"
    )


if __name__ == "__main__":
    anyio.run(main)
