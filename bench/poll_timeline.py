"""The polling fallback judged on timelines it cannot guess: Task/Detail requests and completion lag
of wiro-mcp's poller (`watch_task` with its default `PollPolicy`) against Wiro's own server's
schedule (a poll at once, then every 2 s below 15 s, 5 s below 60 s, 10 s after), on tasks whose
statuses change at random times drawn independently of the built-in emulator's timeline. wiro-mcp is
shown twice: on a model it has not run yet ("wiro-mcp"), and on one whose last 20 tasks it followed
("learned": their run times, drawn as the row's are, give it a `RunWindow` through `RunTimes`).

    python bench/poll_timeline.py [--runs 300] [--scale 0.1]

Each timeline (every follower follows the same one) follows the status order Wiro documents
(tasks.md) with phases of random length:
  docs order    queued for an exponential time (mean 8 % of the task), each set-up phase 0.05-0.3 s,
                then generation, then the last phases (output, end, post-processing) for 0.3-3 s
  no warning    the same, but the last phases together last 0.05 s: the end comes unannounced
  long queue    queued for 30-60 % of the task, the last phases 0.3-3 s
  sooner        "no warning", but the task takes 60-80 % of what the model's last tasks took (other
                parameters, say): what learning costs when it misleads
Task lengths are 3/15/40 s (±10 %). The followers run the real code on one event loop, with the
clock scaled by `--scale` for the 40 s rows and less for shorter ones, so that each row takes as long
(figures are scaled back), each task answered by a fake Task/Detail that reads the timeline after a
0.05 s trip there (and as long back): a round trip of 0.1 s. Wiro's own server waits its interval
after each answer, so its ticks drift by the round trip; ours do not, but our budget drifts alike
(the k-th request never before Wiro's k-th). Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import statistics
from dataclasses import dataclass

import anyio

from follow_lag import OfficialSchedule  # bench/ is on the path when this runs
from wiro_mcp.tasks.run_times import RunTimes
from wiro_mcp.wiro.models import Task, TaskHandle
from wiro_mcp.wiro.watch import PollPolicy, RunWindow, watch_task

SET_UP = ("task_accept", "task_preprocess_start", "task_preprocess_end", "task_assign")
GENERATING = ("task_start", "task_output")
LAST = ("task_output_full", "task_end", "task_postprocess_start")
LATENCY = 0.05  # seconds each way to Wiro and back: a Detail round trip of 0.1 s
FAMILIES = ("docs order", "no warning", "long queue", "sooner")
SOONER = (0.6, 0.8)  # a "sooner" task's length, of its model's usual
LENGTHS = (3.0, 15.0, 40.0)
FOLLOWERS = ("wiro-mcp", "learned", "wiro")
LEARNED_FROM = 20  # earlier tasks of the same model


@dataclass
class Timeline:
    changes: list[tuple[float, str]]  # (seconds after Run, the status from then on)
    end: float

    def status_at(self, t: float) -> str:
        if t >= self.end:
            return "task_postprocess_end"
        current = "task_queue"
        for at, status in self.changes:
            if t >= at:
                current = status
        return current


def timeline(rng: random.Random, length: float, family: str) -> Timeline:
    queued = (
        rng.uniform(0.3, 0.6) * length
        if family == "long queue"
        else min(rng.expovariate(1 / (0.08 * length)), 0.5 * length)
    )
    last = 0.05 if family in ("no warning", "sooner") else rng.uniform(0.3, 3.0)
    last = min(last, 0.3 * length)
    changes: list[tuple[float, str]] = []
    t = queued
    for status in SET_UP:
        changes.append((t, status))
        t += rng.uniform(0.05, 0.3)
    begin_last = length - last
    t = min(t, begin_last)
    changes.append((t, GENERATING[0]))
    changes.append((t + (begin_last - t) * rng.uniform(0.05, 0.3), GENERATING[1]))
    cuts = sorted(rng.uniform(begin_last, length) for _ in LAST[1:])
    for at, status in zip((begin_last, *cuts), LAST, strict=True):
        changes.append((at, status))
    return Timeline(changes, length)


class FakeDetail:
    """Task/Detail for one task, answered from its timeline on the (scaled) clock."""

    def __init__(self, line: Timeline, scale: float, started: float) -> None:
        self.line, self.scale, self.started = line, scale, started

    async def detail(self, *, taskid: str | None = None, tasktoken: str | None = None) -> Task:
        await anyio.sleep(LATENCY * self.scale)  # the way there; Wiro reads the status on arrival
        status = self.line.status_at((anyio.current_time() - self.started) / self.scale)
        await anyio.sleep(LATENCY * self.scale)  # and back
        return Task(id=taskid or "1", status=status, pexit="0" if status == "task_postprocess_end" else "")


async def official(fake: FakeDetail, scale: float) -> tuple[int, float]:
    """Wiro's own server: a Detail at once, then one after each wait of its ladder."""
    schedule = OfficialSchedule(fake, scale)  # type: ignore[arg-type]  (only Task/Detail is asked of it)
    outcome = await schedule.follow(TaskHandle("1", "", ""), wait_seconds=3600)
    return outcome.detail_requests, anyio.current_time()


