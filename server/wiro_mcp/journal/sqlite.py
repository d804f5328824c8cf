"""The journal on SQLite: a file shared by every server process of one machine (WAL, busy timeout,
connections kept open), or, when the file cannot be used, the same SQL on an in-memory database.
The rules themselves are in rules.py, the schema in schema.py.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

import anyio.to_thread

from wiro_mcp.errors import JournalError
from wiro_mcp.journal import schema
from wiro_mcp.journal.driven import ProgramJournal
from wiro_mcp.journal.rules import Outcome, Program, Statement

T = TypeVar("T")


def _execute(db: sqlite3.Connection, statement: Statement) -> Outcome:
    cursor = db.execute(statement.sql, statement.args)
    return Outcome(rows=cursor.fetchall(), rowcount=cursor.rowcount)


def run_program(db: sqlite3.Connection, program: Program[T]) -> T:
    """A program's statements on `db`, each sent its outcome in turn."""
    try:
        statement = next(program)
        while True:
            statement = program.send(_execute(db, statement))
    except StopIteration as done:
        return done.value  # pyright: ignore[reportReturnType]  # a program's return value


def _migrate(db: sqlite3.Connection) -> None:
    """Bring any earlier journal to the current schema (a write, so it also proves the file writable)."""
    columns = {r[1] for r in db.execute("PRAGMA table_info(tasks)")}
    (version,) = db.execute("PRAGMA user_version").fetchone()
    for migration in schema.pending(int(version)):
        if columns and migration.column not in columns:
            for statement in schema.statements(migration.sqlite):
                db.execute(statement)
    for statement in schema.statements(schema.SQLITE):
        db.execute(statement)
    db.execute(f"PRAGMA user_version={schema.VERSION}")


class SqliteJournal(ProgramJournal):
    """One connection, kept open, used by one worker thread at a time: a process's writes queue in the
    event loop (cheap) rather than in threads contending for SQLite's write lock, which sleeps and
    retries (under hundreds of calls at once, most of a call's CPU went there). Each write is still
    its own short transaction, so other processes sharing the file wait at most for one of them."""

    def __init__(self, path: Path, *, busy_seconds: float = 30.0) -> None:
        self.path = path
        self._busy = busy_seconds
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = self._connect()
        self._lock = threading.Lock()  # the connection's one user, even outside the limiter
        self._limiter: anyio.CapacityLimiter | None = None  # made in the event loop, at the first use
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

    def _transaction(self, work: Callable[[sqlite3.Connection], T], write: bool = True) -> T:
        """`work` inside a write transaction (taken at once: BEGIN IMMEDIATE) unless it only reads."""
        with self._lock:
            db = self._db
            if not write:
                return work(db)
            db.execute("BEGIN IMMEDIATE")
            try:
                result = work(db)
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:  # the connection stays in use: never left inside a transaction
                    db.execute("ROLLBACK")
                raise
            return result

    async def _perform(self, program: Program[T], *, write: bool = True, lock: str | None = None) -> T:
        """The blocking work in a worker thread, one at a time; SQLite and OS failures become a
        JournalError. No `lock` is needed: a write transaction holds the whole file's write lock."""
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(1)
        try:
            return await anyio.to_thread.run_sync(
                self._transaction, partial(run_program, program=program), write, limiter=self._limiter
            )
        except (sqlite3.Error, OSError) as exc:
            raise JournalError(
                f"the task journal {self.path} cannot be {'written' if write else 'read'}: {exc}"
            ) from None

    def _create(self) -> None:
        try:
            # Two processes creating a new journal at once may find it locked: the WAL switch is retried.
            deadline = time.monotonic() + self._busy
            while True:
                try:
                    self._db.execute("PRAGMA journal_mode=WAL")
                    break
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) or time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            self._transaction(_migrate)
        except BaseException:
            self._db.close()
            raise

    async def aclose(self) -> None:
        with self._lock:
            self._db.close()


class MemoryJournal(SqliteJournal):
    """The journal of this process alone, lost when it exits: the same SQL on one in-memory database;
    `reason` says why it is in use."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        self.path = Path(":memory:")
        self._busy = 30.0
        self._db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()
        self._limiter = None
        self._transaction(_migrate)

    def __repr__(self) -> str:
        return "MemoryJournal()"

    @property
    def where(self) -> str:
        return f"in memory only, lost when the server stops ({self.reason})"

    @property
    def durable(self) -> bool:
        return False

    async def aclose(self) -> None:
        return  # its one database is its memory: closing it would lose the tasks
