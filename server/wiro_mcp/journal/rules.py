"""Every rule of the journal (repeats, the budgets' spend, what a row reads as) written once, as
*programs*: generators that yield the statements to run and are sent back what each returned. A
driver runs a program inside one transaction: SQLite's in a worker thread, PostgreSQL's on an async
connection. So both databases keep exactly the same rules.

Statements use `?` placeholders; a driver whose database wants another spelling converts them (no
statement holds a literal `?`). Identifiers that are words in SQL (`row`) are quoted.
"""

from __future__ import annotations

import json
import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from wiro_mcp.journal.records import (
    ACTIVE,
    ACTIVE_STATES,
    JournalEntry,
    NewRun,
    OverBudget,
    Query,
    TaskUpdate,
)

T = TypeVar("T")


@dataclass(frozen=True)
class Statement:
    sql: str
    args: Sequence[Any] = ()


@dataclass(frozen=True)
class Outcome:
    """What a statement gave back: its rows (a SELECT, or RETURNING) and how many rows it changed."""

    rows: list[Sequence[Any]] = field(default_factory=list[Sequence[Any]])
    rowcount: int = 0


# A program: yields statements, is sent each one's outcome, returns its answer.
Program = Generator[Statement, Outcome, T]

# What a row counts against a budget: the billed cost once known, else its quote while it may still
# be billed; failed and cancelled tasks are not billed unless Wiro reported a cost.
SPENT = (
    "COALESCE(SUM(CASE WHEN state = 'completed' THEN COALESCE(cost_usd, quote_usd, 0) "
    "WHEN state IN ('failed', 'cancelled') THEN COALESCE(cost_usd, 0) ELSE COALESCE(quote_usd, 0) END), 0)"
)
# A row counts as the same call again while its task may still run, may have started unseen, or
# has just succeeded; after a failure or a cancel, the same call may run again.
REPEATABLE = ("submitting", "unknown", "queued", "running", "completed")
COLUMNS = (
    '"row", endpoint, taskid, tasktoken, tool, slug, state, status, arguments, outputs, error, cost_usd, '
    "created, updated, quote_usd, owner"
)


def marks(values: Sequence[Any]) -> str:
    return ", ".join("?" for _ in values)


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


def entry(r: Sequence[Any]) -> JournalEntry:
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
        owner=str(r[15] or ""),
    )


def begin(run: NewRun) -> Program[int | JournalEntry | OverBudget]:
    """The repeat check, the budgets' check and the new row: one program, so one transaction. The
    driver makes the transaction exclusive for the account (SQLite: a write lock taken first;
    PostgreSQL: a lock on the account), so concurrent callers cannot overspend together."""
    if run.fingerprint and run.repeat_since is not None:
        found = yield Statement(
            f"SELECT {COLUMNS} FROM tasks WHERE endpoint = ? AND fingerprint = ? AND owner = ? "
            f"AND created >= ? AND state IN ({marks(REPEATABLE)}) ORDER BY created DESC LIMIT 1",
            (run.endpoint, run.fingerprint, run.owner, run.repeat_since, *REPEATABLE),
        )
        if found.rows:
            return entry(found.rows[0])
    budget, quote = run.budget, run.quote_usd or 0.0
    if budget is not None:
        spent_by = f"SELECT {SPENT} FROM tasks WHERE account = ? AND created >= ?"
        if budget.limit_usd is not None:
            mine = yield Statement(f"{spent_by} AND owner = ?", (budget.account, budget.since, run.owner))
            spent = float(mine.rows[0][0])
            if spent + quote > budget.limit_usd + 1e-9:
                return OverBudget(spent, budget.limit_usd)
        if budget.team_usd is not None:
            everyone = yield Statement(spent_by, (budget.account, budget.since))
            spent = float(everyone.rows[0][0])
            if spent + quote > budget.team_usd + 1e-9:
                return OverBudget(spent, budget.team_usd, team=True)
    now = time.time()
    inserted = yield Statement(
        "INSERT INTO tasks (endpoint, taskid, tasktoken, tool, slug, state, arguments, fingerprint, created, "
        "updated, quote_usd, account, owner) VALUES (?, NULL, '', ?, ?, 'submitting', ?, ?, ?, ?, ?, ?, ?) "
        'RETURNING "row"',
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
            run.owner,
        ),
    )
    return int(inserted.rows[0][0])


def one(statement: Statement) -> Program[int]:
    """A single statement; its count of changed rows."""
    done = yield statement
    return done.rowcount


def started(row: int, taskid: str, tasktoken: str) -> Statement:
    return Statement(
        "UPDATE tasks SET taskid = ?, tasktoken = ?, state = 'queued', updated = ? WHERE \"row\" = ?",
        (taskid, tasktoken, time.time(), row),
    )


def unknown(row: int, error: str) -> Statement:
    return Statement(
        "UPDATE tasks SET state = 'unknown', error = ?, updated = ? WHERE \"row\" = ?",
        (error, time.time(), row),
    )


def discard(row: int) -> Statement:
    return Statement("DELETE FROM tasks WHERE \"row\" = ? AND state = 'submitting'", (row,))


def update(endpoint: str, taskid: str, change: TaskUpdate) -> Statement:
    return Statement(
        "UPDATE tasks SET state = ?, status = ?, outputs = ?, error = ?, cost_usd = ?, updated = ? "
        "WHERE endpoint = ? AND taskid = ?",
        (
            change.state,
            change.status,
            json.dumps(change.outputs),
            change.error,
            change.cost_usd,
            time.time(),
            endpoint,
            taskid,
        ),
    )


def select(where: str, args: Sequence[Any], limit: int) -> Program[list[JournalEntry]]:
    found = yield Statement(
        f'SELECT {COLUMNS} FROM tasks {where} ORDER BY created DESC, "row" DESC LIMIT ?', (*args, limit)
    )
    return [entry(r) for r in found.rows]


def recent(query: Query) -> Program[list[JournalEntry]]:
    clauses: list[str] = []
    args: list[Any] = []
    for column, value in (("endpoint", query.endpoint), ("tool", query.tool)):
        if value:
            clauses.append(f"{column} = ?")
            args.append(value)
    if query.owner is not None:
        clauses.append("owner = ?")
        args.append(query.owner)
    if query.state:  # `active`: the tasks that may still change (queued or running)
        states = ACTIVE_STATES if query.state == ACTIVE else (query.state,)
        clauses.append(f"state IN ({marks(states)})")
        args.extend(states)
    if query.since is not None:
        clauses.append("created >= ?")
        args.append(query.since)
    where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
    return (yield from select(where, args, query.limit))


def find(endpoint: str, taskid: str | None, tasktoken: str | None) -> Program[JournalEntry | None]:
    column, value = ("taskid", taskid) if taskid else ("tasktoken", tasktoken)
    found = yield from select(f"WHERE endpoint = ? AND {column} = ?", [endpoint, value], 1)
    return found[0] if found else None


def first_use(key: str, until: float) -> Program[bool]:
    """True the first time `key` is given (then it is kept until `until`); False ever after."""
    yield Statement("DELETE FROM used_once WHERE until < ?", (time.time(),))
    inserted = yield Statement(
        "INSERT INTO used_once (key, until) VALUES (?, ?) ON CONFLICT DO NOTHING RETURNING key", (key, until)
    )
    return bool(inserted.rows)


def count() -> Program[int]:
    found = yield Statement("SELECT COUNT(*) FROM tasks")
    return int(found.rows[0][0])


def clear() -> Program[int]:
    return (yield from one(Statement("DELETE FROM tasks")))
