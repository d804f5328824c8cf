"""Following tasks: completion lag and Task/Detail requests, socket against polling against the
schedule of Wiro's own MCP server; then CPU and peak memory for many concurrent tasks.

    python bench/follow_lag.py [--runs 20] [--durations 3,15,40] [--crowds 200,500] [--crowd-seconds 10,40]

Part 1, against the emulator on loopback (one process): for each task length (±10 % jitter, so no
poller is lucky in its phase) it starts `runs` tasks per follower, all at once, and follows each with
  socket    wiro-mcp's default: Wiro's WebSocket channel, one Task/Detail at the end
  polling   wiro-mcp with the socket down: polling within Wiro's schedule as a budget
  wiro      Wiro's own server's schedule exactly: a poll at once, then 2 s below 15 s, 5 s below 60 s, 10 s
Lag is the time from the task's end (as the emulator schedules it) to the follower returning.

Part 2: the emulator runs in a separate process (`wiro-mcp sandbox --shared-sockets`, tasks of each
`--crowd-seconds` length); a worker process starts N tasks and follows them all at once (socket: one
connection per task, as Wiro documents; shared: up to 50 tasks per connection, where a server allows
it; polling; or Wiro's schedule), and reports the CPU seconds spent following (not its imports or the
Run requests, which every follower shares), its peak RSS and the socket connections it opened.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import anyio
from pydantic import SecretStr

from wiro_mcp.catalog.load import load_catalog
from wiro_mcp.mcp.transports import serve_in_background
from wiro_mcp.sandbox.app import Emulator
from wiro_mcp.wiro.auth import WiroAuth
from wiro_mcp.wiro.client import WiroClient
from wiro_mcp.wiro.models import TERMINAL_STATES, Task, TaskHandle
from wiro_mcp.wiro.socket import SocketFollower
from wiro_mcp.wiro.watch import OnUpdate, PollingFollower, PollPolicy, TaskFollower, WatchOutcome

MODES = ("socket", "polling", "wiro")
CROWD_MODES = ("socket", "shared", "polling", "wiro")
SHARED = 50  # tasks per connection in the "shared" mode
WIRO_SCHEDULE = PollPolicy(skip_early=False, spend_near_end=False)


class OfficialSchedule:
    """Wiro's own MCP server's schedule, exactly: a Task/Detail at once, then, after each answer, a
    wait of 2 s while under 15 s, 5 s under 60 s, 10 s after (our poller starts one interval late).
    `scale` shrinks its clock, as `PollPolicy.scale` does ours (bench/poll_timeline.py)."""

    def __init__(self, client: WiroClient, scale: float = 1.0) -> None:
        self.client = client
        self.scale = scale

    async def follow(
        self,
        handle: TaskHandle,
        *,
        wait_seconds: float,
        on_update: OnUpdate | None = None,
        last_known: Task | None = None,
    ) -> WatchOutcome:
        began = anyio.current_time()
        requests = 0
        while True:
            task = await self.client.detail(**handle.ids)
            requests += 1
            if task.state in TERMINAL_STATES:
                return WatchOutcome(task, True, requests)
            pause = WIRO_SCHEDULE.interval_at((anyio.current_time() - began) / self.scale) * self.scale
            if anyio.current_time() + pause - began > wait_seconds:
                return WatchOutcome(task, False, requests)
            await anyio.sleep(pause)


def followers(client: WiroClient, socket_url: str) -> dict[str, TaskFollower]:
    polling = PollingFollower(client, PollPolicy())
    return {
        "socket": SocketFollower(client, socket_url, polling),
        "shared": SocketFollower(client, socket_url, polling, tasks_per_connection=SHARED),
        "polling": polling,
        "wiro": OfficialSchedule(client),
    }


async def follow_one(client: WiroClient, follower: TaskFollower, endpoint: str) -> tuple[str, int, bool]:
    answer = await client.run("reve", "generate", {"prompt": "bench"})
    handle = TaskHandle(taskid=answer.taskid, token=answer.socketaccesstoken, endpoint=endpoint)
    outcome = await follower.follow(
        handle, wait_seconds=600, last_known=Task(id=answer.taskid, status="task_queue")
    )
    return answer.taskid, outcome.detail_requests, outcome.finished


async def lag_table(runs: int, durations: list[float]) -> None:
    emulator = Emulator([e.spec for e in load_catalog().values()], api_key="bench")
    async with (
        serve_in_background(emulator.app) as url,
        WiroClient(f"{url}/v1", WiroAuth(SecretStr("bench"))) as client,
    ):
        chosen = followers(client, url.replace("http://", "ws://") + "/v1")
        found: dict[tuple[float, str], list[tuple[float, int]]] = {}

        async def one(seconds: float, mode: str) -> None:
            await anyio.sleep(random.uniform(0, 0.5))
            emulator.state.plan_next_run(seconds=seconds * random.uniform(0.9, 1.1))
            taskid, requests, _ = await follow_one(client, chosen[mode], url)
            task = emulator.state.tasks[taskid]
            # Runs sent at once may reach the emulator out of order and take one another's plan: count
            # each task under the length it really got.
            length = min(durations, key=lambda d: abs(d - task.seconds))
            found.setdefault((length, mode), []).append(
                (time.monotonic() - (task.started + task.seconds), requests)
            )

        async with anyio.create_task_group() as tg:  # every length and follower at once: one wait
            for seconds in durations:
                for mode in MODES:
                    for _ in range(runs):
                        tg.start_soon(one, seconds, mode)
    print(
        f"{'task':>6} {'follower':>9} {'tasks':>6} {'median lag':>11} {'max lag':>8} "
        f"{'Detail reqs (median)':>21} {'(max)':>6}"
    )
    for seconds in durations:
        for mode in MODES:
            rows = found.get((seconds, mode), [])
            if not rows:
                continue
            lags, reqs = [lag for lag, _ in rows], [r for _, r in rows]
            print(
                f"{seconds:>5g}s {mode:>9} {len(rows):>6} {statistics.median(lags):>10.3f}s {max(lags):>7.3f}s "
                f"{statistics.median(reqs):>21g} {max(reqs):>6}"
            )


def peak_rss_mb() -> float:
    """This process's own peak memory. Linux's ru_maxrss survives exec, so a worker would report its
    parent's peak; VmHWM belongs to the process's own address space."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def worker(base: str, socket_url: str, mode: str, count: int) -> None:
    """Part 2's follower process: start `count` tasks, then follow them all at once; print, as JSON,
    the CPU seconds of following alone (imports and Run requests are the same for both followers)."""
    async with WiroClient(f"{base}/v1", WiroAuth(SecretStr("bench"))) as client:
        follower = followers(client, socket_url)[mode]
        handles: list[TaskHandle] = []
        finished: list[bool] = []
        requests: list[int] = []

        async def start() -> None:
            answer = await client.run("reve", "generate", {"prompt": "bench"})
            handles.append(TaskHandle(taskid=answer.taskid, token=answer.socketaccesstoken, endpoint=base))

        async def follow(handle: TaskHandle) -> None:
            last = Task(id=handle.taskid, status="task_queue")
            outcome = await follower.follow(handle, wait_seconds=600, last_known=last)
            finished.append(outcome.finished)
            requests.append(outcome.detail_requests)

        async with anyio.create_task_group() as tg:
            for _ in range(count):
                tg.start_soon(start)
        before, began = cpu_seconds(), time.monotonic()
        async with anyio.create_task_group() as tg:
            for handle in handles:
                tg.start_soon(follow, handle)
        print(
            json.dumps(
                {
                    "completed": sum(finished),
                    "cpu_s": cpu_seconds() - before,
                    "peak_rss_mb": peak_rss_mb(),
                    "detail": sum(requests),
                    "sockets": follower.pool.opened if isinstance(follower, SocketFollower) else 0,
                    "wall_s": time.monotonic() - began,
                }
            )
        )


