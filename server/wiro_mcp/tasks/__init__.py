"""Running model tasks and following them. Knows nothing of MCP: `mcp/` turns what this returns into
tool results. One call passes three stages, each a value of `records.py`:

    prepare(entry, arguments)   validate → quote → the cap          (start.py, cost.py)   → Prepared
    start(prepared, roots)      budget → local files → journal row → Run once (shielded) → Started
    follow(handle)              the follower, the bounded wait; a cancel stops the task    → TaskReport
    look / stop / recent        one Detail, Kill or Cancel, the journal                    (follow.py)
    previews(report)            what a result shows inline, made with it, not kept         (follow.py)

`TaskService` is the facade `mcp/` holds: it only wires the parts and names tasks by their tools.
"""

from __future__ import annotations

from typing import Any

from wiro_mcp.catalog.load import CatalogEntry
from wiro_mcp.catalog.pricing import Quote
from wiro_mcp.files import FileAccess
from wiro_mcp.journal import JournalEntry, Query, TaskJournal
from wiro_mcp.offered import OfferedModels
from wiro_mcp.outputs import Outputs
from wiro_mcp.tasks import cost
from wiro_mcp.tasks.follow import SANDBOX_ENDPOINT, SHOWN_ANSWER_CHARS, STOP_SECONDS, Following
from wiro_mcp.tasks.ledger import Ledger
from wiro_mcp.tasks.records import Prepared, Rejected, ServiceConfig, Started, TaskReport
from wiro_mcp.tasks.start import RootsProvider, Starter, no_roots, prepare
from wiro_mcp.wiro.client import WiroClient
from wiro_mcp.wiro.models import Task, TaskHandle
from wiro_mcp.wiro.watch import TaskFollower

__all__ = [
    "SANDBOX_ENDPOINT",
    "SHOWN_ANSWER_CHARS",
    "STOP_SECONDS",
    "Prepared",
    "Rejected",
    "ServiceConfig",
    "Started",
    "TaskReport",
    "TaskService",
]


class TaskService:
    def __init__(
        self,
        client: WiroClient,
        offered: OfferedModels,
        config: ServiceConfig,
        *,
        endpoint: str,
        account: str = "",
        journal: TaskJournal,
        follower: TaskFollower,
        outputs: Outputs,
        files: FileAccess | None = None,
    ) -> None:
        self.config = config
        self.endpoint = endpoint
        self.base_url = client.base_url  # Wiro's, as the client checked it
        self.account = account or endpoint  # whose money: budgets are kept per account
        self.journal = journal
        self.offered = offered  # tasks are reported under their model's typed tool, if it has one
        ledger = Ledger(journal, endpoint)
        self.starter = Starter(
            client,
            config,
            endpoint=endpoint,
            account=self.account,
            journal=journal,
            ledger=ledger,
            files=files or FileAccess((), 0),
        )
        self.following = Following(
            client,
            config,
            endpoint=endpoint,
            follower=follower,
            outputs=outputs,
            ledger=ledger,
            naming=self.tool_for,
        )
        # The stages themselves, as they are: the facade adds nothing to them.
        self.start = self.starter.start
        self.follow = self.following.follow
        self.look = self.following.look
        self.stop = self.following.stop
        self.previews = self.following.previews
        self.idle = self.following.idle
        self.writing_behind = ledger.writing_behind  # open while serving: final states written behind results

    def __repr__(self) -> str:
        return f"TaskService(endpoint={self.endpoint!r}, {self.offered!r})"

    def tool_for(self, task: Task) -> tuple[str, str]:
        """(the typed tool, or "" for a model without one; the slug) a task is reported under."""
        slug = f"{task.modelslugowner}/{task.modelslugproject}"
        return self.offered.tool_for(slug), slug if slug != "/" else ""

    def handle(self, taskid: str | None = None, tasktoken: str | None = None) -> TaskHandle:
        return TaskHandle(taskid=taskid or "", token=tasktoken or "", endpoint=self.endpoint)

    # ----- the three stages
    def prepare(self, entry: CatalogEntry, arguments: dict[str, Any] | None) -> Prepared | Rejected:
        return prepare(entry, arguments, self.config)

    def needs_confirmation(self, figure: Quote) -> bool:
        return cost.needs_confirmation(figure, self.config)

    async def submit(
        self,
        entry: CatalogEntry,
        arguments: dict[str, Any] | None,
        client_roots: RootsProvider = no_roots,
        owner: str = "",
    ) -> Started | Rejected:
        """prepare, then start: for a caller with nothing to do in between (no one to ask)."""
        prepared = self.prepare(entry, arguments)
        return (
            prepared
            if isinstance(prepared, Rejected)
            else await self.starter.start(prepared, client_roots, owner)
        )

    @property
    def cancelled(self) -> dict[str, str]:
        return self.following.cancelled

    async def recent(
        self,
        *,
        tool: str | None = None,
        state: str | None = None,
        since: float | None = None,
        limit: int = 20,
        owner: str = "",
    ) -> list[JournalEntry]:
        """This endpoint's tasks from the journal that `owner` started, newest first."""
        query = Query(endpoint=self.endpoint, tool=tool, state=state, since=since, limit=limit, owner=owner)
        return await self.journal.recent(query)

    async def belongs_to(self, handle: TaskHandle, owner: str) -> bool:
        """Whether `owner` may look at, wait on or stop this task: on a server for one person (owner
        ""), any; on a server for many, only one the journal says they started."""
        if not owner:
            return True
        found = await self.journal.find(
            endpoint=self.endpoint, taskid=handle.taskid or None, tasktoken=handle.token or None
        )
        return found is not None and found.owner == owner
