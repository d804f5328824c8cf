"""What the live catalog costs: tools/list size, start-up with a warm cache of many models, and
search latency, against the emulator on loopback. Prints figures; asserts nothing.

    python bench/catalog_scale.py [--sizes 1000,5000] [--runs 3]

- tools/list: bytes of the default list (5 typed tools + catalog tools + task tools) as sent on the
  wire, and an estimate of tokens (bytes / 4) per tool.
- tools/list with 50 generated models selected as typed tools: bytes in all and per typed tool.
- start-up: from starting `wiro-mcp` (stdio) to its tools/list answer, with the catalog cache warm,
  for a Wiro of 5 models and of each size; the ratio against 5 models is the figure that matters.
- search: search_models over the largest size, in process (median and worst of several queries).
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
from pydantic import SecretStr

from wiro_mcp.catalog.load import load_catalog
from wiro_mcp.live_catalog import LiveCatalog
from wiro_mcp.mcp.app import SERVER_TOOL_NAMES
from wiro_mcp.mcp.transports import serve_in_background
from wiro_mcp.runtime import catalog_cache
from wiro_mcp.sandbox import SANDBOX_API_KEY
from wiro_mcp.sandbox.app import Emulator
from wiro_mcp.sandbox.generated import generated_models
from wiro_mcp.settings import Settings
from wiro_mcp.wiro.auth import WiroAuth
from wiro_mcp.wiro.client import WiroClient

WIRO_MCP = str(Path(sys.executable).parent / "wiro-mcp")
QUERIES = ("video", "image to video", "acme swift", "text-to-speech", "nothing-matches-this", "lumen pro 4")


def server_env(base_url: str, cache: Path, journal: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIRO_")}
    env.update(
        WIRO_API_KEY=SANDBOX_API_KEY,
        WIRO_API_BASE_URL=base_url,
        WIRO_MCP_CACHE_DIR=str(cache),
        WIRO_MCP_JOURNAL=str(journal),
        WIRO_MCP_LOG_LEVEL="WARNING",
    )
    return env


async def start_to_list(env: dict[str, str]) -> tuple[float, int]:
    """Seconds from spawning the server to its tools/list answer, and the answer's size in bytes."""
    began = time.perf_counter()
    params = StdioServerParameters(command=WIRO_MCP, args=[], env=env)
    with open(os.devnull, "w") as quiet:  # noqa: ASYNC230  (opening /dev/null does not block)
        async with Client(stdio_client(params, errlog=quiet)) as client:  # type: ignore[arg-type]
            listed = await client.list_tools()
            took = time.perf_counter() - began
    return took, len(listed.model_dump_json(by_alias=True, exclude_none=True).encode())


async def warm_cache(base_url: str, home: Path) -> int:
    """Fetch the listing once into the cache folder the server will read, as a first run would."""
    async with WiroClient(base_url, WiroAuth(SecretStr(SANDBOX_API_KEY), None)) as client:
        cache = catalog_cache(Settings(cache_dir=str(home)), False, client.base_url)
        live = LiveCatalog(load_catalog(), client, cache)
        return await live.refresh_listing()


async def startup(size: int, runs: int, folder: Path) -> tuple[float, int, int]:
    emulator = Emulator([e.spec for e in load_catalog().values()], extra_models=size)
    async with serve_in_background(emulator.app) as root:
        base = f"{root}/v1"
        home = folder / f"home-{size}"
        listed = await warm_cache(base, home)
        env = server_env(base, home, folder / f"j-{size}.sqlite3")
        times: list[float] = []
        size_bytes = 0
        for _ in range(runs):
            took, size_bytes = await start_to_list(env)
            times.append(took)
    return statistics.median(times), size_bytes, listed


async def search_latency(size: int, folder: Path) -> tuple[float, float, int]:
    emulator = Emulator([e.spec for e in load_catalog().values()], extra_models=size)
    async with serve_in_background(emulator.app) as root:
        base = f"{root}/v1"
        home = folder / f"search-{size}"
        await warm_cache(base, home)
        async with WiroClient(base, WiroAuth(SecretStr(SANDBOX_API_KEY), None)) as client:
            live = LiveCatalog(
                load_catalog(), client, catalog_cache(Settings(cache_dir=str(home)), False, base)
            )
            began = time.perf_counter()
            live.load_cached()
            load = time.perf_counter() - began
            times: list[float] = []
            for query in QUERIES * 5:
                began = time.perf_counter()
                live.index.search(query)
                times.append(time.perf_counter() - began)
    return statistics.median(times), max(times), int(load * 1000)


