"""The task journal: every task this server started, kept in SQLite so none is lost.

A task is recorded the moment Run answers (or, when the answer never came, as "unknown" with
what was sent). State and outputs are updated as the server learns them. Several server
processes may share one journal: SQLite's WAL mode and a busy timeout serialise their writes.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio.to_thread

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
    updated REAL NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS tasks_taskid ON tasks(taskid) WHERE taskid IS NOT NULL;
CREATE INDEX IF NOT EXISTS tasks_created ON tasks(created);
"""


@dataclass(frozen=True)
class JournalEntry:
    taskid: str | None
    tasktoken: str
    tool: str
    slug: str
    state: str
    status: str
    arguments: dict[str, Any]
    outputs: list[dict[str, Any]]
    error: str
    cost_usd: float | None
    created: float
    updated: float

    def as_json(self) -> dict[str, Any]:
        return {
            "taskid": self.taskid,
            "tasktoken": self.tasktoken,
            "tool": self.tool,
            "model": self.slug,
            "state": self.state,
            "status": self.status,
            "arguments": self.arguments,
            "outputs": self.outputs,
            "error": self.error or None,
            "cost_usd": self.cost_usd,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.created)),
        }


class Journal:
    """Blocking SQLite work runs in a worker thread; each call opens its own short connection."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(_SCHEMA)

    def __repr__(self) -> str:
        return f"Journal({str(self.path)!r})"

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA busy_timeout=30000")
        return db

    def _write(self, sql: str, args: Sequence[Any]) -> None:
        db = self._connect()
        try:
            db.execute("BEGIN IMMEDIATE")
            db.execute(sql, args)
            db.execute("COMMIT")
        finally:
            db.close()

    async def record_started(
        self, *, taskid: str, tasktoken: str, tool: str, slug: str, arguments: dict[str, Any]
    ) -> None:
        now = time.time()
        sql = (
            "INSERT INTO tasks (taskid, tasktoken, tool, slug, state, arguments, created, updated) "
            "VALUES (?, ?, ?, ?, 'queued', ?, ?, ?) ON CONFLICT(taskid) WHERE taskid IS NOT NULL DO NOTHING"
        )
        args = (taskid, tasktoken, tool, slug, json.dumps(arguments), now, now)
        await anyio.to_thread.run_sync(self._write, sql, args)

    async def record_unknown(self, *, tool: str, slug: str, arguments: dict[str, Any], error: str) -> None:
        """A Run whose answer never arrived: Wiro may have started (and billed) it."""
        now = time.time()
        sql = (
            "INSERT INTO tasks (taskid, tasktoken, tool, slug, state, arguments, error, created, updated) "
            "VALUES (NULL, '', ?, ?, 'unknown', ?, ?, ?, ?)"
        )
        await anyio.to_thread.run_sync(self._write, sql, (tool, slug, json.dumps(arguments), error, now, now))

    async def record_update(
        self,
        *,
        taskid: str,
        state: str,
        status: str,
        outputs: list[dict[str, Any]],
        error: str,
        cost_usd: float | None,
    ) -> None:
        sql = (
            "UPDATE tasks SET state = ?, status = ?, outputs = ?, error = ?, cost_usd = ?, updated = ? "
            "WHERE taskid = ?"
        )
        args = (state, status, json.dumps(outputs), error, cost_usd, time.time(), taskid)
        await anyio.to_thread.run_sync(self._write, sql, args)

    def _select(self, where: str, args: Sequence[Any], limit: int) -> list[JournalEntry]:
        db = self._connect()
        try:
            rows = db.execute(
                "SELECT taskid, tasktoken, tool, slug, state, status, arguments, outputs, error, cost_usd, "
                f"created, updated FROM tasks {where} ORDER BY created DESC, row DESC LIMIT ?",
                (*args, limit),
            ).fetchall()
        finally:
            db.close()
        return [
            JournalEntry(
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                r[5],
                json.loads(r[6]),
                json.loads(r[7]),
                r[8],
                r[9],
                r[10],
                r[11],
            )
            for r in rows
        ]

    async def recent(
        self, *, tool: str | None = None, state: str | None = None, limit: int = 20
    ) -> list[JournalEntry]:
        clauses: list[str] = []
        args: list[Any] = []
        if tool:
            clauses.append("tool = ?")
            args.append(tool)
        if state:
            clauses.append("state = ?")
            args.append(state)
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        return await anyio.to_thread.run_sync(self._select, where, args, limit)

    async def find(self, *, taskid: str | None = None, tasktoken: str | None = None) -> JournalEntry | None:
        where, args = ("WHERE taskid = ?", [taskid]) if taskid else ("WHERE tasktoken = ?", [tasktoken])
        found = await anyio.to_thread.run_sync(self._select, where, args, 1)
        return found[0] if found else None

    def clear(self) -> int:
        db = self._connect()
        try:
            return db.execute("DELETE FROM tasks").rowcount
        finally:
            db.close()
