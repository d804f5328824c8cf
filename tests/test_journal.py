"""The journal directly: write-ahead rows, endpoint keys, migration, faults, and sharing between processes."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from wiro_mcp.errors import JournalError
from wiro_mcp.journal import (
    Budget,
    MemoryJournal,
    NewRun,
    OverBudget,
    Query,
    SqliteJournal,
    TaskUpdate,
    open_journal,
)

pytestmark = pytest.mark.anyio
DONE = TaskUpdate(state="completed", status="task_postprocess_end", outputs=[], error="", cost_usd=0.01)


async def test_a_row_is_written_before_run_and_completed_after(tmp_path: Path) -> None:
    journal = SqliteJournal(tmp_path / "j.sqlite3")
    row = await journal.begin(
        NewRun(endpoint="https://a/v1", tool="reve_generate", slug="reve/generate", arguments={"prompt": "x"})
    )
    (pending,) = await journal.recent(Query())
    assert pending.state == "submitting" and pending.taskid is None
    assert pending.as_json()["note"].startswith("starting")  # being sent now: no alarm yet
    await journal.started(row, taskid="42", tasktoken="tok")
    await journal.update(endpoint="https://a/v1", taskid="42", update=DONE)
    (done,) = await journal.recent(Query())
    assert (done.taskid, done.tasktoken, done.state, done.cost_usd) == ("42", "tok", "completed", 0.01)
    assert "warning" not in done.as_json()


async def test_the_same_id_on_two_endpoints_never_merges(tmp_path: Path) -> None:
    journal = SqliteJournal(tmp_path / "j.sqlite3")
    for endpoint, tool in (
        ("sandbox", "reve_generate"),
        ("https://api.wiro.ai/v1", "pixverse_image_to_video_v4"),
    ):
        row = await journal.begin(NewRun(endpoint=endpoint, tool=tool, slug="s/p", arguments={}))
        await journal.started(row, taskid="1001", tasktoken="t")
    await journal.update(endpoint="sandbox", taskid="1001", update=DONE)
    rows = {e.endpoint: e for e in await journal.recent(Query())}
    assert rows["sandbox"].tool == "reve_generate" and rows["sandbox"].state == "completed"
    assert rows["https://api.wiro.ai/v1"].tool == "pixverse_image_to_video_v4"
    assert rows["https://api.wiro.ai/v1"].state == "queued"
    assert [e.tool for e in await journal.recent(Query(endpoint="sandbox"))] == ["reve_generate"]
    found = await journal.find(endpoint="https://api.wiro.ai/v1", taskid="1001", tasktoken=None)
    assert found is not None and found.tool == "pixverse_image_to_video_v4"


async def test_a_refused_run_leaves_no_row_and_a_lost_answer_stays_unknown(tmp_path: Path) -> None:
    journal = SqliteJournal(tmp_path / "j.sqlite3")
    refused = await journal.begin(NewRun(endpoint="e", tool="t", slug="s/p", arguments={}))
    await journal.discard(refused)
    lost = await journal.begin(NewRun(endpoint="e", tool="t", slug="s/p", arguments={"prompt": "p"}))
    await journal.unknown(lost, error="no answer")
    (entry,) = await journal.recent(Query())
    assert entry.state == "unknown" and entry.error == "no answer" and entry.arguments == {"prompt": "p"}


async def test_a_version_1_journal_is_migrated_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as db:
        db.executescript(
            """CREATE TABLE tasks (row INTEGER PRIMARY KEY AUTOINCREMENT, taskid TEXT, tasktoken TEXT,
            tool TEXT NOT NULL, slug TEXT NOT NULL, state TEXT NOT NULL, status TEXT NOT NULL DEFAULT '',
            arguments TEXT NOT NULL DEFAULT '{}', outputs TEXT NOT NULL DEFAULT '[]', error TEXT NOT NULL DEFAULT '',
            cost_usd REAL, created REAL NOT NULL, updated REAL NOT NULL);
            CREATE UNIQUE INDEX tasks_taskid ON tasks(taskid) WHERE taskid IS NOT NULL;
            INSERT INTO tasks (taskid, tasktoken, tool, slug, state, created, updated)
            VALUES ('1001', 't', 'reve_generate', 'reve/generate', 'completed', 1, 1);"""
        )
    journal = SqliteJournal(path)
    row = await journal.begin(
        NewRun(endpoint="sandbox", tool="reve_generate", slug="reve/generate", arguments={})
    )
    await journal.started(row, taskid="1001", tasktoken="u")  # the same id, another endpoint: a new row
    assert sorted((e.endpoint, e.taskid) for e in await journal.recent(Query())) == [
        ("", "1001"),
        ("sandbox", "1001"),
    ]


async def test_one_damaged_row_does_not_break_the_listing(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    journal = SqliteJournal(path)
    for n in range(2):
        row = await journal.begin(NewRun(endpoint="e", tool="t", slug="s/p", arguments={"n": n}))
        await journal.started(row, taskid=str(n), tasktoken="t")
    with sqlite3.connect(path) as db:
        db.execute(
            "UPDATE tasks SET arguments = '{broken', outputs = 'null', created = 'soon' WHERE taskid = '0'"
        )
    entries = {e.taskid: e for e in await journal.recent(Query())}
    assert entries["0"].arguments == {} and entries["0"].outputs == [] and entries["1"].arguments == {"n": 1}


def make_read_only(path: Path) -> None:
    """The file and its folder read-only, even for root (who ignores permission bits): the immutable
    attribute, where it can be set."""
    for extra in path.parent.glob(f"{path.name}-*"):
        extra.unlink()
    for target in (path, path.parent):
        target.chmod(0o500 if target.is_dir() else 0o400)
        if (
            os.geteuid() == 0
            and subprocess.run(["chattr", "+i", str(target)], capture_output=True).returncode
        ):
            pytest.skip("running as root without chattr: nothing can be made read-only here")


@pytest.mark.parametrize("damage", ["corrupt", "read-only", "a folder"])
async def test_a_journal_that_cannot_be_used_falls_back_to_memory(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "j.sqlite3"
    if damage == "corrupt":
        path.write_bytes(b"this is not a database" * 100)
    elif damage == "read-only":
        SqliteJournal(path)
        make_read_only(path)
    else:
        path.mkdir()
    try:
        journal = await open_journal(path)
        assert isinstance(journal, MemoryJournal) and str(path) in journal.where and "memory" in journal.where
        row = await journal.begin(NewRun(endpoint="e", tool="t", slug="s/p", arguments={}))
        await journal.started(row, taskid="7", tasktoken="t")
        assert [e.taskid for e in await journal.recent(Query(endpoint="e"))] == ["7"]
    finally:
        for target in (path.parent, path):
            subprocess.run(["chattr", "-i", str(target)], capture_output=True, check=False)
        tmp_path.chmod(0o700)


async def test_a_locked_journal_raises_a_journal_error_in_bounded_time(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    journal = SqliteJournal(path, busy_seconds=0.2)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(JournalError, match="cannot be written"):
            await journal.begin(NewRun(endpoint="e", tool="t", slug="s/p", arguments={}))
    finally:
        holder.execute("ROLLBACK")
        holder.close()


WRITER = """
import anyio, sys
from pathlib import Path
from wiro_mcp.journal import NewRun, SqliteJournal, TaskUpdate

