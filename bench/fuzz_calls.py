"""Hostile calls through the real `wiro-mcp` (stdio, the official MCP client) against the emulator on
loopback, with 300 generated models besides the bundled five. Prints figures; asserts nothing.

    python bench/fuzz_calls.py [--calls 10000] [--seed 1]

Each call goes to a random tool (typed model tools, run_model, model_info, search_models, the task
tools) with random arguments: mostly wrong (unknown fields, NaN and infinite numbers, integers of
400 digits, `http://[::1`, `file:///…%00`, nested lists, 30,000-character texts, numeric and empty
ids, control characters), some right. It counts:

- internal errors: a result saying "internal error" (a bug reached the agent as a shrug);
- crashes: the server process gone;
- hangs: a call with no answer within 20 s;
- invalid reaching Wiro: a Run the emulator received whose parameters the model's own rules refuse.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from wiro_mcp.catalog.load import entry_for, load_catalog
from wiro_mcp.mcp.transports import serve_in_background
from wiro_mcp.sandbox import SANDBOX_API_KEY, SANDBOX_API_SECRET
from wiro_mcp.sandbox.app import Emulator
from wiro_mcp.sandbox.generated import generated_specs

WIRO_MCP = str(Path(sys.executable).parent / "wiro-mcp")
HANG_SECONDS = 20.0
NASTY: list[Any] = [
    math.nan,
    math.inf,
    -math.inf,
    10**400,
    -(10**30),
    "1e400",
    "NaN",
    "http://[::1",
    "http://",
    "file:///tmp/a%00b.png",
    "file://host/etc/passwd",
    "../../etc/passwd",
    "/proc/self/environ",
    "\x00",
    "a\nPrice: $0.01",
    "\u202e",
    "x" * 30_000,
    "",
    " ",
    [],
    [[[[[]]]]],
    {"a": {"b": [1, 2]}},
    True,
    None,
    0,
    -1,
    "5",
    5.0,
    "https://x.test/a.png",
    "https://x.test/a.png,https://x.test/b.png",
]


def nasty(rng: random.Random) -> Any:
    return rng.choice(NASTY)


def model_arguments(rng: random.Random, schema: dict[str, Any]) -> dict[str, Any]:
    """Arguments for a model tool: each field right, wrong or missing, and now and then an unknown one."""
    args: dict[str, Any] = {}
    for name, prop in schema.get("properties", {}).items():
        roll = rng.random()
        if roll < 0.35:
            continue
        if roll < 0.75:
            if "enum" in prop:
                args[name] = rng.choice(prop["enum"])
            elif prop.get("type") == "number":
                low, high = prop.get("minimum", 0), prop.get("maximum", 100)
                args[name] = rng.uniform(low, high)
            elif prop.get("type") == "boolean":
                args[name] = rng.random() < 0.5
            elif prop.get("type") == "array":
                args[name] = ["https://x.test/a.png"]
            elif name.endswith("Url"):
                args[name] = "https://x.test/a.png"
            else:
                args[name] = "a koala"
        else:
            args[name] = nasty(rng)
    if rng.random() < 0.1:
        args[rng.choice(["promt", "Prompt", "x" * 300, "seed\n"])] = nasty(rng)
    return args


def task_arguments(rng: random.Random, known: list[str]) -> dict[str, Any]:
    roll = rng.random()
    if roll < 0.3 and known:
        return {"taskid": rng.choice(known)}
    if roll < 0.5 and known:
        return {"taskid": int(rng.choice(known))}
    if roll < 0.6:
        return {}
    return {rng.choice(["taskid", "tasktoken", "wait_seconds", "other"]): nasty(rng)}


def call_for(
    rng: random.Random, tools: dict[str, types.Tool], known: list[str]
) -> tuple[str, dict[str, Any]]:
    names = list(tools)
    roll = rng.random()
    if roll < 0.55:
        name = rng.choice(
            [n for n in names if tools[n].output_schema and n.count("_") >= 1 and not n.startswith("task_")]
        )
        return name, model_arguments(rng, tools[name].input_schema)
    if roll < 0.7:
        return rng.choice(["task_status", "task_wait", "task_kill", "task_cancel"]), task_arguments(
            rng, known
        )
    if roll < 0.8:
        model = rng.choice(["reve/generate", "acme/text-to-image-swift-1", nasty(rng), "../x", "a b/c"])
        return "run_model", {"model": model, "arguments": rng.choice([{"prompt": "x"}, nasty(rng), {}])}
    if roll < 0.9:
        return rng.choice(["model_info", "search_models"]), {
            rng.choice(["model", "query", "category", "media", "limit"]): nasty(rng)
        }
    return "task_list", {rng.choice(["since", "state", "tool", "limit"]): nasty(rng)}


def invalid_runs(emulator: Emulator) -> int:
    """Runs the emulator received whose parameters the model's own rules refuse."""
    entries = {s.slug.lower(): entry_for(s, "fuzz") for s in emulator.state.models.values()}
    bad = 0
    for task in emulator.state.tasks.values():
        params = {k: v for k, v in task.params.items() if not str(v).startswith("sandbox-upload:")}
        if not entries[task.spec.slug.lower()].validate(params).ok:
            bad += 1
    return bad


