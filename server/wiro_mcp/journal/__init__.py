"""The task journal: every task this server started, kept so none is lost.

A row is written *before* Run is sent (state `submitting`, with what is sent), then completed with
Wiro's ids when Run answers; a Run whose answer never came becomes `unknown`. So a crash at any
point leaves a row that says a task may exist. Rows are keyed by the Wiro endpoint plus the task
id: the sandbox and the real API, or two endpoints, never merge.

    TaskJournal (protocol, records.py), kept once by ProgramJournal (driven.py) over a driver's
    │   one method that runs a program of rules in a transaction:
    ├── SqliteJournal     a file shared by every server process of a machine     (sqlite.py)
    │   └── MemoryJournal   the same SQL in memory: this process only, when the file cannot be
    │                       used or is switched off
    └── PostgresJournal   a database shared by replicas on many machines          (postgres.py)

Every rule (repeats, the budgets' spend) is written once, in rules.py, whichever database holds the
rows; the schema and its numbered migrations are in schema.py.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from urllib.parse import urlsplit

from wiro_mcp.errors import ConfigError
from wiro_mcp.journal.records import (
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
from wiro_mcp.journal.sqlite import MemoryJournal, SqliteJournal

__all__ = [
    "ACTIVE",
    "ACTIVE_STATES",
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
    "shown_url",
]

log = logging.getLogger(__name__)


def shown_url(url: str) -> str:
    """A database URL without its password (nor its query, which may hold one), for logs and errors."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        user = f"{parts.username}@" if parts.username else ""
    except ValueError:
        return "postgresql://(an address that cannot be read)"
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{user}{host}{port}{parts.path}"


async def open_journal(where: Path | str | None) -> TaskJournal:
    """The journal at `where`: a PostgreSQL URL, a file, or, when the file cannot be used, one in
    memory (a broken file is said once in the log and never stops the server). A database that
    cannot be reached is a ConfigError: replicas must never each keep a journal of their own."""
    if where is None:
        return MemoryJournal("the journal is off: WIRO_MCP_JOURNAL=off")
    if isinstance(where, str):
        try:
            from wiro_mcp.journal.postgres import PostgresJournal  # its driver loads only when used
        except ImportError:
            raise ConfigError(
                "a journal on PostgreSQL needs its driver: pip install 'wiro-mcp[postgres]'"
            ) from None

        return await PostgresJournal.open(where)
    try:
        return SqliteJournal(where)
    except (sqlite3.Error, OSError) as exc:
        reason = f"{where} cannot be used: {exc}"
        log.error("task journal %s; keeping tasks in memory only", reason)
        return MemoryJournal(reason)
