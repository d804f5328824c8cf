"""The journal's schema and its numbered migrations, one list for both databases.

A journal records the version it is at (SQLite: `PRAGMA user_version`; PostgreSQL: the table
`journal_version`). Opening it applies, in one transaction, every migration numbered above that
version, then records the last. A new journal is made at the current version directly.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    number: int
    column: str  # the column it adds: a SQLite journal made before versions were counted may have it
    sqlite: str
    postgres: str


# The two databases' spellings of what differs: the row key, and floating point (PostgreSQL's REAL has
# six digits, too few for a time, so times and money are double precision there).
SQLITE_TYPES = {"$ROW": "row INTEGER PRIMARY KEY AUTOINCREMENT", "$FLOAT": "REAL"}
POSTGRES_TYPES = {"$ROW": '"row" BIGSERIAL PRIMARY KEY', "$FLOAT": "DOUBLE PRECISION"}


def spelt(script: str, types: dict[str, str]) -> str:
    for mark, spelling in types.items():
        script = script.replace(mark, spelling)
    return script


# Keys that may be used once (a confirmation), until they expire: shared, so no replica takes one twice.
_USED_ONCE = "CREATE TABLE IF NOT EXISTS used_once (key TEXT PRIMARY KEY, until $FLOAT NOT NULL)"
# Version 1 keyed rows by task id alone (ids of different endpoints could merge), 2 had no fingerprint
# for recognising a repeated call, 3 no quote, 4 no account (a budget then counted every account's
# spend under one base URL's spelling), 5 no owner (one person per server), 6 no record of the
# confirmations used (each process kept its own). PostgreSQL journals began at 6.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        2,
        "endpoint",
        "ALTER TABLE tasks ADD COLUMN endpoint TEXT NOT NULL DEFAULT ''; DROP INDEX IF EXISTS tasks_taskid",
        "",
    ),
    Migration(3, "fingerprint", "ALTER TABLE tasks ADD COLUMN fingerprint TEXT NOT NULL DEFAULT ''", ""),
    Migration(4, "quote_usd", "ALTER TABLE tasks ADD COLUMN quote_usd REAL", ""),
    Migration(5, "account", "ALTER TABLE tasks ADD COLUMN account TEXT NOT NULL DEFAULT ''", ""),
    Migration(6, "owner", "ALTER TABLE tasks ADD COLUMN owner TEXT NOT NULL DEFAULT ''", ""),
    Migration(7, "", spelt(_USED_ONCE, SQLITE_TYPES), spelt(_USED_ONCE, POSTGRES_TYPES)),
)
VERSION = MIGRATIONS[-1].number


def pending(version: int) -> tuple[Migration, ...]:
    return tuple(m for m in MIGRATIONS if m.number > version)


# The indexes every journal has: the key, and what the repeat and budget checks look up.
INDEXES = """
CREATE INDEX IF NOT EXISTS tasks_created ON tasks(created);
CREATE UNIQUE INDEX IF NOT EXISTS tasks_key ON tasks(endpoint, taskid) WHERE taskid IS NOT NULL;
CREATE INDEX IF NOT EXISTS tasks_repeat ON tasks(endpoint, fingerprint, created);
CREATE INDEX IF NOT EXISTS tasks_spend ON tasks(account, created)
"""
_TABLES = f"""
CREATE TABLE IF NOT EXISTS tasks (
    $ROW,
    taskid TEXT,
    tasktoken TEXT,
    tool TEXT NOT NULL,
    slug TEXT NOT NULL,
    state TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT '',
    arguments TEXT NOT NULL DEFAULT '{{}}',
    outputs TEXT NOT NULL DEFAULT '[]',
    error TEXT NOT NULL DEFAULT '',
    cost_usd $FLOAT,
    created $FLOAT NOT NULL,
    updated $FLOAT NOT NULL,
    endpoint TEXT NOT NULL DEFAULT '',
    fingerprint TEXT NOT NULL DEFAULT '',
    quote_usd $FLOAT,
    account TEXT NOT NULL DEFAULT '',
    owner TEXT NOT NULL DEFAULT ''
);
{_USED_ONCE};
"""
SQLITE = spelt(_TABLES, SQLITE_TYPES) + INDEXES
# PostgreSQL's version table; after it, the migrations above its version, then INDEXES.
POSTGRES = (
    spelt(_TABLES, POSTGRES_TYPES) + "CREATE TABLE IF NOT EXISTS journal_version (version INTEGER NOT NULL)"
)


def statements(script: str) -> list[str]:
    """A script's statements, one by one (SQLite's executescript would commit the open transaction)."""
    return [s.strip() for s in script.split(";") if s.strip()]