async def main():
    journal = SqliteJournal(Path(sys.argv[1]))
    done = TaskUpdate(state="completed", status="task_postprocess_end", outputs=[], error="", cost_usd=0.01)
    for i in range(int(sys.argv[3])):
        taskid = f"{sys.argv[2]}-{i}"
        row = await journal.begin(NewRun(endpoint="e", tool="reve_generate", slug="reve/generate", arguments={"i": i}))
        await journal.started(row, taskid=taskid, tasktoken="t")
        await journal.update(endpoint="e", taskid=taskid, update=done)

anyio.run(main)
"""


def test_two_processes_creating_and_writing_one_journal_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"  # does not exist yet: both create it at once
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), name, "150"]) for name in ("a", "b")
    ]
    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT COUNT(*), COUNT(DISTINCT taskid), SUM(state = 'completed') FROM tasks"
        ).fetchone()
    assert rows == (300, 300, 300)


async def test_the_memory_journal_keeps_rows_apart_after_a_discard() -> None:
    journal = MemoryJournal("tests")
    first = await journal.begin(NewRun(endpoint="e", tool="a", slug="s/p", arguments={}))
    second = await journal.begin(NewRun(endpoint="e", tool="b", slug="s/p", arguments={}))
    await journal.discard(first)
    third = await journal.begin(NewRun(endpoint="e", tool="c", slug="s/p", arguments={}))
    assert third not in (first, second)
    assert sorted(e.tool for e in await journal.recent(Query())) == ["b", "c"]


@pytest.mark.parametrize("kind", ["sqlite", "memory"])
async def test_a_budget_counts_billed_costs_and_quotes_of_what_may_still_be_billed(
    tmp_path: Path, kind: str
) -> None:
    journal = SqliteJournal(tmp_path / "j.sqlite3") if kind == "sqlite" else MemoryJournal("test")
    budget = Budget(limit_usd=1.0, since=0.0, account="acct-a")

    def run(n: int, quote: float, endpoint: str = "e") -> NewRun:
        return NewRun(
            endpoint=endpoint,
            tool="t",
            slug="a/b",
            arguments={"n": n},
            quote_usd=quote,
            budget=budget,
            account="acct-a",
        )

    done = await journal.begin(run(1, 0.5))
    assert isinstance(done, int)
    await journal.started(done, taskid="1", tasktoken="x")
    # Quoted 0.50, billed 0.30: the billed cost is what counts once known.
    await journal.update(
        endpoint="e", taskid="1", update=TaskUpdate("completed", "task_postprocess_end", [], "", 0.3)
    )
    failed = await journal.begin(run(2, 0.4))
    assert isinstance(failed, int)
    await journal.started(failed, taskid="2", tasktoken="y")
    await journal.update(
        endpoint="e", taskid="2", update=TaskUpdate("failed", "task_postprocess_end", [], "x", 0.0)
    )
    running = await journal.begin(run(3, 0.4))  # still running: counts at its quote
    assert isinstance(running, int)
    refused = await journal.begin(run(4, 0.31))  # 0.3 + 0 + 0.4 + 0.31 > 1.0
    assert isinstance(refused, OverBudget) and refused.spent_usd == pytest.approx(0.7)
    assert isinstance(await journal.begin(run(5, 0.3)), int)  # exactly reaching the limit is allowed
    # The same account reached by another spelling of the URL: the same budget.
    assert isinstance(await journal.begin(run(6, 0.01, endpoint="http://127.0.0.1/v1#acct-a")), OverBudget)
    other = NewRun(
        endpoint="e",
        tool="t",
        slug="a/b",
        arguments={},
        quote_usd=0.9,
        budget=replace(budget, account="acct-b"),
    )
    assert isinstance(await journal.begin(other), int)  # another account's spend is its own


async def test_a_run_being_sent_reads_starting_and_only_a_lost_answer_warns() -> None:
    journal = MemoryJournal("test")
    row = await journal.begin(NewRun(endpoint="e", tool="t", slug="a/b", arguments={}))
    assert isinstance(row, int)
    (fresh,) = await journal.recent(Query())
    assert fresh.as_json()["note"].startswith("starting") and "warning" not in fresh.as_json()
    stale = replace(fresh, created=fresh.created - 600)  # a Run that never answered in ten minutes
    assert "warning" in stale.as_json() and "note" not in stale.as_json()
    await journal.unknown(row, error="no answer")
    (lost,) = await journal.recent(Query())
    assert "may have reached Wiro" in lost.as_json()["warning"]


async def test_active_lists_the_tasks_that_may_still_change() -> None:
    journal = MemoryJournal("tests")
    for taskid, state in (("1", "queued"), ("2", "running"), ("3", "completed"), ("4", "cancelled")):
        row = await journal.begin(NewRun(endpoint="e", tool="t", slug="s/p", arguments={"n": taskid}))
        await journal.started(row, taskid=taskid, tasktoken="")
        if state != "queued":
            await journal.update(endpoint="e", taskid=taskid, update=replace(DONE, state=state))
    active = await journal.recent(Query(state="active"))
    assert sorted(e.taskid or "" for e in active) == ["1", "2"]
    assert [e.taskid for e in await journal.recent(Query(state="completed"))] == ["3"]
