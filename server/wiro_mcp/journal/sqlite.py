"""The journal on SQLite: a file shared by every server process of one machine (WAL, busy timeout,
connections kept open), or, when the file cannot be used, the same SQL on an in-memory database.
The rules themselves are in rules.py, the schema in schema.py.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable, Generator
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


MAX_IDLE_CONNECTIONS = 4  # as many as worker threads usually write at once


class SqliteJournal(ProgramJournal):
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
        """`work` on one connection, inside a write transaction (taken at once: BEGIN IMMEDIATE)
        unless it only reads."""
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

    async def _perform(self, program: Program[T], *, write: bool = True, lock: str | None = None) -> T:
        """The blocking work in a worker thread; SQLite and OS failures become a JournalError. No `lock`
        is needed: a write transaction holds the whole file's write lock from its start."""
        try:
            return await anyio.to_thread.run_sync(
                self._transaction, partial(run_program, program=program), write
            )
        except (sqlite3.Error, OSError) as exc:
            raise JournalError(
                f"the task journal {self.path} cannot be {'written' if write else 'read'}: {exc}"
            ) from None

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

    async def aclose(self) -> None:
        with self._idle_lock:
            idle, self._idle = self._idle, []
        for db in idle:
            db.close()


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

    async def aclose(self) -> None:
        return  # its one database is its memory: closing it would lose the tasks
