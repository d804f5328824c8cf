"""The MCP layer in-process: the official client on `Client(server)`, Wiro being the emulator behind
an ASGI transport. What an agent sees: tools, results, errors, progress, cancellation."""

from __future__ import annotations

import math
from pathlib import Path

import anyio
import mcp_types as types
import pytest
from mcp import Client

from tests.conftest import in_process
from wiro_mcp.catalog.load import CatalogEntry
from wiro_mcp.journal import JournalEntry, MemoryJournal, Query, SqliteJournal
from wiro_mcp.mcp.tools import check_arguments
from wiro_mcp.sandbox.state import Fault

pytestmark = pytest.mark.anyio


def text_of(result: types.CallToolResult) -> str:
    return "\n".join(b.text for b in result.content if isinstance(b, types.TextContent))


async def test_the_registry_lists_one_tool_per_model_and_the_task_tools(
    catalog: dict[str, CatalogEntry],
) -> None:
    async with in_process(catalog) as sandbox, Client(sandbox.app.server) as client:
        listed = await client.list_tools()
    names = [t.name for t in listed.tools]
    catalog_tools = ["search_models", "model_info", "run_model"]
    assert names == [
        *catalog,
        *catalog_tools,
        "task_status",
        "task_wait",
        "task_kill",
        "task_cancel",
        "task_list",
    ]
    assert all(t.output_schema is not None for t in listed.tools)
    for tool in listed.tools[: len(catalog)]:  # every model tool tells the agent how to keep waiting
        assert "Unfinished? task_wait; calling again bills twice." in (tool.description or "")


async def test_a_model_call_returns_outputs_links_and_a_preview(catalog: dict[str, CatalogEntry]) -> None:
    progress: list[str] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append(message or "")

    async with in_process(catalog) as sandbox, Client(sandbox.app.server) as client:
        result = await client.call_tool("reve_generate", {"prompt": "a koala"}, progress_callback=on_progress)
        listed = await client.call_tool("task_list", {})
    data = result.structured_content
    assert not result.is_error and data is not None and data["state"] == "completed"
    (out,) = data["outputs"]
    assert out["url"].startswith("http://wiro.test/files/") and out["contenttype"] == "image/png"
    assert [str(b.uri) for b in result.content if isinstance(b, types.ResourceLink)] == [out["url"]]
    (preview,) = [b for b in result.content if isinstance(b, types.ImageContent)]
    assert preview.mime_type == "image/jpeg" and len(preview.data) <= 100_000  # a thumbnail, not the file
    assert progress[0].endswith("(task_queue)") and progress[-1].endswith("(task_postprocess_end)")
    assert listed.structured_content is not None
    assert [t["taskid"] for t in listed.structured_content["tasks"]] == [data["taskid"]]


async def test_task_ids_of_two_emulators_never_repeat(catalog: dict[str, CatalogEntry]) -> None:
    ids: list[str] = []
    for _ in range(2):
        async with in_process(catalog) as sandbox, Client(sandbox.app.server) as client:
            result = await client.call_tool("reve_generate", {"prompt": "x"})
            assert result.structured_content is not None
            ids.append(result.structured_content["taskid"])
    assert ids[0] != ids[1] and all(i.isdigit() for i in ids)


async def test_invalid_arguments_reach_no_one_and_errors_stay_short(catalog: dict[str, CatalogEntry]) -> None:
    flood = {f"junk{n}" * 50: "x" * 10_000 for n in range(40)}
    async with in_process(catalog) as sandbox, Client(sandbox.app.server) as client:
        empty = await client.call_tool("reve_generate", {"prompt": ""})
        nul = await client.call_tool("reve_generate", {"prompt": "a\x00b"})
        long = await client.call_tool("reve_generate", {"prompt": "p" * 50_000})
        no_host = await client.call_tool(
            "runway_image_to_video_gen4_turbo", {"inputImageUrl": "http:/etc/passwd", "duration": "5"}
        )
        flooded = await client.call_tool("reve_generate", {"prompt": "x", **flood})
        unknown = await client.call_tool("x" * 5000, {})
    assert "prompt: is required and cannot be empty" in text_of(empty)
    assert "NUL character" in text_of(nul)
    assert "the limit is 20000" in text_of(long)
    assert "is not a URL: it has no host" in text_of(no_host)
    assert "and 28 more" in text_of(flooded) and len(text_of(flooded)) < 8000
    assert unknown.is_error and len(text_of(unknown)) < 200
    for result in (empty, nul, long, no_host, flooded):
        assert result.is_error and "nothing was sent" in text_of(result)
    assert sandbox.state.requests("Run") == []