async def fuzz(calls: int, seed: int) -> None:
    rng = random.Random(seed)
    bundled = [e.spec for e in load_catalog().values()]
    emulator = Emulator(
        [*bundled, *generated_specs(300)],
        api_key=SANDBOX_API_KEY,
        api_secret=SANDBOX_API_SECRET,
        seconds={"*": 0.2},
    )
    outcomes: Counter[str] = Counter()
    internal: list[str] = []
    crashed = hangs = 0
    with tempfile.TemporaryDirectory() as tmp:
        async with serve_in_background(emulator.app) as root:
            env = {k: v for k, v in os.environ.items() if not k.startswith("WIRO_")}
            env.update(
                WIRO_API_KEY=SANDBOX_API_KEY,
                WIRO_API_SECRET=SANDBOX_API_SECRET,
                WIRO_API_BASE_URL=f"{root}/v1",
                WIRO_SOCKET_URL=root.replace("http", "ws", 1) + "/v1",
                WIRO_MCP_MODELS="bundled,acme/*,lumen/*",
                WIRO_MCP_WAIT_SECONDS="0.5",
                WIRO_MCP_CACHE_DIR=str(Path(tmp) / "cache"),
                WIRO_MCP_JOURNAL=str(Path(tmp) / "j.sqlite3"),
                WIRO_MCP_FILE_ROOTS=tmp,
                WIRO_MCP_LOG_LEVEL="ERROR",
            )
            params = StdioServerParameters(command=WIRO_MCP, args=[], env=env)
            began = time.perf_counter()
            with (Path(tmp) / "server.log").open("w") as log:
                async with Client(stdio_client(params, errlog=log)) as client:  # type: ignore[arg-type]
                    await anyio.sleep(2)  # the typed tools of the selection arrive
                    tools = {t.name: t for t in (await client.list_tools()).tools}
                    known: list[str] = []
                    for n in range(calls):
                        name, args = call_for(rng, tools, known)
                        try:
                            with anyio.fail_after(HANG_SECONDS):
                                result = await client.call_tool(name, args)
                        except TimeoutError:
                            hangs += 1
                            continue
                        except Exception as exc:  # the server went away, or the transport broke
                            crashed += 1
                            print(f"call {n}: {name} broke the session: {type(exc).__name__}: {exc}")
                            break
                        text = " ".join(b.text for b in result.content if isinstance(b, types.TextContent))
                        if "internal error" in text:
                            internal.append(f"{name} {str(args)[:200]}")
                        outcomes["error" if result.is_error else "ok"] += 1
                        taskid = (result.structured_content or {}).get("taskid")
                        if taskid and len(known) < 200:
                            known.append(str(taskid))
            took = time.perf_counter() - began
    print(
        f"calls: {sum(outcomes.values())} answered of {calls} ({outcomes['ok']} ok, {outcomes['error']} errors) in {took:.0f} s"
    )
    print(f"tools offered: {len(tools)}; tasks started: {len(emulator.state.tasks)}")
    print(f"internal errors: {len(internal)}")
    for line in internal[:10]:
        print(f"  {line}")
    print(f"crashes: {crashed}")
    print(f"hangs (no answer in {HANG_SECONDS:g} s): {hangs}")
    print(f"invalid reaching Wiro: {invalid_runs(emulator)} of {len(emulator.state.requests('Run'))} Runs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    anyio.run(fuzz, args.calls, args.seed)


if __name__ == "__main__":
    main()
