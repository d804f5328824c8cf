"""What the journal costs a call: CPU and wall time of N concurrent calls' journal writes (the
write-ahead row, the ids, three status updates), on the journal as it is (connections kept open and
reused) against a baseline in the same run that opens a connection for every write, as the journal
did before. Prints figures; asserts nothing.

    python bench/journal_writes.py [--calls 200] [--runs 3]
"""

from __future__ import annotations

import argparse
import contextlib
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Generator
from pathlib import Path

import anyio

from wiro_mcp.journal import NewRun, SqliteJournal, TaskUpdate

RUNNING = TaskUpdate(state="running", status="task_start", outputs=[], error="", cost_usd=None)


class OneConnectionPerWrite(SqliteJournal):
    """The baseline: a fresh connection for every write, closed after it."""

    @contextlib.contextmanager
    def _connection(self) -> Generator[sqlite3.Connection, None, None]:
        db = self._connect()
        try:
            yield db
        finally:
            db.close()


async def calls(journal: SqliteJournal, count: int) -> tuple[float, float]:
    """(wall seconds, CPU ms per call) for `count` calls' writes at once."""

    async def one(n: int) -> None:
        run = NewRun(endpoint="e", tool="t", slug="s/p", arguments={"n": n}, fingerprint=str(n))
        row = await journal.begin(run)
        assert isinstance(row, int)
        await journal.started(row, taskid=str(n), tasktoken="token")
        for _ in range(3):
            await journal.update(endpoint="e", taskid=str(n), update=RUNNING)

    began, cpu = time.perf_counter(), time.process_time()
    async with anyio.create_task_group() as tg:
        for n in range(count):
            tg.start_soon(one, n)
    return time.perf_counter() - began, (time.process_time() - cpu) * 1000 / count


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    figures: dict[str, list[tuple[float, float]]] = {"reused connections": [], "baseline: one per write": []}
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):  # interleaved, so the machine's state is shared between the two
            for name, kind in (
                ("reused connections", SqliteJournal),
                ("baseline: one per write", OneConnectionPerWrite),
            ):
                journal = kind(Path(tmp) / f"{run}-{kind.__name__}.sqlite3")
                figures[name].append(await calls(journal, args.calls))
    print(f"{args.calls} concurrent calls x 5 journal writes, {args.runs} runs (median, min-max):")
    for name, got in figures.items():
        cpu = [c for _, c in got]
        wall = [w for w, _ in got]
        print(
            f"  {name:24} CPU {statistics.median(cpu):.2f} ms per call ({min(cpu):.2f}-{max(cpu):.2f}), "
            f"wall {statistics.median(wall):.2f} s ({min(wall):.2f}-{max(wall):.2f})"
        )
    ours, base = (statistics.median(c for _, c in figures[k]) for k in figures)
    print(f"  CPU ratio: {ours / base:.2f}x the baseline")


if __name__ == "__main__":
    anyio.run(main)