async def test_task_tool_arguments_are_checked_nan_included(catalog: dict[str, CatalogEntry]) -> None:
    async with in_process(catalog) as sandbox, Client(sandbox.app.server) as client:
        started = await client.call_tool("reve_generate", {"prompt": "x"})
        assert started.structured_content is not None
        taskid = started.structured_content["taskid"]
        nan = await client.call_tool("task_wait", {"taskid": taskid, "wait_seconds": math.nan})
        huge = await client.call_tool("task_wait", {"taskid": taskid, "wait_seconds": 1e9})
        nothing = await client.call_tool("task_status", {})
        blank = await client.call_tool("task_status", {"taskid": "", "tasktoken": " "})
        extra = await client.call_tool("task_status", {"taskid": taskid, "x" * 3000: 1})
        as_number = await client.call_tool("task_status", {"taskid": int(taskid)})
        wrong_type = await client.call_tool("task_status", {"taskid": ["1"]})
    assert nan.is_error  # the client sends NaN as null; a NaN that arrives is refused below
    assert check_arguments("task_wait", {"type": "object"}, {"wait_seconds": math.nan}) == (
        "task_wait: invalid arguments: wait_seconds must be a finite number."
    )
    assert huge.is_error and "maximum" in text_of(huge)
    assert "give a taskid" in text_of(nothing) and "give a taskid" in text_of(blank)
    # Wiro's ids are numbers: given as one, it is the same task; a wrong type names the field.
    assert not as_number.is_error and as_number.structured_content
    assert as_number.structured_content["taskid"] == taskid
    assert wrong_type.is_error and "taskid: ['1'] is not of type 'string'" in text_of(wrong_type)
    assert extra.is_error and len(text_of(extra)) < 500
    assert len(sandbox.state.requests("Task/Detail")) > 0


async def test_a_gateway_error_on_run_is_recorded_as_unknown(catalog: dict[str, CatalogEntry]) -> None:
    async with in_process(catalog) as sandbox, Client(sandbox.app.server) as client:
        sandbox.state.inject("Run", Fault("http", status=502))
        result = await client.call_tool("reve_generate", {"prompt": "maybe"})
        listed = await client.call_tool("task_list", {"state": "unknown"})
        again = await client.call_tool("reve_generate", {"prompt": "maybe"})  # an agent retrying blindly
    assert result.is_error and "may have received the request" in text_of(result)
    assert "Do not retry blindly" in text_of(result)
    assert listed.structured_content is not None
    (entry,) = listed.structured_content["tasks"]
    assert entry["arguments"] == {"prompt": "maybe"} and "warning" in entry
    assert again.is_error and "may have started a task whose id never came back" in text_of(again)
    assert len(sandbox.state.requests("Run")) == 1


async def test_a_refused_run_leaves_no_journal_row(catalog: dict[str, CatalogEntry]) -> None:
    async with in_process(catalog) as sandbox, Client(sandbox.app.server) as client:
        sandbox.state.inject("Run", Fault("wiro", code=97, message="Insufficient balance"))
        result = await client.call_tool("reve_generate", {"prompt": "x"})
        listed = await client.call_tool("task_list", {})
    assert result.is_error and "code 97" in text_of(result)
    assert listed.structured_content == {"tasks": [], "journal": listed.structured_content["journal"]}


async def test_when_the_journal_write_after_run_fails_the_ids_still_reach_the_agent(
    catalog: dict[str, CatalogEntry], tmp_path: Path
) -> None:
    import sqlite3

    path = tmp_path / "j.sqlite3"
    journal = SqliteJournal(path, busy_seconds=0.2)
    async with in_process(catalog, journal=journal) as sandbox, Client(sandbox.app.server) as client:
        sandbox.state.inject("Run", Fault("slow", seconds=0.5))
        holder = sqlite3.connect(path, isolation_level=None)

        async def lock_while_run_is_answered() -> None:
            while not sandbox.state.requests("Run"):
                await anyio.sleep(0.01)
            holder.execute("BEGIN EXCLUSIVE")  # the journal is locked when Run's answer arrives

        async with anyio.create_task_group() as tg:
            tg.start_soon(lock_while_run_is_answered)
            result = await client.call_tool("reve_generate", {"prompt": "x"})
        assert result.structured_content is not None and not result.is_error
        taskid = result.structured_content["taskid"]
        assert taskid and f"keep its taskid {taskid}" in text_of(result)
        holder.execute("ROLLBACK")
        holder.close()
        await client.call_tool("task_status", {"taskid": taskid})  # the next write catches up
    (row,) = await journal.recent(Query())
    assert row.taskid == taskid and row.state == "completed"
    assert len(sandbox.state.requests("Run")) == 1


async def test_cancelling_a_call_kills_the_task_in_process(catalog: dict[str, CatalogEntry]) -> None:
    async with in_process(catalog, seconds=5) as sandbox, Client(sandbox.app.server) as client:
        started = anyio.Event()

        async def on_progress(done: float, total: float | None, message: str | None) -> None:
            if any(f"({s})" in (message or "") for s in ("task_start", "task_output")):  # generating
                started.set()

        async def call() -> None:
            await client.call_tool("reve_generate", {"prompt": "slow"}, progress_callback=on_progress)

        with anyio.fail_after(20):
            async with anyio.create_task_group() as tg:
                tg.start_soon(call)
                await started.wait()
                tg.cancel_scope.cancel()
            while not sandbox.state.requests("Task/Kill"):
                await anyio.sleep(0.02)
    (task,) = sandbox.state.tasks.values()
    assert task.stopped_at is not None


