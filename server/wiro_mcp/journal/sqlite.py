"""The journal on SQLite: a file shared by every server process of one machine (WAL, busy timeout,
connections kept open), or, when the file cannot be used, the same SQL on an in-memory database.
The rules themselves are in rules.py, the schema in schema.py.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

import anyio
import anyio.lowlevel
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


MAX_BATCH = 64  # programs in one transaction: another process waits at most for that many


class _Queued(Generic[T]):
    """One program waiting for its batch, and what came of it."""

    def __init__(self, program: Program[T], write: bool) -> None:
        self.program = program
        self.write = write
        self.woken = anyio.Event()  # its batch is done, or it is to lead the next one
        self.finished = False
        self.result: T | None = None
        self.error: Exception | None = None

    def run(self, db: sqlite3.Connection) -> bool:
        try:
            self.result = run_program(db, self.program)
            return True
        except Exception as exc:
            self.error = exc
            return False


class SqliteJournal(ProgramJournal):
    """One connection, kept open, used by one worker thread at a time: a process's writes queue in the
    event loop (cheap) rather than in threads contending for SQLite's write lock, which sleeps and
    retries (under hundreds of calls at once, most of a call's CPU went there). The writes queued
    while a batch is being written go together in the next one (a group commit): one trip to the
    worker thread and one transaction for up to MAX_BATCH of them, each program in a savepoint of its
    own, so one that fails takes nothing of the others with it. A write's caller has its answer only
    once its batch is committed: the write-ahead row before Run is on disk before Run is sent."""

    def __init__(self, path: Path, *, busy_seconds: float = 30.0) -> None:
        self.path = path
        self._busy = busy_seconds
        path.parent.mkdir(parents=True, exist_ok=True)
        self._use(self._connect())
        self._create()

    def _use(self, db: sqlite3.Connection) -> None:
        self._db = db
        self._lock = threading.Lock()  # the connection's one user
        self._queue: list[_Queued[Any]] = []  # programs waiting for the next batch, in order
        self._writing = False  # a batch is on its way: newcomers wait for the next one

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
        """`program` in the next batch; SQLite and OS failures become a JournalError. No `lock` is
        needed: a write transaction holds the whole file's write lock."""
        await anyio.lowlevel.checkpoint_if_cancelled()  # a caller cancelled already writes nothing
        queued = _Queued(program, write)
        self._queue.append(queued)
        # Shielded: a program once queued is carried out and its answer taken, as a worker thread's
        # work always was (a cancelled caller sees the cancel at its next await).
        with anyio.CancelScope(shield=True):
            if self._writing:
                await queued.woken.wait()  # its batch is done, or it leads the next one
            if not queued.finished:
                await self._write_batch()
        if queued.error is None:
            return queued.result  # pyright: ignore[reportReturnType]  # set when no error is
        if isinstance(queued.error, sqlite3.Error | OSError):
            raise JournalError(
                f"the task journal {self.path} cannot be {'written' if write else 'read'}: {queued.error}"
            ) from None
        raise queued.error

    async def _write_batch(self) -> None:
        """The queue's first MAX_BATCH programs in the worker thread; then the first of those left
        leads the next batch."""
        self._writing = True
        batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
        try:
            await anyio.to_thread.run_sync(self._run_batch, batch)
        finally:
            for queued in batch:
                queued.finished = True
                queued.woken.set()
            if self._queue:
                self._queue[0].woken.set()
            else:
                self._writing = False

    def _run_batch(self, batch: list[_Queued[Any]]) -> None:
        """In the worker thread: the batch in order, in one transaction when any of it writes."""
        with self._lock:
            db = self._db
            if not any(q.write for q in batch):
                for queued in batch:
                    queued.run(db)
                return
            try:
                db.execute("BEGIN IMMEDIATE")
                for queued in batch:
                    db.execute("SAVEPOINT program")
                    if queued.run(db):
                        db.execute("RELEASE program")
                    else:
                        db.execute("ROLLBACK TO program")
                        db.execute("RELEASE program")
                db.execute("COMMIT")
            except Exception as exc:  # the transaction itself failed: nothing of the batch holds
                if db.in_transaction:  # the connection stays in use: never left inside a transaction
                    db.execute("ROLLBACK")
                for queued in batch:
                    queued.error = queued.error or exc

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
        self._use(sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False))
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
