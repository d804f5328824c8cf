"""The whole server under load: N concurrent model calls through one `wiro-mcp --http` process (its
journal, progress, results and image previews all on), against a bare server of the same SDK whose
one tool sleeps as long as a task takes (the floor: what MCP over HTTP costs by itself), in the same
run. The emulator runs in a third process; the calls come from this one, over streamable HTTP.

    python bench/server_load.py [--calls 500] [--seconds 10] [--runs 3] [--profile] [--progress]
                                [--latency 0]

For each server it prints the server process's own CPU per call (from /proc, so the clients' CPU
is not in it), its peak RSS, and the completion lag of each call: the time from its call to its
result, less the task's length (which the emulator holds at --seconds). Its CPU is also sampled
every 0.1 s: how long it was at a full core (90 % or more) while the calls started and while their
tasks ended (one core is all an event loop has, so that is how long each burst kept it busy).
`--profile` samples the server with py-spy (`pip install py-spy`; only the thread holding the GIL,
so idle threads are not counted) and prints the top 5 functions by own time and the journal's share
of all samples.
`--progress` has every call ask for progress notifications, as a client that shows them does (the
server then sends a couple of dozen a call; the bare server sends none).
`--latency S` has the emulator answer every HTTP request S seconds late (`wiro-mcp sandbox
--latency`), as a far-away Wiro and its CDN do: requests queued behind one another (in a pool, in a
limit) then show, which on loopback take no time. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import os
import resource
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

WIRO_MCP = str(Path(sys.executable).parent / "wiro-mcp")
PY_SPY = str(Path(sys.executable).parent / "py-spy")
CLIENTS = 20  # HTTP clients the calls are spread over (each holds its share of the calls open at once)
TICKS = os.sysconf("SC_CLK_TCK")
SAMPLE_SECONDS = 0.1
FULL_CORE = 0.9  # a sample at 90 % of a core or more counts as busy
TARGETS = {"cpu_ms": 10.0, "lag_s": 1.0, "rss_mb": 150.0, "journal_share": 0.10}
# The bare server: one tool that waits as long as a task takes, on the SDK's own streamable HTTP.
BARE = """
import sys
import anyio, uvicorn
import mcp_types as types
from mcp.server import Server

SECONDS = float(sys.argv[2])

async def list_tools(ctx, params):
    return types.ListToolsResult(tools=[types.Tool(name="sleep", input_schema={"type": "object"})])

async def call_tool(ctx, params):
    await anyio.sleep(SECONDS)
    return types.CallToolResult(content=[types.TextContent(text="done")])

server = Server("bare", on_list_tools=list_tools, on_call_tool=call_tool)
app = server.streamable_http_app(streamable_http_path="/mcp", host="127.0.0.1", max_sessions=10_000)
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", lifespan="on")
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"nothing listens on port {port}") from None
            time.sleep(0.05)


