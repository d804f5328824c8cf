"""The task journal: every task this server started, kept so none is lost.

A row is written *before* Run is sent (state `submitting`, with what is sent), then completed with
Wiro's ids when Run answers; a Run whose answer never came becomes `unknown`. So a crash at any
point leaves a row that says a task may exist. Rows are keyed by the Wiro endpoint plus the task
id: the sandbox and the real API, or two endpoints, never merge.

    TaskJournal (protocol)
    └── SqliteJournal   a file shared by every server process (WAL, busy timeout, short connections)
        └── MemoryJournal   the same SQL on an in-memory database: this process only, when the file
                            cannot be used or is switched off

Every rule (repeats, the budget's spend) is SQL, in one place, whichever database holds the rows.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Generator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import anyio.to_thread

from wiro_mcp.errors import JournalError
from wiro_mcp.journal_records import (
    ACTIVE,
    ACTIVE_STATES,
    JOURNAL_STATES,
    RUN_SECONDS,
    UNCERTAIN_STATES,
    Budget,
    JournalEntry,
    NewRun,
    OverBudget,
    Query,
    TaskJournal,
    TaskUpdate,
)

__all__ = [
    "ACTIVE",
    "JOURNAL_STATES",
    "RUN_SECONDS",
    "UNCERTAIN_STATES",
    "Budget",
    "JournalEntry",
    "MemoryJournal",
    "NewRun",
    "OverBudget",
    "Query",
    "SqliteJournal",
    "TaskJournal",
    "TaskUpdate",
    "open_journal",
]

log = logging.getLogger(__name__)
T = TypeVar("T")

_SCHEMA_VERSION = 5  # the last of MIGRATIONS
_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    row INTEGER PRIMARY KEY AUTOINCREMENT,
    taskid TEXT,
    tasktoken TEXT,
    tool TEXT NOT NULL,
    slug TEXT NOT NULL,
    state TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT '',
    arguments TEXT NOT NULL DEFAULT '{}',
    outputs TEXT NOT NULL DEFAULT '[]',
    error TEXT NOT NULL DEFAULT '',
    cost_usd REAL,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    endpoint TEXT NOT NULL DEFAULT '',
    fingerprint TEXT NOT NULL DEFAULT '',
    quote_usd REAL,
    account TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS tasks_created ON tasks(created);
"""
# Numbered migrations, each bringing a journal of the version before it up: version 1 keyed rows by task
# id alone (ids of different endpoints could merge), 2 had no fingerprint for recognising a repeated
# call, 3 no quote, 4 no account (a budget then counted every account's spend under one base URL's
# spelling). Each adds one column; a journal that has it already (made before versions were counted)
# skips it.
MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (
        2,
        "endpoint",
        "ALTER TABLE tasks ADD COLUMN endpoint TEXT NOT NULL DEFAULT ''; DROP INDEX IF EXISTS tasks_taskid",
    ),
    (3, "fingerprint", "ALTER TABLE tasks ADD COLUMN fingerprint TEXT NOT NULL DEFAULT ''"),
    (4, "quote_usd", "ALTER TABLE tasks ADD COLUMN quote_usd REAL"),
    (5, "account", "ALTER TABLE tasks ADD COLUMN account TEXT NOT NULL DEFAULT ''"),
)
# What a row counts against a budget: the billed cost once known, else its quote while it may still
# be billed; failed and cancelled tasks are not billed unless Wiro reported a cost.
_SPENT = (
    "COALESCE(SUM(CASE WHEN state = 'completed' THEN COALESCE(cost_usd, quote_usd, 0) "
    "WHEN state IN ('failed', 'cancelled') THEN COALESCE(cost_usd, 0) ELSE COALESCE(quote_usd, 0) END), 0)"
)
# A row counts as the same call again while its task may still run, may have started unseen, or
# has just succeeded; after a failure or a cancel, the same call may run again.
_REPEATABLE = ("submitting", "unknown", "queued", "running", "completed")
_KEY_INDEX = "CREATE UNIQUE INDEX IF NOT EXISTS tasks_key ON tasks(endpoint, taskid) WHERE taskid IS NOT NULL"
_COLUMNS = (
    "row, endpoint, taskid, tasktoken, tool, slug, state, status, arguments, outputs, error, cost_usd, "
    "created, updated, quote_usd"
)


def _loads(text: Any, fallback: Any) -> Any:
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return fallback
    return value if isinstance(value, type(fallback)) else fallback


def _number(value: Any, fallback: float | None) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return fallback


