"""What the journal holds and is asked: its entries, the updates and new Runs written to it, the
budget a Run must fit, the queries; and the TaskJournal protocol every journal keeps."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol

from wiro_mcp.wiro.models import STATES

# `submitting`: Run is being sent, Wiro may have started the task. `unknown`: Run's answer was lost.
JOURNAL_STATES: tuple[str, ...] = ("submitting", *STATES, "unknown")
UNCERTAIN_STATES = frozenset({"submitting", "unknown"})
ACTIVE = "active"  # a task_list filter: queued or running
ACTIVE_STATES: tuple[str, ...] = ("queued", "running")
RUN_SECONDS = 180.0  # the most one Run request may take (the Wiro client's deadline)


@dataclass(frozen=True)
class JournalEntry:
    row: int
    endpoint: str
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
    quote_usd: float | None = None  # the most the task was quoted to cost before it ran
    owner: str = ""  # who started it: the OAuth token's subject; "" on a server for one person

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
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
            "quote_usd": self.quote_usd,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.created)),
        }
        if self.starting:
            age = max(time.time() - self.created, 0.0)
            data["note"] = (
                f"starting: its Run was sent {age:.0f} s ago and the answer is not in yet. If the server that "
                "sent it has stopped since, Wiro may have started (and billed) it: check Wiro's dashboard "
                "before trying again."
            )
        elif self.state in UNCERTAIN_STATES:
            data["warning"] = (
                "Run may have reached Wiro and started (and billed) this task, but its id never came "
                "back: check Wiro's dashboard before trying again."
            )
        return data

    @property
    def starting(self) -> bool:
        """A Run being sent now: younger than a Run request may take, it is no lost answer yet."""
        return self.state == "submitting" and time.time() - self.created < RUN_SECONDS


@dataclass(frozen=True)
class TaskUpdate:
    """What the server learned of a task: its state, status, outputs, error and cost."""

    state: str
    status: str
    outputs: list[dict[str, Any]]
    error: str
    cost_usd: float | None


@dataclass(frozen=True)
class NewRun:
    """A Run about to be sent. `fingerprint` identifies the same model with the same arguments (a
    repeat is one by the same `owner`); `account` (a fingerprint of the API key) is whose money it
    spends, `owner` who spends it."""

    endpoint: str
    tool: str
    slug: str
    arguments: dict[str, Any]
    fingerprint: str = ""
    repeat_since: float | None = None
    quote_usd: float | None = None
    budget: Budget | None = None
    account: str = ""
    owner: str = ""


@dataclass(frozen=True)
class Budget:
    """Spend allowed since a moment, for one account (whatever base URL reached it): tasks that may
    still be billed count at their quote. `limit_usd` is each owner's (None: no limit per person),
    `team_usd` everyone's together on the account (None: none)."""

    limit_usd: float | None
    since: float
    account: str = ""
    team_usd: float | None = None


@dataclass(frozen=True)
class OverBudget:
    """begin() refused a Run: it would take the spend past a budget (`team`: everyone's)."""

    spent_usd: float
    limit_usd: float
    team: bool = False


@dataclass(frozen=True)
class Query:
    endpoint: str | None = None
    tool: str | None = None
    state: str | None = None
    since: float | None = None
    limit: int = 20
    owner: str | None = None  # one person's tasks; None: everyone's (the journal command)


class TaskJournal(Protocol):
    """Where tasks are remembered. `where` says, for people, where that is; `durable` whether it
    outlives this process and is shared with the others (a budget is only kept by one that is)."""

    @property
    def where(self) -> str: ...

    @property
    def durable(self) -> bool: ...

    async def begin(self, run: NewRun) -> int | JournalEntry | OverBudget:
        """A row for a Run about to be sent: its row number. When `run.repeat_since` is set and a task
        with the same fingerprint was started since then (and may still run, may have started, or
        succeeded) by the same owner, that task's entry instead, and nothing is written. With `run.budget`, OverBudget
        when the spend since then plus this quote would pass it. Checks and write are one step, so
        concurrent callers (other processes too) cannot overspend together."""
        ...

    async def started(self, row: int, *, taskid: str, tasktoken: str) -> None: ...

    async def unknown(self, row: int, *, error: str) -> None: ...

    async def discard(self, row: int) -> None:
        """Run was refused before any task existed: the row goes."""
        ...

    async def update(self, *, endpoint: str, taskid: str, update: TaskUpdate) -> None: ...

    async def recent(self, query: Query) -> list[JournalEntry]: ...

    async def find(
        self, *, endpoint: str, taskid: str | None, tasktoken: str | None
    ) -> JournalEntry | None: ...

    async def first_use(self, key: str, until: float) -> bool:
        """True the first time `key` is given, for every process sharing the journal (kept until
        `until`, a time); False for each use after. A confirmation is taken once this way."""
        ...

    async def count(self) -> int: ...

    async def clear(self) -> int: ...

    async def aclose(self) -> None:
        """Let go of its connections (the journal is not used after)."""
        ...