@contextlib.contextmanager
def process(args: list[str], port: int, env: dict[str, str] | None = None) -> Iterator[int]:
    proc = subprocess.Popen(args, env=env, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    try:
        wait_for_port(port, proc)
        yield proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class BusyTrace:
    """`pid`'s CPU sampled every SAMPLE_SECONDS in a thread: the seconds it spent at a full core,
    before and after `split` seconds from the start."""

    def __init__(self, pid: int, split: float) -> None:
        self.pid, self.split = pid, split
        self.busy = [0.0, 0.0]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> BusyTrace:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        began = last = time.monotonic()
        used = cpu_seconds(self.pid)
        while not self._stop.wait(SAMPLE_SECONDS):
            now, now_used = time.monotonic(), cpu_seconds(self.pid)
            if now_used - used >= FULL_CORE * (now - last):
                self.busy[1 if now - began >= self.split else 0] += now - last
            last, used = now, now_used


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def load(
    url: str, tool: str, calls: int, seconds: float, progress: bool = False
) -> tuple[list[float], int]:
    """`calls` calls at once over CLIENTS clients; each call's lag, and how many completed. With
    `progress`, each call asks for progress notifications, as a client that shows them does."""
    lags: list[float] = []
    completed = 0
    tag = secrets.token_hex(4)

    async def one(client: Client, n: int) -> None:
        nonlocal completed
        began = time.monotonic()
        args = {"prompt": f"bench {tag} {n}"} if tool != "sleep" else {}  # never a repeated call

        async def shown(value: float, total: float | None, message: str | None) -> None:
            return None

        result = await client.call_tool(tool, args, progress_callback=shown if progress else None)
        lags.append(time.monotonic() - began - seconds)
        state = (result.structured_content or {}).get("state", "completed")
        completed += int(not result.is_error and state == "completed")

    async def clients(k: int) -> None:
        limits = httpx2.Limits(max_connections=calls, max_keepalive_connections=calls)
        async with (
            httpx2.AsyncClient(timeout=seconds + 300, limits=limits) as http,
            Client(streamable_http_client(url, http_client=http)) as client,  # type: ignore[arg-type]
            anyio.create_task_group() as tg,
        ):
            for n in range(k, calls, CLIENTS):
                tg.start_soon(one, client, n)

    async with anyio.create_task_group() as tg:
        for k in range(CLIENTS):
            tg.start_soon(clients, k)
    return lags, completed


def profile_top(raw: Path) -> tuple[list[tuple[str, float]], float]:
    """py-spy's raw (collapsed) stacks → the top 5 functions by own samples, and the journal's share
    of all samples (a sample with a journal frame anywhere in its stack)."""
    own: collections.Counter[str] = collections.Counter()
    total = journal = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        own[frames[-1]] += count
        journal += count if any("/journal/" in f for f in frames) else 0
    top = [(frame, count / total) for frame, count in own.most_common(5)] if total else []
    return top, journal / total if total else float("nan")


def run_once(
    name: str,
    calls: int,
    seconds: float,
    profile: bool,
    progress: bool,
    folder: Path,
    emulator: tuple[int, int],
    keep: Path | None = None,
) -> dict[str, Any]:
    emulator_port, emulator_pid = emulator
    port = free_port()
    if name == "bare":
        script = folder / "bare.py"
        script.write_text(BARE)
        args, env = [sys.executable, str(script), str(port), str(seconds)], None
        tool = "sleep"
    else:
        args = [WIRO_MCP, "--http", "--port", str(port)]
        env = {k: v for k, v in os.environ.items() if not k.startswith("WIRO_")}
        env.update(
            WIRO_API_KEY="bench",
            WIRO_API_BASE_URL=f"http://127.0.0.1:{emulator_port}/v1",
            WIRO_SOCKET_URL=f"ws://127.0.0.1:{emulator_port}/v1",
            WIRO_MCP_CACHE_DIR=str(folder / "cache"),
            WIRO_MCP_JOURNAL=str(folder / f"journal-{port}.sqlite3"),
            WIRO_MCP_WAIT_SECONDS=str(seconds + 120),
            WIRO_MCP_HTTP_MAX_SESSIONS="1000",
            WIRO_MCP_LOG_LEVEL="WARNING",
        )
        tool = "reve_generate"
    with process(args, port, env) as pid:
        url = f"http://127.0.0.1:{port}/mcp"
        anyio.run(load, url, tool, 2, 0.0 if name == "bare" else seconds)  # warm: imports, catalog
        spy: subprocess.Popen[bytes] | None = None
        raw = folder / f"{name}-{port}.txt"
        if profile:
            spy = subprocess.Popen(
                [
                    PY_SPY,
                    "record",
                    "--pid",
                    str(pid),
                    "--gil",
                    "--format",
                    "raw",
                    "-o",
                    str(raw),
                    "--rate",
                    "200",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(1)
        before, emulator_before, began = cpu_seconds(pid), cpu_seconds(emulator_pid), time.monotonic()
        client_before = own_cpu_seconds()
        with BusyTrace(pid, split=seconds / 2) as busy:  # the starts come first, the ends a task later
            lags, completed = anyio.run(load, url, tool, calls, seconds, progress)
        spent = cpu_seconds(pid) - before
        wall = time.monotonic() - began
        figures: dict[str, Any] = {
            "completed": completed,
            "cpu_ms": 1000 * spent / calls,
            "lag_s": statistics.median(lags),
            "p95_s": statistics.quantiles(lags, n=20)[-1],
            "rss_mb": peak_rss_mb(pid),
            # The emulator's share of the machine: where it is busy, lag is partly its own.
            "emulator_cpu": (cpu_seconds(emulator_pid) - emulator_before) / wall,
            "client_cpu": (own_cpu_seconds() - client_before) / wall,  # the calling side's, likewise
            "server_cpu": spent / wall,
            "busy_starts_s": busy.busy[0],
            "busy_ends_s": busy.busy[1],
        }
        if spy is not None:
            spy.send_signal(2)  # SIGINT: py-spy writes what it has
            spy.wait(timeout=60)
            figures["top"], figures["journal_share"] = profile_top(raw)
            if keep is not None:
                keep.mkdir(parents=True, exist_ok=True)
                shutil.copy(raw, keep / raw.name)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="sample the server with py-spy")
    parser.add_argument(
        "--progress",
        action="store_true",
        help="each call asks for progress notifications (as most clients do)",
    )
    parser.add_argument("--keep", type=Path, help="keep py-spy's raw stacks in this folder")
    parser.add_argument(
        "--latency", type=float, default=0.0, help="seconds the emulator answers every HTTP request late"
    )
    args = parser.parse_args()
    rows: dict[str, list[dict[str, Any]]] = {"wiro-mcp": [], "bare": []}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        emulator_port = free_port()
        emulator = [WIRO_MCP, "sandbox", "--port", str(emulator_port), "--api-key", "bench"]
        emulator += ["--seconds", str(args.seconds), "--latency", str(args.latency)]
        with process(emulator, emulator_port) as emulator_pid:
            for _ in range(args.runs):  # interleaved, so both see the same machine
                for name in rows:
                    rows[name].append(
                        run_once(
                            name,
                            args.calls,
                            args.seconds,
                            args.profile,
                            args.progress,
                            folder,
                            (emulator_port, emulator_pid),
                            args.keep,
                        )
                    )
    far = f", Wiro {args.latency:g} s away" if args.latency else ""
    print(
        f"{args.calls} concurrent calls of {args.seconds:g} s tasks{far}, {args.runs} runs (median, min-max):"
    )
    print(
        f"{'server':>9} {'completed':>10} {'CPU ms/call':>16} {'lag median':>17} {'lag p95':>17} "
        f"{'peak RSS':>19} {'CPU: server, client, emulator':>30}"
    )

    def spread(name: str, key: str, form: str) -> str:
        got = [r[key] for r in rows[name]]
        return f"{statistics.median(got):{form}} ({min(got):{form}}-{max(got):{form}})"

    for name in rows:
        done = min(r["completed"] for r in rows[name])
        print(
            f"{name:>9} {done:>10} {spread(name, 'cpu_ms', '.1f'):>16} {spread(name, 'lag_s', '.2f'):>17} "
            f"{spread(name, 'p95_s', '.2f'):>17} {spread(name, 'rss_mb', '.0f'):>19} "
            f"{'':>9}{statistics.median(r['server_cpu'] for r in rows[name]):>6.0%} "
            f"{statistics.median(r['client_cpu'] for r in rows[name]):>6.0%} "
            f"{statistics.median(r['emulator_cpu'] for r in rows[name]):>6.0%}"
        )
    for name in rows:
        print(
            f"{name:>9}: at a full core for {spread(name, 'busy_starts_s', '.1f')} s while the calls "
            f"started, {spread(name, 'busy_ends_s', '.1f')} s while their tasks ended"
        )
    ours, bare = rows["wiro-mcp"], rows["bare"]
    cpu = statistics.median(r["cpu_ms"] for r in ours)
    lag = statistics.median(r["lag_s"] for r in ours)
    added = lag - statistics.median(r["lag_s"] for r in bare)  # the server's, not the calling clients'
    print(
        f"targets: CPU ≤ {TARGETS['cpu_ms']:g} ms/call (here {cpu:.1f}; "
        f"{cpu / statistics.median(r['cpu_ms'] for r in bare):.1f}x the bare server), median lag ≤ "
        f"{TARGETS['lag_s']:g} s (here {lag:.2f}, {added:.2f} above the "
        f"bare server's), peak RSS ≤ {TARGETS['rss_mb']:g} MB, journal ≤ {TARGETS['journal_share']:.0%} of samples"
    )
    if args.profile:
        for r in ours:
            print(f"py-spy, wiro-mcp: journal {r['journal_share']:.1%} of samples; top 5 by own time:")
            for frame, share in r["top"]:
                print(f"  {share:6.1%}  {frame}")


if __name__ == "__main__":
    main()