def _entry(r: Sequence[Any]) -> JournalEntry:
    """A row as an entry; a damaged field reads as empty rather than breaking the whole listing."""
    return JournalEntry(
        row=int(r[0]),
        endpoint=str(r[1] or ""),
        taskid=None if r[2] is None else str(r[2]),
        tasktoken=str(r[3] or ""),
        tool=str(r[4] or ""),
        slug=str(r[5] or ""),
        state=str(r[6] or "unknown"),
        status=str(r[7] or ""),
        arguments=_loads(r[8], {}),
        outputs=_loads(r[9], []),
        error=str(r[10] or ""),
        cost_usd=_number(r[11], None),
        created=_number(r[12], 0.0) or 0.0,
        updated=_number(r[13], 0.0) or 0.0,
        quote_usd=_number(r[14], None),
    )


def _execute_all(db: sqlite3.Connection, script: str) -> None:
    """Statements one by one: executescript would commit the open transaction first."""
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def _migrate(db: sqlite3.Connection) -> None:
    """Bring any earlier journal to the current schema (a write, so it also proves the file writable)."""
    columns = {r[1] for r in db.execute("PRAGMA table_info(tasks)")}
    (version,) = db.execute("PRAGMA user_version").fetchone()
    for number, column, migration in MIGRATIONS:
        if columns and int(version) < number and column not in columns:
            _execute_all(db, migration)
    _execute_all(db, _SCHEMA)
    db.execute(_KEY_INDEX)
    db.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")


MAX_IDLE_CONNECTIONS = 4  # as many as worker threads usually write at once


