"""Cold start: from spawning the server to its first tools/list answer, `wiro-mcp` (pointed at the
emulator, its catalog cache warm), and again with a cache of 5,000 models, against a bare server of
the same SDK with one tool, interleaved so all see the same machine. Prints figures; asserts nothing.

The package's bytecode is compiled first, as pip compiles it when it installs the package (the SDK's
own, installed by pip, has it already): a source checkout run with PYTHONDONTWRITEBYTECODE set would
otherwise compile every one of its modules at every start.

    python bench/startup.py [--pairs 10] [--cached-models 5000]
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

import wiro_mcp
from catalog_scale import warm_cache  # bench/ is on the path when this runs
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
    parser.add_argument("--cached-models", type=int, default=5000, help="the large cache's models (0: none)")
    args = parser.parse_args()
    compileall.compile_dir(Path(wiro_mcp.__file__).parent, quiet=1)  # what `pip install` does
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        bare_script = folder / "bare.py"
        bare_script.write_text(BARE)
        specs = [e.spec for e in load_catalog().values()]
        small, large = Emulator(specs), Emulator(specs, extra_models=args.cached_models)
        async with serve_in_background(small.app) as root, serve_in_background(large.app) as large_root:
            servers = {"wiro-mcp": params_for(root, folder / "small")}
            if args.cached_models:
                await warm_cache(f"{large_root}/v1", folder / "large")  # what a first run leaves behind
                servers[f"wiro-mcp, {args.cached_models:,} cached"] = params_for(large_root, folder / "large")
            env = {k: v for k, v in os.environ.items() if not k.startswith("WIRO_")}
            servers["bare SDK server"] = StdioServerParameters(
                command=sys.executable, args=[str(bare_script)], env=env
            )
            for params in servers.values():  # warms the catalog caches and the OS's file cache for all
                await first_list(params)
            times: dict[str, list[float]] = {name: [] for name in servers}
            for _ in range(args.pairs):  # interleaved, so all see the same machine
                for name, params in servers.items():
                    times[name].append(await first_list(params))
    print(f"cold start to the first tools/list, {args.pairs} interleaved rounds (median, min-max):")
    bare = times["bare SDK server"]
    for name, got in times.items():
        ratios = [a / b for a, b in zip(got, bare, strict=True)]
        against = (
            f"  = {statistics.median(ratios):.2f}x the bare server (rounds {min(ratios):.2f}-{max(ratios):.2f})"
            if got is not bare
            else ""
        )
        print(f"  {name:26} {statistics.median(got):.3f} s ({min(got):.3f}-{max(got):.3f}){against}")


def params_for(root: str, home: Path) -> StdioServerParameters:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIRO_")}
    env.update(
        WIRO_API_KEY=SANDBOX_API_KEY,
        WIRO_API_BASE_URL=f"{root}/v1",
        WIRO_MCP_CACHE_DIR=str(home),
        WIRO_MCP_JOURNAL=str(home / "j.sqlite3"),
        WIRO_MCP_LOG_LEVEL="WARNING",
    )
    return StdioServerParameters(command=WIRO_MCP, args=[], env=env)


if __name__ == "__main__":
    anyio.run(main)
