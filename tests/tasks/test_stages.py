"""The task service's stages directly: prepare, start and follow as separate steps, handles, the journal's view."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.conftest import ASGI_BASE, in_process
from wiro_mcp.catalog.load import CatalogEntry, entry_for
from wiro_mcp.catalog.spec import PriceTier
from wiro_mcp.journal import SqliteJournal
from wiro_mcp.journal.records import NewRun
from wiro_mcp.sandbox.state import Fault
from wiro_mcp.tasks import Prepared, Rejected, Started
from wiro_mcp.tasks.ledger import Ledger
from wiro_mcp.wiro.models import RunAnswer, Task

pytestmark = pytest.mark.anyio


async def test_prepare_then_start_then_follow(catalog: dict[str, CatalogEntry]) -> None:
    async with in_process(catalog, seconds=1.0) as sandbox:
        service = sandbox.service
        prepared = service.prepare(catalog["reve_generate"], {"prompt": "x"})
        assert isinstance(prepared, Prepared) and prepared.params["prompt"] == "x"
        assert sandbox.state.requests("Run") == []  # prepared: checked and quoted, nothing sent
        submitted = await service.start(prepared)
        assert isinstance(submitted, Started)
        handle = submitted.handle
        assert handle.taskid and handle.token and handle.endpoint == ASGI_BASE
        (row,) = await service.recent()
        assert (row.taskid, row.state, row.tool) == (handle.taskid, "queued", "reve_generate")
        early = await service.follow(handle, wait_seconds=0)
        assert not early.finished and early.task.state in ("queued", "running")
        done = await service.follow(service.handle(tasktoken=handle.token), wait_seconds=10)
        assert done.finished and done.task.state == "completed" and done.tool == "reve_generate"
        (row,) = await service.recent(state="completed")
        assert row.outputs and row.outputs[0]["contenttype"] == "image/png"
    assert len(sandbox.state.requests("Run")) == 1


async def test_rejections_send_nothing_and_journal_nothing(
    catalog: dict[str, CatalogEntry], tmp_path: Path
) -> None:
    (tmp_path / "frame.png").write_bytes(b"\x89PNG")
    async with in_process(catalog) as sandbox:
        pixverse = catalog["pixverse_image_to_video_v4"]
        bad_value = await sandbox.service.submit(
            pixverse, {"inputImageUrl": "https://x/a.png", "quality": "8k"}
        )
        no_root = await sandbox.service.submit(pixverse, {"inputImageUrl": str(tmp_path / "frame.png")})
        assert isinstance(bad_value, Rejected) and bad_value.errors[0].field == "quality"
        assert isinstance(no_root, Rejected) and "no allowed roots" in no_root.reason
        assert await sandbox.service.recent() == []
    assert sandbox.state.requests("Run") == []


async def test_stop_and_look(catalog: dict[str, CatalogEntry]) -> None:
    async with in_process(catalog, seconds=30) as sandbox:
        submitted = await sandbox.service.submit(catalog["reve_generate"], {"prompt": "x"})
        assert isinstance(submitted, Started)
        cancelled = await sandbox.service.stop(submitted.handle, kill=False)
        looked = await sandbox.service.look(submitted.handle)
        assert cancelled.task.state == looked.task.state == "cancelled" and looked.finished
        (row,) = await sandbox.service.recent()
        assert row.state == "cancelled"


async def test_cancel_on_a_running_task_kills_it_and_kill_on_a_queued_one_cancels_it(
    catalog: dict[str, CatalogEntry],
) -> None:
    async with in_process(catalog, seconds=30) as sandbox:
        queued = await sandbox.service.submit(catalog["reve_generate"], {"prompt": "queued"})
        assert isinstance(queued, Started)
        sandbox.state.inject("Task/Kill", Fault("wiro", message="Task is queued; use Task/Cancel"))
        stopped = await sandbox.service.stop(queued.handle, kill=True)
        assert stopped.task.state == "cancelled"
        assert [r.endpoint for r in sandbox.state.log if r.endpoint.startswith("Task/")][:2] == [
            "Task/Kill",
            "Task/Cancel",
        ]
        running = await sandbox.service.submit(catalog["reve_generate"], {"prompt": "running"})
        assert isinstance(running, Started)
        sandbox.state.tasks[running.handle.taskid].started -= 12  # well past task_start
        stopped = await sandbox.service.stop(running.handle, kill=False)  # Cancel is refused: Kill
        assert stopped.task.state == "cancelled"
        assert sandbox.state.requests("Task/Kill")[-1].body["taskid"] == running.handle.taskid


async def test_recent_tasks_since_a_time(catalog: dict[str, CatalogEntry]) -> None:
    async with in_process(catalog, seconds=30) as sandbox:
        submitted = await sandbox.service.submit(catalog["reve_generate"], {"prompt": "x"})
        assert isinstance(submitted, Started)
        assert len(await sandbox.service.recent(since=time.time() - 60)) == 1
        assert await sandbox.service.recent(since=time.time() + 60) == []


def per_second(catalog: dict[str, CatalogEntry]) -> CatalogEntry:
    """reve, billed per second of processing: its price is known only after the run."""
    spec = catalog["reve_generate"].spec
    return entry_for(spec.model_copy(update={"prices": [PriceTier(price=0.01, priceMethod="cps")]}), "test")


async def test_under_a_cap_an_unpriced_run_is_refused_unless_a_figure_is_set_for_it(
    catalog: dict[str, CatalogEntry],
) -> None:
    entry = per_second(catalog)
    async with in_process(catalog, limits={"max_cost_usd": 0.5}) as sandbox:
        refused = await sandbox.service.submit(entry, {"prompt": "x"})
    assert isinstance(refused, Rejected) and "WIRO_MCP_UNPRICED_RUN_USD" in refused.reason
    assert not sandbox.state.requests("Run")
    async with in_process(catalog, limits={"max_cost_usd": 0.5, "unpriced_run_usd": 0.8}) as sandbox:
        over = await sandbox.service.submit(entry, {"prompt": "x"})
    assert (
        isinstance(over, Rejected)
        and "counted as $0.8" in over.reason
        and "above the per-call cap" in over.reason
    )
    async with in_process(catalog, limits={"max_cost_usd": 0.5, "unpriced_run_usd": 0.2}) as sandbox:
        ran = await sandbox.service.submit(entry, {"prompt": "x"})
        assert isinstance(ran, Started)
        (row,) = await sandbox.service.recent()
    assert row.quote_usd == pytest.approx(0.2) and len(sandbox.state.requests("Run")) == 1


async def test_a_budget_reserves_the_figure_set_for_unpriced_runs(
    catalog: dict[str, CatalogEntry], tmp_path: Path
) -> None:
    entry = per_second(catalog)
    limits = {"budget_usd": 0.3, "unpriced_run_usd": 0.2}
    journal = SqliteJournal(tmp_path / "j.sqlite3")
    async with in_process(catalog, seconds=30, limits=limits, journal=journal) as sandbox:
        first = await sandbox.service.submit(entry, {"prompt": "one"})
        second = await sandbox.service.submit(entry, {"prompt": "two"})  # $0.2 running + $0.2 > $0.3
    assert isinstance(first, Started)
    assert isinstance(second, Rejected) and "budget" in second.reason
    assert len(sandbox.state.requests("Run")) == 1


async def test_a_final_state_is_written_behind_the_result_and_lands_before_the_ledger_closes(
    tmp_path: Path,
) -> None:
    journal = SqliteJournal(tmp_path / "tasks.sqlite3")
    ledger = Ledger(journal, "e")
    row = await journal.begin(NewRun(endpoint="e", tool="reve_generate", slug="reve/generate", arguments={}))
    assert isinstance(row, int)
    await ledger.started(row, RunAnswer(taskid="7", socketaccesstoken="tok"))
    ended = Task(id="7", status="task_postprocess_end", pexit="0")
    async with ledger.writing_behind():
        await ledger.update_behind(ended)  # returns before the journal has it: the result need not wait
        queued = await journal.find(endpoint="e", taskid="7", tasktoken=None)
        assert queued is not None and queued.state == "queued"
    done = await journal.find(endpoint="e", taskid="7", tasktoken=None)
    assert done is not None and done.state == "completed"
    await journal.aclose()


async def test_a_models_run_times_are_learned_and_its_next_follow_asks_less_before_they_are_due(
    catalog: dict[str, CatalogEntry],
) -> None:
    """Three followed model calls teach the service when the model's tasks end; a follow that did not
    begin at its Run (a resumed wait, a repeat) teaches nothing. With that window the poller asks
    fewer times before it opens than without."""
    async with in_process(catalog, seconds=1.0) as sandbox:
        service = sandbox.service
        reve = catalog["reve_generate"]

        async def call(prompt: str, *, learn: bool) -> tuple[float, float, list[float]]:
            """(its run time, its follow's start, when it asked Task/Detail)"""
            started = await service.submit(reve, {"prompt": prompt})
            assert isinstance(started, Started)
            began = time.monotonic()  # the emulator's log keeps the same clock
            model = started.slug if learn else ""
            report = await service.follow(started.handle, last_known=started.task, model=model)
            assert report.task.state == "completed"
            asked = [
                r.time
                for r in sandbox.state.requests("Task/Detail")
                if r.body.get("taskid") == started.handle.taskid
            ]
            return time.monotonic() - began, began, asked

        taken = [(await call(f"learn {n}", learn=True))[0] for n in range(3)]
        window = service.following.run_times.window(reve.spec.slug)
        assert window is not None and window.low <= min(taken) and max(taken) <= window.high
        await call("resumed", learn=False)
        assert service.following.run_times.window(reve.spec.slug) == window  # that call taught nothing

        def before_the_window(began: float, asked: list[float]) -> int:
            return sum(at - began < window.low for at in asked)

        _, began, asked = await call("with the window", learn=True)
        _, plain_began, plain_asked = await call("without", learn=False)
        assert before_the_window(began, asked) < before_the_window(plain_began, plain_asked)