async def test_outputs_are_saved_and_the_reported_file_is_this_tasks(
    catalog: dict[str, CatalogEntry], tmp_path: Path
) -> None:
    async with in_process(catalog, download_dir=tmp_path) as sandbox, Client(sandbox.app.server) as client:
        first = await client.call_tool("reve_generate", {"prompt": "one"})
        second = await client.call_tool("reve_generate", {"prompt": "two"})
    assert first.structured_content is not None and second.structured_content is not None
    paths = [Path(r.structured_content["outputs"][0]["path"]) for r in (first, second)]  # type: ignore[index]
    assert paths[0] != paths[1] and all(p.read_bytes().startswith(b"\x89PNG") for p in paths)
    assert paths[0].read_bytes() != paths[1].read_bytes()
    assert sorted(p.name for p in paths[0].parent.iterdir()) == ["0.png"]


class BrokenJournal(MemoryJournal):
    """A journal whose reads fail in ways the server does not expect."""

    async def recent(self, query: Query) -> list[JournalEntry]:
        raise RuntimeError("internal detail /srv/secret/path that must not reach the agent")


async def test_an_unexpected_failure_is_a_short_error_never_python_text(
    catalog: dict[str, CatalogEntry],
) -> None:
    async with (
        in_process(catalog, journal=BrokenJournal("tests")) as sandbox,
        Client(sandbox.app.server) as client,
    ):
        result = await client.call_tool("task_list", {})
    assert (
        result.is_error
        and text_of(result) == "task_list: internal error in wiro-mcp (details are in the server's log)."
    )


async def test_the_same_call_again_returns_the_first_task_and_bills_once(
    catalog: dict[str, CatalogEntry], tmp_path: Path
) -> None:
    journal = SqliteJournal(tmp_path / "j.sqlite3")  # the journal is the memory: it holds across reconnects
    async with (
        in_process(catalog, journal=journal, seconds=1.0) as sandbox,
        Client(sandbox.app.server) as client,
    ):
        first, second = [None, None]

        async def call(index: int) -> None:
            nonlocal first, second
            result = await client.call_tool("reve_generate", {"prompt": "a koala", "aspectRatio": "1:1"})
            first, second = (result, second) if index == 0 else (first, result)

        async with anyio.create_task_group() as tg:  # two at once: one check-and-write decides
            tg.start_soon(call, 0)
            tg.start_soon(call, 1)
        again = await client.call_tool("reve_generate", {"aspectRatio": "1:1", "prompt": "a koala"})
        other = await client.call_tool("reve_generate", {"prompt": "a koala", "aspectRatio": "16:9"})
    results = [first, second, again]
    ids = {r.structured_content["taskid"] for r in results if r is not None and r.structured_content}  # type: ignore[union-attr]
    repeated = [r for r in results if r is not None and text_of(r).startswith("Not a new run")]
    assert len(ids) == 1 and len(repeated) >= 2  # every call after the first said so
    assert all(
        r is not None and r.structured_content and r.structured_content["state"] == "completed"
        for r in results
    )
    assert other.structured_content is not None and other.structured_content["taskid"] not in ids
    assert len(sandbox.state.requests("Run")) == 2


async def test_a_failed_task_may_be_tried_again_and_the_window_can_be_off(
    catalog: dict[str, CatalogEntry],
) -> None:
    async with in_process(catalog) as sandbox, Client(sandbox.app.server) as client:
        sandbox.state.plan_next_run(seconds=0.2, fail="GPU lost")
        failed = await client.call_tool("reve_generate", {"prompt": "x"})
        retried = await client.call_tool("reve_generate", {"prompt": "x"})
    assert failed.is_error and not retried.is_error
    async with in_process(catalog, dedup_seconds=0) as off, Client(off.app.server) as client:
        for _ in range(2):
            await client.call_tool("reve_generate", {"prompt": "x"})
    assert len(sandbox.state.requests("Run")) == 2 and len(off.state.requests("Run")) == 2


@pytest.mark.parametrize(
    ("code", "message", "says"),
    [
        (97, "Insufficient balance", "balance is too low for this run; nothing was started or billed"),
        (96, "Concurrency limit reached", "It is safe to call again once one of the running tasks ends"),
    ],
)
async def test_money_refusals_say_what_to_do(
    catalog: dict[str, CatalogEntry], code: int, message: str, says: str
) -> None:
    async with in_process(catalog) as sandbox, Client(sandbox.app.server) as client:
        sandbox.state.inject("Run", Fault("wiro", code=code, message=message))
        refused = await client.call_tool("reve_generate", {"prompt": "x"})
        listed = await client.call_tool("task_list", {})
    assert refused.is_error and says in text_of(refused) and f"{message} (code {code})" in text_of(refused)
    assert listed.structured_content is not None and listed.structured_content["tasks"] == []


def test_the_instructions_state_each_persons_and_the_teams_budget() -> None:
    from wiro_mcp.mcp.app import instructions_for
    from wiro_mcp.tasks import ServiceConfig

    said = instructions_for(ServiceConfig(budget_usd=1.0, team_budget_usd=20.0))
    assert "a budget of $1 per day" in said and "a team budget of $20 per day" in said