async def ours(fake: FakeDetail, scale: float, expected: RunWindow | None) -> tuple[int, float]:
    outcome = await watch_task(
        fake,  # type: ignore[arg-type]  (only Task/Detail is asked of it)
        taskid="1",
        wait_seconds=3600,
        policy=PollPolicy(scale=scale),
        last_known=Task(id="1", status="task_queue"),  # Run's answer, as a model call has it
        expected=expected,
    )
    return outcome.detail_requests, anyio.current_time()


def learned_window(rng: random.Random, length: float, family: str, scale: float) -> RunWindow | None:
    """The window `RunTimes` gives after following the model's last tasks (on the scaled clock): their
    run times as the socket measured them, each its task's end plus the end event's trip."""
    times = RunTimes()
    for _ in range(LEARNED_FROM):
        end = timeline(rng, length * rng.uniform(0.9, 1.1), family).end
        times.add("model", (end + LATENCY) * scale)
    return times.window("model")


async def run(runs: int, scale: float, seed: int) -> dict[tuple[str, float, str], list[tuple[int, float]]]:
    rng = random.Random(seed)
    found: dict[tuple[str, float, str], list[tuple[int, float]]] = {}

    async def one(
        family: str, length: float, name: str, line: Timeline, window: RunWindow | None, row_scale: float
    ) -> None:
        fake = FakeDetail(line, row_scale, anyio.current_time())
        if name == "wiro":
            requests, done = await official(fake, row_scale)
        else:
            requests, done = await ours(fake, row_scale, window if name == "learned" else None)
        lag = (done - fake.started) / row_scale - line.end
        found.setdefault((family, length, name), []).append((requests, lag))

    for family in FAMILIES:
        for length in LENGTHS:
            # One row at a time, each as long as the longest (a busy event loop delays the followers'
            # requests, by as much more in task time as the clock is scaled down: a short row's
            # tasks all poll within a few ticks of each other); every follower on each timeline.
            row_scale = min(scale * max(LENGTHS) / length, 1.0)
            async with anyio.create_task_group() as tg:
                for _ in range(runs):
                    share = rng.uniform(*SOONER) if family == "sooner" else rng.uniform(0.9, 1.1)
                    line = timeline(rng, length * share, family)
                    window = learned_window(rng, length, family, row_scale)
                    for name in FOLLOWERS:
                        tg.start_soon(one, family, length, name, line, window, row_scale)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument(
        "--scale", type=float, default=0.1, help="clock scale of the 40 s rows (1: real time)"
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    found = anyio.run(run, args.runs, args.scale, args.seed)
    print(
        f"{args.runs} tasks per row; lag = follower returns - task ends (median, p90); requests: median (max)"
    )
    print(f"{'timeline':>11} {'task':>5} {'follower':>9} {'lag median':>11} {'lag p90':>8} {'requests':>12}")
    for family in FAMILIES:
        for length in LENGTHS:
            medians: dict[str, float] = {}
            for name in FOLLOWERS:
                rows = found[(family, length, name)]
                lags = sorted(lag for _, lag in rows)
                reqs = [r for r, _ in rows]
                medians[name] = statistics.median(lags)
                print(
                    f"{family:>11} {length:>4g}s {name:>9} {medians[name]:>10.2f}s {lags[int(0.9 * len(lags))]:>7.2f}s "
                    f"{statistics.median(reqs):>7g} ({max(reqs):>2})"
                )
            print(
                f"{'':>27} ours / official median lag: {medians['wiro-mcp'] / medians['wiro']:.2f}x,"
                f" learned {medians['learned'] / medians['wiro']:.2f}x"
            )


if __name__ == "__main__":
    main()
