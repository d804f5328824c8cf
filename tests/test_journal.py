"""The journal directly: write-ahead rows, endpoint keys, migration, faults, and sharing between processes."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import anyio
import pytest

from wiro_mcp.errors import JournalError
from wiro_mcp.journal import (
    Budget,
    MemoryJournal,
    NewRun,
    OverBudget,
    Query,
    SqliteJournal,
    TaskJournal,
    TaskUpdate,
    open_journal,
)

pytestmark = pytest.mark.anyio
DONE = TaskUpdate(state="completed", status="task_postprocess_end", outputs=[], error="", cost_usd=0.01)
KINDS = ["memory", "sqlite", "postgres"]  # every journal keeps the same contract


@pytest.fixture(params=KINDS)
async def journal(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[TaskJournal]:
    if request.param == "memory":
        made: TaskJournal = MemoryJournal("tests")
    elif request.param == "sqlite":
        made = SqliteJournal(tmp_path / "j.sqlite3")
    else:
        made = await open_journal(request.getfixturevalue("postgres_url"))
    try:
        yield made
    finally:
        await made.aclose()


async def test_a_row_is_written_before_run_and_completed_after(journal: TaskJournal) -> None:
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


async def test_the_same_id_on_two_endpoints_never_merges(journal: TaskJournal) -> None:
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


async def test_a_refused_run_leaves_no_row_and_a_lost_answer_stays_unknown(journal: TaskJournal) -> None:
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


async def test_row_numbers_are_never_reused_after_a_discard(journal: TaskJournal) -> None:
    first = await journal.begin(NewRun(endpoint="e", tool="a", slug="s/p", arguments={}))
    second = await journal.begin(NewRun(endpoint="e", tool="b", slug="s/p", arguments={}))
    await journal.discard(first)
    third = await journal.begin(NewRun(endpoint="e", tool="c", slug="s/p", arguments={}))
    assert third not in (first, second)
    assert sorted(e.tool for e in await journal.recent(Query())) == ["b", "c"]


async def test_a_budget_counts_billed_costs_and_quotes_of_what_may_still_be_billed(
    journal: TaskJournal,
) -> None:
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


async def test_a_run_being_sent_reads_starting_and_only_a_lost_answer_warns(journal: TaskJournal) -> None:
    row = await journal.begin(NewRun(endpoint="e", tool="t", slug="a/b", arguments={}))
    assert isinstance(row, int)
    (fresh,) = await journal.recent(Query())
    assert fresh.as_json()["note"].startswith("starting") and "warning" not in fresh.as_json()
    stale = replace(fresh, created=fresh.created - 600)  # a Run that never answered in ten minutes
    assert "warning" in stale.as_json() and "note" not in stale.as_json()
    await journal.unknown(row, error="no answer")
    (lost,) = await journal.recent(Query())
    assert "may have reached Wiro" in lost.as_json()["warning"]


async def test_active_lists_the_tasks_that_may_still_change(journal: TaskJournal) -> None:
    for taskid, state in (("1", "queued"), ("2", "running"), ("3", "completed"), ("4", "cancelled")):
        row = await journal.begin(NewRun(endpoint="e", tool="t", slug="s/p", arguments={"n": taskid}))
        await journal.started(row, taskid=taskid, tasktoken="")
        if state != "queued":
            await journal.update(endpoint="e", taskid=taskid, update=replace(DONE, state=state))
    active = await journal.recent(Query(state="active"))
    assert sorted(e.taskid or "" for e in active) == ["1", "2"]
    assert [e.taskid for e in await journal.recent(Query(state="completed"))] == ["3"]


def owned_run(
    owner: str, n: int, quote: float, budget: Budget | None = None, fingerprint: str = ""
) -> NewRun:
    return NewRun(
        endpoint="e",
        tool="t",
        slug="a/b",
        arguments={"n": n},
        fingerprint=fingerprint,
        repeat_since=0.0 if fingerprint else None,
        quote_usd=quote,
        budget=budget,
        account="acct",
        owner=owner,
    )


async def test_repeats_and_listings_are_per_owner(journal: TaskJournal) -> None:
    first = await journal.begin(owned_run("ann", 1, 0.1, fingerprint="same"))
    assert isinstance(first, int)
    await journal.started(first, taskid="1", tasktoken="t1")
    again = await journal.begin(owned_run("ann", 1, 0.1, fingerprint="same"))
    assert not isinstance(again, int | OverBudget) and again.taskid == "1" and again.owner == "ann"
    # Another person's identical call is a call of their own, never handed ann's task.
    assert isinstance(await journal.begin(owned_run("bob", 1, 0.1, fingerprint="same")), int)
    assert [e.owner for e in await journal.recent(Query(owner="ann"))] == ["ann"]
    assert sorted(e.owner for e in await journal.recent(Query())) == ["ann", "bob"]


async def test_each_owner_has_a_budget_and_the_team_one_more(journal: TaskJournal) -> None:
    budget = Budget(limit_usd=0.5, since=0.0, account="acct", team_usd=0.8)
    assert isinstance(await journal.begin(owned_run("ann", 1, 0.4, budget)), int)
    mine = await journal.begin(owned_run("ann", 2, 0.2, budget))  # 0.6 > ann's 0.5
    assert isinstance(mine, OverBudget) and not mine.team and mine.spent_usd == pytest.approx(0.4)
    assert isinstance(await journal.begin(owned_run("bob", 3, 0.4, budget)), int)
    team = await journal.begin(owned_run("cyd", 4, 0.1, budget))  # cyd has spent nothing, the team 0.8
    assert isinstance(team, OverBudget) and team.team and team.limit_usd == 0.8


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_concurrent_runs_of_three_owners_never_pass_either_budget(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """200 begins at once from 3 owners through two journals on one database (two processes or two
    replicas): no owner past 1.0, the team never past 2.0."""
    if kind == "postgres":
        url = request.getfixturevalue("postgres_url")
        journals: list[TaskJournal] = [await open_journal(url), await open_journal(url)]
    else:
        journals = [SqliteJournal(tmp_path / "j.sqlite3"), SqliteJournal(tmp_path / "j.sqlite3")]
    budget = Budget(limit_usd=1.0, since=0.0, account="acct", team_usd=2.0)

    async def one(n: int) -> None:
        await journals[n % 2].begin(owned_run(("ann", "bob", "cyd")[n % 3], n, 0.07, budget))

    try:
        async with anyio.create_task_group() as tg:
            for n in range(200):
                tg.start_soon(one, n)
        rows = await journals[0].recent(Query(limit=1000))
    finally:
        for j in journals:
            await j.aclose()
    spent = {o: sum(e.quote_usd or 0 for e in rows if e.owner == o) for o in ("ann", "bob", "cyd")}
    assert all(s <= 1.0 + 1e-9 for s in spent.values()), spent
    assert 2.0 - 0.07 < sum(spent.values()) <= 2.0 + 1e-9, spent  # filled up to the team's budget, not past


async def test_a_key_is_used_once_until_it_expires(journal: TaskJournal) -> None:
    import time

    assert await journal.first_use("confirm:abc", time.time() + 60)
    assert not await journal.first_use("confirm:abc", time.time() + 60)  # a replay
    assert await journal.first_use("confirm:old", time.time() - 1)
    assert await journal.first_use("confirm:old", time.time() + 60)  # expired ones are let go


def test_a_database_url_is_shown_without_its_password() -> None:
    from wiro_mcp.journal import shown_url

    shown = shown_url("postgresql://wiro:s3cret-pass@db.internal:5433/team?sslmode=require&password=x")
    assert shown == "postgresql://wiro@db.internal:5433/team" and "s3cret" not in shown


async def test_an_unreachable_database_is_a_clear_error_naming_no_password() -> None:
    from tests.postgres import free_port
    from wiro_mcp.errors import ConfigError

    with pytest.raises(ConfigError) as refused:
        await open_journal(f"postgresql://wiro:s3cret-pass@127.0.0.1:{free_port()}/team")
    assert "postgresql://wiro@127.0.0.1" in str(refused.value) and "s3cret" not in str(refused.value)


async def test_writes_at_once_each_keep_their_own_outcome(journal: TaskJournal) -> None:
    """Many calls' rows written together: each gets its own row, and one that cannot be written (its
    arguments are not JSON) costs the others nothing."""
    got: dict[int, object] = {}

    async def one(n: int) -> None:
        arguments: dict[str, object] = {"n": n} if n != 7 else {"not json": object()}
        run = NewRun(endpoint="e", tool="t", slug="s/p", arguments=arguments, fingerprint=str(n))
        try:
            got[n] = await journal.begin(run)
        except TypeError as exc:
            got[n] = exc

    async with anyio.create_task_group() as tg:
        for n in range(40):
            tg.start_soon(one, n)
    assert isinstance(got.pop(7), TypeError)
    assert all(isinstance(row, int) for row in got.values()) and len(set(got.values())) == 39
    assert await journal.count() == 39


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
async def test_a_caller_cancelled_before_its_write_writes_nothing(kind: str, tmp_path: Path) -> None:
    journal = MemoryJournal("tests") if kind == "memory" else SqliteJournal(tmp_path / "j.sqlite3")
    with anyio.CancelScope() as scope:
        scope.cancel()
        await journal.begin(NewRun(endpoint="e", tool="t", slug="s/p", arguments={}))
    assert await journal.count() == 0
    await journal.aclose()
