"""A team's deployment under load: N concurrent calls from 3 people (OAuth tokens) through nginx to
1 or 3 `wiro-mcp --http` replicas sharing one PostgreSQL journal, against the emulator in its own
process, all on loopback (the topology of tests/e2e/test_replicas.py, from tests/topology.py).

    python bench/replicas.py [--calls 300] [--seconds 5] [--runs 3]

Needs PostgreSQL and nginx (the distribution's packages). For each layout it prints calls per
second (completed calls over the wall time of the whole load) and the p50 and p99 completion lag
(a call's time less the task's length), then each as a ratio against one replica. Runs alternate
between the layouts, each on a fresh database. Prints figures; asserts nothing. On a machine with
fewer cores than replicas, replicas share the cores: the ratio says what that costs or gains.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the tests' topology helpers

from tests.e2e.helpers import http_client_for
from tests.oauth_issuer import issuer_on_loopback
from tests.postgres import cluster, new_database
from tests.topology import nginx, replicas

from server_load import WIRO_MCP, free_port, process  # bench/ is on the path when this runs

PEOPLE = ("ann", "bob", "cyd")


@contextlib.contextmanager
def emulator(seconds: float) -> Iterator[int]:
    """The emulator in its own process, its tasks `seconds` long; yields its port."""
    port = free_port()
    args = [WIRO_MCP, "sandbox", "--port", str(port), "--api-key", "bench", "--seconds", str(seconds)]
    with process(args, port):
        yield port


async def load(url: str, tokens: dict[str, str], calls: int, seconds: float) -> tuple[list[float], float]:
    """`calls` calls at once, spread over the people; each completed call's lag, and the wall time."""
    lags: list[float] = []
    tag = secrets.token_hex(4)

    async def person(sub: str, share: range) -> None:
        async with http_client_for(url, token=tokens[sub]) as client:

            async def one(n: int) -> None:
                began = time.monotonic()
                result = await client.call_tool("reve_generate", {"prompt": f"bench {tag} {sub} {n}"})
                state = (result.structured_content or {}).get("state")
                if not result.is_error and state == "completed":
                    lags.append(time.monotonic() - began - seconds)

            async with anyio.create_task_group() as tg:
                for n in share:
                    tg.start_soon(one, n)

    began = time.monotonic()
    async with anyio.create_task_group() as tg:
        for k, sub in enumerate(PEOPLE):
            tg.start_soon(person, sub, range(k, calls, len(PEOPLE)))
    return lags, time.monotonic() - began


def run_once(
    count: int, calls: int, seconds: float, server_url: str, wiro_port: int, issuer: Any
) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="wiro-mcp-bench-"))
    database = new_database(server_url, f"bench_{count}_{secrets.token_hex(3)}")
    ports, front = [free_port() for _ in range(count)], free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIRO_")}
    env.update(
        WIRO_API_KEY="bench",
        WIRO_API_BASE_URL=f"http://127.0.0.1:{wiro_port}/v1",
        WIRO_SOCKET_URL=f"ws://127.0.0.1:{wiro_port}/v1",
        WIRO_MCP_CACHE_DIR=str(folder / "cache"),
        WIRO_MCP_JOURNAL=database,
        WIRO_MCP_OAUTH_ISSUER=issuer.url,
        WIRO_MCP_PUBLIC_URL=f"http://127.0.0.1:{front}",
        WIRO_MCP_WAIT_SECONDS=str(seconds + 120),
        WIRO_MCP_HTTP_MAX_SESSIONS="2000",
        WIRO_MCP_LOG_LEVEL="WARNING",
    )
    with replicas(env, ports, folder / "stderr.txt"), nginx(ports, front):
        url = f"http://127.0.0.1:{front}/mcp"
        tokens = {sub: issuer.token(sub, url) for sub in PEOPLE}
        anyio.run(load, url, tokens, 3 * count, seconds)  # warm: imports, catalog, keys, pools
        lags, wall = anyio.run(load, url, tokens, calls, seconds)
    ordered = sorted(lags)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else float("nan")
    return {
        "completed": float(len(lags)),
        "calls_per_s": len(lags) / wall,
        "p50": statistics.median(ordered) if ordered else float("nan"),
        "p99": p99,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rows: dict[int, list[dict[str, float]]] = {1: [], 3: []}
    with cluster() as server_url, emulator(args.seconds) as wiro_port, issuer_on_loopback() as issuer:
        for _ in range(args.runs):
            for count in rows:
                rows[count].append(run_once(count, args.calls, args.seconds, server_url, wiro_port, issuer))

    def median(count: int, key: str) -> float:
        return statistics.median(r[key] for r in rows[count])

    def spread(count: int, key: str, form: str) -> str:
        got = [r[key] for r in rows[count]]
        return f"{statistics.median(got):{form}} ({min(got):{form}}-{max(got):{form}})"

    print(
        f"{args.calls} concurrent calls of {args.seconds:g} s tasks from {len(PEOPLE)} people through nginx, "
        f"{args.runs} runs (median, min-max), {os.cpu_count()} cores:"
    )
    print(f"{'replicas':>8} {'completed':>10} {'calls/s':>20} {'p50 lag s':>20} {'p99 lag s':>20}")
    for count in rows:
        done = min(r["completed"] for r in rows[count])
        print(
            f"{count:>8} {done:>10.0f} {spread(count, 'calls_per_s', '.1f'):>20} "
            f"{spread(count, 'p50', '.2f'):>20} {spread(count, 'p99', '.2f'):>20}"
        )
    print(
        f"3 replicas / 1: calls/s {median(3, 'calls_per_s') / median(1, 'calls_per_s'):.2f}x, "
        f"p50 lag {median(3, 'p50') / median(1, 'p50'):.2f}x, p99 lag {median(3, 'p99') / median(1, 'p99'):.2f}x"
    )


if __name__ == "__main__":
    main()