async def tools_list_figures(folder: Path) -> None:
    emulator = Emulator([e.spec for e in load_catalog().values()])
    async with serve_in_background(emulator.app) as root:
        env = server_env(f"{root}/v1", folder / "list-cache", folder / "list.sqlite3")
        params = StdioServerParameters(command=WIRO_MCP, args=[], env=env)
        with open(os.devnull, "w") as quiet:  # noqa: ASYNC230  (opening /dev/null does not block)  # noqa: ASYNC230  (opening /dev/null does not block)
            async with Client(stdio_client(params, errlog=quiet)) as client:  # type: ignore[arg-type]
                listed = await client.list_tools()
    total = len(listed.model_dump_json(by_alias=True, exclude_none=True).encode())
    print(f"default tools/list: {len(listed.tools)} tools, {total:,} bytes (~{total // 4:,} tokens)")
    for tool in listed.tools:
        size = len(tool.model_dump_json(by_alias=True, exclude_none=True).encode())
        print(f"  {tool.name:45} {size:6,} bytes  ~{size // 4:5,} tokens")


async def typed_list_figures(folder: Path, typed: int = 50) -> None:
    """tools/list with `typed` generated models offered as typed tools (WIRO_MCP_MODELS selecting them),
    against the default list: bytes per typed tool is the figure that matters."""
    emulator = Emulator([e.spec for e in load_catalog().values()], extra_models=typed)
    async with serve_in_background(emulator.app) as root:
        base = f"{root}/v1"
        home = folder / "typed-cache"
        await warm_cache(base, home)
        env = server_env(base, home, folder / "typed.sqlite3")
        env["WIRO_MCP_MODELS"] = ",".join(spec.slug for spec, _ in generated_models(typed))
        params = StdioServerParameters(command=WIRO_MCP, args=[], env=env)
        with open(os.devnull, "w") as quiet:  # noqa: ASYNC230  (opening /dev/null does not block)
            async with Client(stdio_client(params, errlog=quiet)) as client:  # type: ignore[arg-type]
                with anyio.move_on_after(60):  # each model's details are fetched once, in the background
                    while len((listed := await client.list_tools()).tools) < typed + 8:  # noqa: ASYNC110  (polling the server: no event to wait on)
                        await anyio.sleep(0.2)
    total = len(listed.model_dump_json(by_alias=True, exclude_none=True).encode())
    model_tools = [t for t in listed.tools if t.name not in SERVER_TOOL_NAMES]
    sizes = [len(t.model_dump_json(by_alias=True, exclude_none=True).encode()) for t in model_tools]
    print(
        f"{len(model_tools)} typed tools selected: tools/list {total:,} bytes (~{total // 4:,} tokens); "
        f"a typed tool {statistics.mean(sizes):,.0f} bytes on average (largest {max(sizes):,})"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,5000")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        await tools_list_figures(folder)
        await typed_list_figures(folder)
        print("\nstart-up to tools/list, warm cache (median of", args.runs, "runs):")
        base, base_bytes, _ = await startup(0, args.runs, folder)
        print(f"  {5:>5} models: {base:.2f} s  (tools/list {base_bytes:,} bytes)")
        for size in sizes:
            took, size_bytes, listed = await startup(size, args.runs, folder)
            print(
                f"  {listed:>5} models: {took:.2f} s  = {took / base:.2f}x the 5-model start  (tools/list {size_bytes:,} bytes)"
            )
        largest = max(sizes) if sizes else 0
        median, worst, load_ms = await search_latency(largest, folder)
        print(
            f"\nsearch over {largest + 5:,} models: median {median * 1000:.1f} ms, worst {worst * 1000:.1f} ms "
            f"({len(QUERIES) * 5} queries); loading the cached listing took {load_ms} ms"
        )


if __name__ == "__main__":
    anyio.run(main)
