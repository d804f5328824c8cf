"""What the journal costs a call: CPU and wall time of N concurrent calls' journal writes (the
write-ahead row, the ids, three status updates), on the journal as it is (one connection; the writes
queued meanwhile go to the worker thread together, one transaction for each batch) against a
baseline in the same run that writes as the journal did before: each write on a worker thread of its
own (up to anyio's 40 at once), on a connection from a pool of 4 kept open (a fresh one when none is
free), all contending for SQLite's write lock. Prints figures; asserts nothing.

    python bench/journal_writes.py [--calls 200] [--runs 3]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

import anyio
import anyio.to_thread

from wiro_mcp.journal import NewRun, SqliteJournal, TaskUpdate
from wiro_mcp.journal.rules import Program
from wiro_mcp.journal.sqlite import run_program

T = TypeVar("T")

RUNNING = TaskUpdate(state="running", status="task_start", outputs=[], error="", cost_usd=None)


class ThreadsContending(SqliteJournal):
    """The baseline: the journal's writes as they were, from many threads on pooled connections."""

    def __init__(self, path: Path) -> None:
        self._pool: list[sqlite3.Connection] = []
        self._pool_lock = threading.Lock()
        super().__init__(path)

    def _transaction(self, work: Callable[[sqlite3.Connection], T], write: bool = True) -> T:
        with self._pool_lock:
            db = self._pool.pop() if self._pool else self._connect()
        try:
            if write:
                db.execute("BEGIN IMMEDIATE")
            result = work(db)
            if write:
                db.execute("COMMIT")
        except BaseException:
            db.close()
            raise
        with self._pool_lock:
            if len(self._pool) < 4:
                self._pool.append(db)
                return result
        db.close()
        return result

    async def _perform(self, program: Program[T], *, write: bool = True, lock: str | None = None) -> T:
        return await anyio.to_thread.run_sync(self._transaction, partial(run_program, program=program), write)


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
    figures: dict[str, list[tuple[float, float]]] = {"group commit": [], "baseline: threads contending": []}
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):  # interleaved, so the machine's state is shared between the two
            for name, kind in (
                ("group commit", SqliteJournal),
                ("baseline: threads contending", ThreadsContending),
            ):
                journal = kind(Path(tmp) / f"{run}-{kind.__name__}.sqlite3")
                figures[name].append(await calls(journal, args.calls))
                await journal.aclose()
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
