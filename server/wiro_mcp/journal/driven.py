"""The TaskJournal protocol, once, over one method a database's driver provides: `_perform`, which
runs a program of rules.py inside one transaction. A journal on another database is that method."""

from __future__ import annotations

from typing import TypeVar

from wiro_mcp.journal import rules
from wiro_mcp.journal.records import JournalEntry, NewRun, OverBudget, Query, TaskUpdate
from wiro_mcp.journal.rules import Program

T = TypeVar("T")


class ProgramJournal:
    async def _perform(self, program: Program[T], *, write: bool = True, lock: str | None = None) -> T:
        """`program` in one transaction (read-only unless `write`); with `lock`, exclusive for that key
        for every process sharing the journal. Failures of the database are a JournalError."""
        raise NotImplementedError

    async def begin(self, run: NewRun) -> int | JournalEntry | OverBudget:
        return await self._perform(rules.begin(run), lock=f"account:{run.account}")

    async def started(self, row: int, *, taskid: str, tasktoken: str) -> None:
        await self._perform(rules.one(rules.started(row, taskid, tasktoken)))

    async def unknown(self, row: int, *, error: str) -> None:
        await self._perform(rules.one(rules.unknown(row, error)))

    async def discard(self, row: int) -> None:
        await self._perform(rules.one(rules.discard(row)))

    async def update(self, *, endpoint: str, taskid: str, update: TaskUpdate) -> None:
        await self._perform(rules.one(rules.update(endpoint, taskid, update)))

    async def first_use(self, key: str, until: float) -> bool:
        return await self._perform(rules.first_use(key, until))

    async def count(self) -> int:
        return await self._perform(rules.count(), write=False)

    async def recent(self, query: Query) -> list[JournalEntry]:
        return await self._perform(rules.recent(query), write=False)

    async def find(self, *, endpoint: str, taskid: str | None, tasktoken: str | None) -> JournalEntry | None:
        return await self._perform(rules.find(endpoint, taskid, tasktoken), write=False)

    async def clear(self) -> int:
        return await self._perform(rules.clear())
