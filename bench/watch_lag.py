"""Completion lag and Task/Detail count of the task watcher, against the emulator on loopback.

    python bench/watch_lag.py [--runs 5] [--durations 3,15,40]

For each task duration (±10 % jitter) it starts `runs` tasks at once and follows each with (a) wiro-mcp's watcher
and (b) a baseline poller on the 2/5/10 s ladder that Wiro's own MCP server uses. Lag is the time
from the task's end (as the emulator schedules it) to the watcher returning. Prints figures;
asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Awaitable, Callable

import anyio
from pydantic import SecretStr

from wiro_mcp.catalog.load import load_catalog
from wiro_mcp.mcp.transports import serve_in_background
from wiro_mcp.sandbox.app import Emulator
from wiro_mcp.wiro.auth import WiroAuth
from wiro_mcp.wiro.client import WiroClient
from wiro_mcp.wiro.models import TERMINAL_STATES
from wiro_mcp.wiro.watch import PollPolicy, watch_task

Follow = Callable[[WiroClient, str], Awaitable[int]]


async def ours(client: WiroClient, taskid: str) -> int:
    outcome = await watch_task(client, taskid=taskid, wait_seconds=600, policy=PollPolicy())
    return outcome.detail_requests


async def baseline(client: WiroClient, taskid: str) -> int:
    """2 s polls for the first 10 s, then 5 s up to 60 s, then 10 s."""
    began, requests = time.monotonic(), 0
    while True:
        requests += 1
        if (await client.detail(taskid=taskid)).state in TERMINAL_STATES:
            return requests
        age = time.monotonic() - began
        await anyio.sleep(2 if age < 10 else 5 if age < 60 else 10)


async def measure(
    emulator: Emulator, client: WiroClient, seconds: float, runs: int, follow: Follow
) -> list[tuple[float, int]]:
    results: list[tuple[float, int]] = []

    async def one() -> None:
        # ±10 % jitter, so no poller is lucky or unlucky in its phase against the task's end.
        emulator.state.plan_next_run(seconds=seconds * random.uniform(0.9, 1.1))
        answer = await client.run("reve", "generate", {"prompt": "bench"})
        task = emulator.state.tasks[answer.taskid]
        requests = await follow(client, answer.taskid)
        results.append((time.monotonic() - (task.started + task.seconds), requests))

    async with anyio.create_task_group() as tg:
        for _ in range(runs):
            tg.start_soon(one)
    return results


async def main(runs: int, durations: list[float]) -> None:
    emulator = Emulator([e.spec for e in load_catalog().values()], api_key="bench")
    async with (
        serve_in_background(emulator.app) as url,
        WiroClient(f"{url}/v1", WiroAuth(SecretStr("bench"))) as client,
    ):
        print(f"{'task':>6} {'watcher':>9} {'median lag':>11} {'max lag':>8} {'Detail reqs (median)':>21}")
        for seconds in durations:
            rows: dict[str, tuple[float, float, float]] = {}
            for name, follow in (("wiro-mcp", ours), ("baseline", baseline)):
                found = await measure(emulator, client, seconds, runs, follow)
                lags = [lag for lag, _ in found]
                reqs = statistics.median(r for _, r in found)
                rows[name] = (statistics.median(lags), max(lags), reqs)
                print(
                    f"{seconds:>5.0f}s {name:>9} {rows[name][0]:>10.3f}s {rows[name][1]:>7.3f}s {reqs:>21.1f}"
                )
            ratio = rows["baseline"][0] / rows["wiro-mcp"][0] if rows["wiro-mcp"][0] > 0 else float("inf")
            print(f"{'':>6} median lag of baseline / wiro-mcp: {ratio:.1f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--durations", default="3,15,40")
    args = parser.parse_args()
    anyio.run(main, args.runs, [float(d) for d in args.durations.split(",")])
