"""Writing what the server learns of its tasks to the journal: the ids of a started task (retried; if
the journal keeps failing, kept here and written at the next chance), and each later update."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncGenerator

import anyio
import anyio.abc

from wiro_mcp.errors import JournalError
from wiro_mcp.journal import TaskJournal, TaskUpdate
from wiro_mcp.wiro.models import RunAnswer, Task

log = logging.getLogger(__name__)

JOURNAL_RETRY_DELAYS = (0.1, 0.4, 1.0)


class Ledger:
    def __init__(self, journal: TaskJournal, endpoint: str) -> None:
        self.journal = journal
        self.endpoint = endpoint
        # Journal rows whose ids could not be written yet: retried at every later journal write.
        self._unrecorded: dict[int, RunAnswer] = {}
        self._background: anyio.abc.TaskGroup | None = None  # set while `writing_behind` is open

    def __repr__(self) -> str:
        return f"Ledger({self.journal!r}, unrecorded={len(self._unrecorded)})"

    async def started(self, row: int, answer: RunAnswer) -> tuple[str, ...]:
        """Journal the ids, retried; if that keeps failing the ids still reach the agent and stderr."""
        with anyio.CancelScope(shield=True):
            for delay in (*JOURNAL_RETRY_DELAYS, None):
                try:
                    await self.journal.started(row, taskid=answer.taskid, tasktoken=answer.socketaccesstoken)
                    return ()
                except JournalError as exc:
                    if delay is None:
                        log.error("task %s was started but not journalled: %s", answer.taskid, exc)
                        self._unrecorded[row] = answer
                        return (
                            f"The task journal could not record this task ({exc}); keep its taskid "
                            f"{answer.taskid}: it is the only record.",
                        )
                    await anyio.sleep(delay)
        return ()  # pragma: no cover  (the loop always returns)

    @contextlib.asynccontextmanager
    async def writing_behind(self) -> AsyncGenerator[None, None]:
        """While open, `update_behind` writes in the background; closing waits for what is pending."""
        async with anyio.create_task_group() as tg:
            self._background = tg
            try:
                yield
            finally:
                self._background = None

    async def update_behind(self, task: Task) -> None:
        """`update`, not waited for where a background is open: a result need not wait for the
        journal's commit (a failed update is only logged either way), and under load that commit
        waits its turn behind other tasks' writes. The row holds the task's ids already; its reserved
        quote stays on the budget until this lands (failing closed meanwhile)."""
        if self._background is None:
            await self.update(task)
        else:
            self._background.start_soon(self._update_shielded, task)

    async def _update_shielded(self, task: Task) -> None:
        with anyio.CancelScope(shield=True):  # a shutdown waits for it rather than losing it
            try:
                await self.update(task)
            except Exception:  # a background task's failure must not take the server down
                log.exception("task %s: its final state was not journalled", task.id)

    async def update(self, task: Task) -> None:
        if not task.id:
            return
        for row, answer in list(self._unrecorded.items()):
            try:
                await self.journal.started(row, taskid=answer.taskid, tasktoken=answer.socketaccesstoken)
                del self._unrecorded[row]
            except JournalError:
                break
        update = TaskUpdate(
            state=task.state,
            status=task.status,
            outputs=[
                o.model_dump(mode="json", include={"url", "name", "contenttype", "size"})
                for o in task.file_outputs
            ],
            error=task.debugerror if task.state == "failed" else "",
            cost_usd=task.cost_usd,
        )
        try:
            await self.journal.update(endpoint=self.endpoint, taskid=task.id, update=update)
        except JournalError as exc:
            log.warning("%s", exc)
