"""From a task's end to its previews: made while the last Task/Detail is on its way (the default: the
socket's end event names the output files) against made after that Detail's answer (as before), in
the same run, interleaved, against the emulator on loopback with each Task/Detail and each output file
held `--trip` seconds (a trip to Wiro, and one to its CDN; on loopback both would take no time).

    python bench/end_to_result.py [--tasks 20] [--trip 0.2]

Each task is an image task of 1 s followed over the socket (SocketFollower, Outputs.previews: the
server's own parts, as tasks/follow.py puts them together); the figure is the time from the task's
end, as the emulator scheduled it, to its previews being made. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import time

import anyio
from pydantic import SecretStr

from wiro_mcp.catalog.load import load_catalog
from wiro_mcp.mcp.transports import serve_in_background
from wiro_mcp.outputs import OutputPolicy, Outputs, Preview
from wiro_mcp.sandbox.app import Emulator
from wiro_mcp.sandbox.state import Fault
from wiro_mcp.wiro.auth import WiroAuth
from wiro_mcp.wiro.client import WiroClient
from wiro_mcp.wiro.models import Output, Task, TaskHandle
from wiro_mcp.wiro.socket import SocketFollower
from wiro_mcp.wiro.watch import PollingFollower

MODES = ("after Detail", "beside Detail")


async def one(
    emulator: Emulator,
    client: WiroClient,
    follower: SocketFollower,
    outputs: Outputs,
    root: str,
    mode: str,
    trip: float,
) -> float:
    emulator.state.plan_next_run(seconds=1.0)
    emulator.state.inject("Task/Detail", Fault("slow", seconds=trip))
    emulator.state.inject("files", Fault("slow", seconds=trip))
    answer = await client.run("reve", "generate", {"prompt": "bench"})
    handle = TaskHandle(taskid=answer.taskid, token=answer.socketaccesstoken, endpoint=root)
    made: dict[str, Preview] = {}

    async def preview(announced: list[Output]) -> None:
        made.update(await outputs.previews(announced, {}))

    async with anyio.create_task_group() as tg:  # as Following does: the previews begin at the end event

        async def announced(files: list[Output]) -> None:
            if files:
                tg.start_soon(preview, files)

        outcome = await follower.follow(
            handle,
            wait_seconds=60,
            last_known=Task(id=answer.taskid, status="task_queue"),
            on_end=announced if mode == "beside Detail" else None,
        )
    if not made:
        made.update(await outputs.previews(outcome.task.file_outputs, {}))
    task = emulator.state.tasks[answer.taskid]
    if not outcome.finished or not made:
        raise RuntimeError(f"task {answer.taskid}: not finished with a preview")
    return time.monotonic() - (task.started + task.seconds)


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--trip", type=float, default=0.2, help="seconds each Detail and file is held")
    args = parser.parse_args()
    emulator = Emulator([e.spec for e in load_catalog().values()], api_key="bench")
    async with (
        serve_in_background(emulator.app) as root,
        WiroClient(f"{root}/v1", WiroAuth(SecretStr("bench"))) as client,
    ):
        outputs = Outputs(OutputPolicy(base_url=f"{root}/v1"))
        follower = SocketFollower(client, root.replace("http://", "ws://") + "/v1", PollingFollower(client))
        found: dict[str, list[float]] = {mode: [] for mode in MODES}
        for _ in range(args.tasks):  # interleaved, so both see the same machine
            for mode in MODES:
                found[mode].append(await one(emulator, client, follower, outputs, root, mode, args.trip))
        await outputs.aclose()
    print(
        f"from a task's end to its previews, {args.tasks} tasks each, Detail and file each held {args.trip:g} s:"
    )
    for mode, lags in found.items():
        print(f"  previews made {mode:14} median {statistics.median(lags):.3f} s (max {max(lags):.3f})")
    after, beside = (statistics.median(found[m]) for m in MODES)
    print(f"  beside / after: {beside / after:.2f}x")


if __name__ == "__main__":
    anyio.run(main)
