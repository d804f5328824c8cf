"""The journal on PostgreSQL, shared by every replica: psycopg 3's async connections from a pool.

The rules are rules.py's, run on one connection inside one transaction. What SQLite gets from its
write lock, PostgreSQL gets from a transaction-scoped advisory lock on the account: a Run's repeat
check, both budgets' check and its row are one step for every replica at once. Replicas starting
together migrate the schema one at a time (another advisory lock).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, LiteralString, TypeVar, cast
from urllib.parse import urlsplit

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from wiro_mcp.errors import ConfigError, JournalError
from wiro_mcp.journal import schema, shown_url
from wiro_mcp.journal.driven import ProgramJournal
from wiro_mcp.journal.rules import Outcome, Program, Statement

T = TypeVar("T")
Connection = psycopg.AsyncConnection[tuple[Any, ...]]
# Keys of the advisory locks (any fixed numbers; they only have to differ from each other).
MIGRATION_LOCK = 7_310_001
POOL_MOST = 10  # connections per replica; each transaction holds one for a few milliseconds
CONNECT_SECONDS = 10.0


def _sql(text: str) -> LiteralString:
    """Our own statement, for the driver: rules.py and schema.py build them from constants only
    (values always travel as parameters), which the type checker cannot follow through a format."""
    return cast(LiteralString, text.replace("?", "%s"))


async def _execute(db: Connection, statement: Statement) -> Outcome:
    cursor = await db.execute(_sql(statement.sql), statement.args)
    rows: list[Sequence[Any]] = list(await cursor.fetchall()) if cursor.description else []
    return Outcome(rows=rows, rowcount=cursor.rowcount)


async def run_program(db: Connection, program: Program[T]) -> T:
    try:
        statement = next(program)
        while True:
            statement = program.send(await _execute(db, statement))
    except StopIteration as done:
        return done.value  # pyright: ignore[reportReturnType]  # a program's return value


async def _migrate(db: Connection) -> None:
    await db.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
    for statement in schema.statements(schema.POSTGRES):
        await db.execute(_sql(statement))
    found = await (await db.execute("SELECT version FROM journal_version")).fetchone()
    version = schema.VERSION if found is None else int(found[0])
    if version > schema.VERSION:
        raise ConfigError(
            f"the task journal's schema is version {version}, made by a newer wiro-mcp than this one "
            f"(which knows up to {schema.VERSION}): upgrade wiro-mcp on every replica"
        )
    for migration in schema.pending(version):
        for statement in schema.statements(migration.postgres):
            await db.execute(_sql(statement))
    for statement in schema.statements(schema.INDEXES):
        await db.execute(_sql(statement))
    await db.execute("DELETE FROM journal_version")
    await db.execute("INSERT INTO journal_version (version) VALUES (%s)", (schema.VERSION,))


class PostgresJournal(ProgramJournal):
    def __init__(self, pool: AsyncConnectionPool[Connection], url: str) -> None:
        self._pool = pool
        self._shown = shown_url(url)

    def __repr__(self) -> str:
        return f"PostgresJournal({self._shown!r})"

    @classmethod
    async def open(cls, url: str, *, most: int = POOL_MOST) -> PostgresJournal:
        """A pool on the database at `url`, its schema brought up to date; a ConfigError (naming the
        database, never its password) when it cannot be reached."""
        pool: AsyncConnectionPool[Connection] = AsyncConnectionPool(
            url,
            min_size=1,
            max_size=most,
            open=False,
            timeout=CONNECT_SECONDS,
            kwargs={"autocommit": True, "connect_timeout": int(CONNECT_SECONDS)},
            check=AsyncConnectionPool.check_connection,  # a database restarted since is reconnected
        )
        journal = cls(pool, url)
        try:
            await pool.open(wait=True, timeout=CONNECT_SECONDS)
            async with pool.connection() as db, db.transaction():
                await _migrate(db)
        except (psycopg.Error, PoolTimeout) as exc:
            await pool.close()
            raise ConfigError(
                f"the task journal {journal._shown} cannot be used: {_said(exc, url)}"
            ) from None
        except BaseException:
            await pool.close()
            raise
        return journal

    @property
    def where(self) -> str:
        return self._shown

    @property
    def durable(self) -> bool:
        return True

    async def _perform(self, program: Program[T], *, write: bool = True, lock: str | None = None) -> T:
        """`program` in one transaction; with `lock`, exclusive for that key across every replica."""
        try:
            async with self._pool.connection() as db, db.transaction():
                if lock is not None:
                    await db.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (lock,))
                return await run_program(db, program)
        except (psycopg.Error, PoolTimeout) as exc:
            raise JournalError(
                f"the task journal {self._shown} cannot be {'written' if write else 'read'}: {_said(exc, '')}"
            ) from None

    async def aclose(self) -> None:
        await self._pool.close()


def _said(exc: BaseException, url: str) -> str:
    """The driver's one-line message, with the password taken out should it quote the URL."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    try:
        password = urlsplit(url).password or ""
    except ValueError:
        password = ""
    return text.replace(password, "**********") if password else text