class SqliteJournal:
    """Blocking SQLite work runs in a worker thread, on connections kept open and reused (opening one
    per write cost most of a call's CPU); each write is still its own short transaction, so other
    processes sharing the file wait at most for one of them."""

    def __init__(self, path: Path, *, busy_seconds: float = 30.0) -> None:
        self.path = path
        self._busy = busy_seconds
        self._idle: list[sqlite3.Connection] = []  # open connections not in use, newest last
        self._idle_lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._create()

    def __repr__(self) -> str:
        return f"SqliteJournal({str(self.path)!r})"

    @property
    def where(self) -> str:
        return str(self.path)

    @property
    def durable(self) -> bool:
        return True

    def _connect(self) -> sqlite3.Connection:
        # Used by one worker thread at a time, not always the same one: hence check_same_thread off.
        db = sqlite3.connect(self.path, timeout=self._busy, isolation_level=None, check_same_thread=False)
        db.execute(f"PRAGMA busy_timeout={int(self._busy * 1000)}")
        return db

    @contextlib.contextmanager
    def _connection(self) -> Generator[sqlite3.Connection, None, None]:
        """An open connection, reused; one that failed is closed rather than kept (its state is unknown)."""
        with self._idle_lock:
            db = self._idle.pop() if self._idle else None
        db = db or self._connect()
        try:
            yield db
        except BaseException:
            db.close()
            raise
        with self._idle_lock:
            if len(self._idle) < MAX_IDLE_CONNECTIONS:
                self._idle.append(db)
                return
        db.close()

    def _transaction(self, work: Callable[[sqlite3.Connection], T], write: bool = True) -> T:
        """`work` on one connection, inside a write transaction unless it only reads."""
        with self._connection() as db:
            if not write:
                return work(db)
            db.execute("BEGIN IMMEDIATE")
            try:
                result = work(db)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            return result

    async def _in_thread(self, work: Callable[[sqlite3.Connection], T], write: bool = True) -> T:
        """The blocking work in a worker thread; SQLite and OS failures become a JournalError."""
        try:
            return await anyio.to_thread.run_sync(self._transaction, work, write)
        except (sqlite3.Error, OSError) as exc:
            raise JournalError(
                f"the task journal {self.path} cannot be {'written' if write else 'read'}: {exc}"
            ) from None

    async def _run(self, sql: str, args: Sequence[Any]) -> int:
        return await self._in_thread(lambda db: db.execute(sql, args).rowcount)

    def _create(self) -> None:
        db = self._connect()
        try:
            # Two processes creating a new journal at once may find it locked: the WAL switch is retried.
            deadline = time.monotonic() + self._busy
            while True:
                try:
                    db.execute("PRAGMA journal_mode=WAL")
                    break
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) or time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
        finally:
            db.close()
        self._transaction(_migrate)

    async def begin(self, run: NewRun) -> int | JournalEntry | OverBudget:
        def check_then_insert(db: sqlite3.Connection) -> int | JournalEntry | OverBudget:
            if run.fingerprint and run.repeat_since is not None:
                found = db.execute(
                    f"SELECT {_COLUMNS} FROM tasks WHERE endpoint = ? AND fingerprint = ? AND created >= ? "
                    f"AND state IN ({', '.join('?' * len(_REPEATABLE))}) ORDER BY created DESC LIMIT 1",
                    (run.endpoint, run.fingerprint, run.repeat_since, *_REPEATABLE),
                ).fetchone()
                if found is not None:
                    return _entry(found)
            if run.budget is not None:
                (spent,) = db.execute(
                    f"SELECT {_SPENT} FROM tasks WHERE account = ? AND created >= ?",
                    (run.budget.account, run.budget.since),
                ).fetchone()
                if float(spent) + (run.quote_usd or 0.0) > run.budget.limit_usd + 1e-9:
                    return OverBudget(float(spent), run.budget.limit_usd)
            now = time.time()
            cursor = db.execute(
                "INSERT INTO tasks (endpoint, taskid, tasktoken, tool, slug, state, arguments, fingerprint, "
                "created, updated, quote_usd, account) VALUES (?, NULL, '', ?, ?, 'submitting', ?, ?, ?, ?, ?, ?)",
                (
                    run.endpoint,
                    run.tool,
                    run.slug,
                    json.dumps(run.arguments),
                    run.fingerprint,
                    now,
                    now,
                    run.quote_usd,
                    run.account,
                ),
            )
            return cursor.lastrowid or 0

        return await self._in_thread(check_then_insert)

    async def started(self, row: int, *, taskid: str, tasktoken: str) -> None:
        sql = "UPDATE tasks SET taskid = ?, tasktoken = ?, state = 'queued', updated = ? WHERE row = ?"
        await self._run(sql, (taskid, tasktoken, time.time(), row))

    async def unknown(self, row: int, *, error: str) -> None:
        sql = "UPDATE tasks SET state = 'unknown', error = ?, updated = ? WHERE row = ?"
        await self._run(sql, (error, time.time(), row))

    async def discard(self, row: int) -> None:
        await self._run("DELETE FROM tasks WHERE row = ? AND state = 'submitting'", (row,))

    async def update(self, *, endpoint: str, taskid: str, update: TaskUpdate) -> None:
        sql = (
            "UPDATE tasks SET state = ?, status = ?, outputs = ?, error = ?, cost_usd = ?, updated = ? "
            "WHERE endpoint = ? AND taskid = ?"
        )
        args = (
            update.state,
            update.status,
            json.dumps(update.outputs),
            update.error,
            update.cost_usd,
            time.time(),
            endpoint,
            taskid,
        )
        await self._run(sql, args)

    async def _select(self, where: str, args: Sequence[Any], limit: int) -> list[JournalEntry]:
        sql = f"SELECT {_COLUMNS} FROM tasks {where} ORDER BY created DESC, row DESC LIMIT ?"
        rows = await self._in_thread(lambda db: db.execute(sql, (*args, limit)).fetchall(), write=False)
        return [_entry(r) for r in rows]

    async def count(self) -> int:
        return await self._in_thread(
            lambda db: int(db.execute("SELECT COUNT(*) FROM tasks").fetchone()[0]), False
        )

    async def recent(self, query: Query) -> list[JournalEntry]:
        clauses: list[str] = []
        args: list[Any] = []
        for column, value in (("endpoint", query.endpoint), ("tool", query.tool)):
            if value:
                clauses.append(f"{column} = ?")
                args.append(value)
        if query.state:  # `active`: the tasks that may still change (queued or running)
            states = ACTIVE_STATES if query.state == ACTIVE else (query.state,)
            clauses.append(f"state IN ({', '.join('?' for _ in states)})")
            args.extend(states)
        if query.since is not None:
            clauses.append("created >= ?")
            args.append(query.since)
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        return await self._select(where, args, query.limit)

    async def find(self, *, endpoint: str, taskid: str | None, tasktoken: str | None) -> JournalEntry | None:
        column, value = ("taskid", taskid) if taskid else ("tasktoken", tasktoken)
        found = await self._select(f"WHERE endpoint = ? AND {column} = ?", [endpoint, value], 1)
        return found[0] if found else None

    async def clear(self) -> int:
        return await self._run("DELETE FROM tasks", ())


class MemoryJournal(SqliteJournal):
    """The journal of this process alone, lost when it exits: the same SQL on one in-memory database
    (one connection, used by one thread at a time); `reason` says why it is in use."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        self.path = Path(":memory:")
        self._busy = 30.0
        self._db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()
        self._transaction(_migrate)

    def __repr__(self) -> str:
        return "MemoryJournal()"

    @property
    def where(self) -> str:
        return f"in memory only, lost when the server stops ({self.reason})"

    @property
    def durable(self) -> bool:
        return False

    @contextlib.contextmanager
    def _connection(self) -> Generator[sqlite3.Connection, None, None]:
        with self._lock:
            yield self._db


def open_journal(path: Path | None) -> TaskJournal:
    """The journal file at `path`, or, when it cannot be used, one in memory: a broken journal is
    said once in the log and never stops the server."""
    if path is None:
        return MemoryJournal("the journal is off: WIRO_MCP_JOURNAL=off")
    try:
        return SqliteJournal(path)
    except (sqlite3.Error, OSError) as exc:
        reason = f"{path} cannot be used: {exc}"
        log.error("task journal %s; keeping tasks in memory only", reason)
        return MemoryJournal(reason)