def crowd_table(crowds: list[int], lengths: list[float]) -> None:
    wiro_mcp = str(Path(sys.executable).parent / "wiro-mcp")
    print(
        f"\n{'tasks':>6} {'length':>7} {'follower':>9} {'completed':>10} {'CPU s':>7} {'CPU ms/task':>12} "
        f"{'peak RSS':>9} {'Detail':>7} {'sockets':>8}"
    )
    for seconds in lengths:
        port = 18000 + random.randrange(1000)
        emulator = subprocess.Popen(
            # --shared-sockets: the "shared" mode's connections carry several tasks; one task per
            # connection is served the same either way
            [
                wiro_mcp,
                "sandbox",
                "--port",
                str(port),
                "--api-key",
                "bench",
                "--seconds",
                str(seconds),
                "--shared-sockets",
            ],
            stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(3)
            base, socket_url = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/v1"
            for count in crowds:
                for mode in CROWD_MODES:
                    out = subprocess.run(
                        [sys.executable, __file__, "--worker", base, socket_url, mode, str(count)],
                        capture_output=True,
                        text=True,
                        check=True,
                    )
                    r = json.loads(out.stdout.strip().splitlines()[-1])
                    print(
                        f"{count:>6} {seconds:>6g}s {mode:>9} {r['completed']:>10} {r['cpu_s']:>7.2f} "
                        f"{1000 * r['cpu_s'] / count:>12.2f} {r['peak_rss_mb']:>7.0f}MB {r['detail']:>7} {r['sockets']:>8}"
                    )
        finally:
            emulator.terminate()
            emulator.wait(timeout=10)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        base, socket_url, mode, count = sys.argv[2:6]
        anyio.run(worker, base, socket_url, mode, int(count))
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--durations", default="3,15,40")
    parser.add_argument("--crowds", default="200,500")
    parser.add_argument("--crowd-seconds", default="10,40", help="task lengths for part 2")
    args = parser.parse_args()
    if args.durations:
        anyio.run(lag_table, args.runs, [float(d) for d in args.durations.split(",")])
    if args.crowds:
        crowd_table(
            [int(c) for c in args.crowds.split(",")], [float(s) for s in args.crowd_seconds.split(",")]
        )


if __name__ == "__main__":
    main()
