"""Money rules under attack: prices, costs, budgets, accounts and repeated calls that a hostile Wiro
or a second caller must not be able to bend. Each test failed before its rule held."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest
from mcp import Client
from pydantic import SecretStr

from tests.conftest import in_process
from wiro_mcp.catalog.importer import import_tool_detail
from wiro_mcp.catalog.load import CatalogEntry, entry_for
from wiro_mcp.catalog.spec import PriceTier
from wiro_mcp.journal import SqliteJournal
from wiro_mcp.tasks import Rejected, Started, TaskService
from wiro_mcp.wiro.auth import WiroAuth
from wiro_mcp.wiro.client import endpoint_key

pytestmark = pytest.mark.anyio


def priced(catalog: dict[str, CatalogEntry], usd: float) -> dict[str, CatalogEntry]:
    reve = catalog["reve_generate"]
    spec = reve.spec.model_copy(update={"prices": (PriceTier(price=usd),)})
    return {**catalog, "reve_generate": entry_for(spec, "test")}


def priced_reve(service: TaskService) -> CatalogEntry:
    entry = service.offered.get("reve_generate")
    assert entry is not None and entry.spec.prices
    return entry


def hostile_detail(price_extra: str) -> dict[str, object]:
    """A Tool/Detail answer whose price tier carries a NaN, an infinity or a negative figure."""
    return {
        "cleanslugowner": "reve",
        "cleanslugproject": "generate",
        "title": "reve",
        "parameters": [{"items": [{"id": "prompt", "type": "textarea", "required": True}]}],
        "dynamicprice": f'[{{"inputs": {{}}, "price": 0.01, "priceMethod": "cp-pixel", "priceExtra": {price_extra}}}]',
    }


@pytest.mark.parametrize("extra", ["NaN", "Infinity", "-5"])
async def test_a_hostile_price_tier_makes_the_quote_unknown_so_caps_and_budgets_refuse(
    catalog: dict[str, CatalogEntry], tmp_path: Path, extra: str
) -> None:
    entry = entry_for(import_tool_detail(hostile_detail(extra)), "hostile")
    assert entry.spec.prices == ()
    journal = SqliteJournal(tmp_path / "j.sqlite3")
    for limits in ({"max_cost_usd": 1.0}, {"budget_usd": 1.0}):
        async with in_process(catalog, journal=journal, limits=limits) as sandbox:
            refused = await sandbox.service.submit(entry, {"prompt": "x"})
        assert isinstance(refused, Rejected) and "unknown" in refused.reason
        assert sandbox.state.requests("Run") == []


async def test_a_negative_cost_from_wiro_is_never_credited(
    catalog: dict[str, CatalogEntry], tmp_path: Path
) -> None:
    journal = SqliteJournal(tmp_path / "j.sqlite3")
    async with in_process(priced(catalog, 0.25), journal=journal, limits={"budget_usd": 0.5}) as sandbox:
        service = sandbox.service
        started: list[Started] = []
        refused: list[Rejected] = []
        for n in range(6):
            submitted = await service.submit(priced_reve(service), {"prompt": f"run {n}"})
            if isinstance(submitted, Rejected):
                refused.append(submitted)
                continue
            started.append(submitted)
            sandbox.state.tasks[submitted.handle.taskid].cost = -5.0  # Wiro "refunds" $5 a run
            report = await service.follow(submitted.handle, last_known=submitted.task)
            assert report.task.state == "completed" and report.task.cost_usd is None
    # $0.25 each: two fit in $0.50, whatever Wiro says it cost.
    assert len(started) == 2 and len(refused) == 4 and "budget" in refused[0].reason
    assert len(sandbox.state.requests("Run")) == 2


async def test_a_budget_without_a_journal_on_disk_refuses_paid_runs(catalog: dict[str, CatalogEntry]) -> None:
    async with in_process(priced(catalog, 0.01), limits={"budget_usd": 100.0}) as sandbox:
        refused = await sandbox.service.submit(priced_reve(sandbox.service), {"prompt": "x"})
    assert isinstance(refused, Rejected)
    assert "needs the task journal on disk" in refused.reason and "WIRO_MCP_JOURNAL" in refused.reason
    assert sandbox.state.requests("Run") == []


def test_an_account_is_a_fingerprint_of_its_key_and_a_wiro_has_one_spelling() -> None:
    key = "key-of-project-a-0123456789"
    a, b = WiroAuth(SecretStr(key)), WiroAuth(SecretStr("key-of-project-b"))
    assert a.account != b.account and key not in a.account and len(a.account) == 16
    assert a.account == WiroAuth(SecretStr(key), SecretStr("another secret")).account
    same = {
        endpoint_key(u)
        for u in (
            "http://127.0.0.1:8790/v1",
            "http://LOCALHOST:8790/v1/",
            "http://[::1]:8790/v1",
            "http://127.0.0.9:8790/v1",
        )
    }
    assert same == {"http://localhost:8790/v1"}
    assert endpoint_key("https://API.wiro.ai:443/v1/") == "https://api.wiro.ai/v1"


@contextlib.asynccontextmanager
async def two_accounts(
    catalog: dict[str, CatalogEntry], journal: SqliteJournal
) -> AsyncIterator[tuple[object, object]]:
    async with (
        in_process(catalog, journal=journal, endpoint="http://localhost/v1#aaaa", account="aaaa") as a,
        in_process(catalog, journal=journal, endpoint="http://localhost/v1#bbbb", account="bbbb") as b,
    ):
        yield a, b


async def test_two_accounts_on_one_journal_never_see_or_get_each_others_tasks(
    catalog: dict[str, CatalogEntry], tmp_path: Path
) -> None:
    journal = SqliteJournal(tmp_path / "j.sqlite3")
    async with two_accounts(catalog, journal) as (a, b):
        reve = catalog["reve_generate"]
        first = await a.service.submit(reve, {"prompt": "project A's secret prompt"})  # type: ignore[attr-defined]
        second = await b.service.submit(reve, {"prompt": "project A's secret prompt"})  # type: ignore[attr-defined]
        assert isinstance(first, Started) and isinstance(second, Started)
        assert not second.repeated and second.handle.taskid != first.handle.taskid
        seen_by_b = await b.service.recent()  # type: ignore[attr-defined]
    assert [e.taskid for e in seen_by_b] == [second.handle.taskid]


async def test_identical_calls_to_two_models_whose_names_clash_start_two_tasks(
    catalog: dict[str, CatalogEntry],
) -> None:
    reve = catalog["reve_generate"].spec
    one = entry_for(reve.model_copy(update={"owner": "clash", "project": "a_b"}), "test")
    two = entry_for(reve.model_copy(update={"owner": "clash", "project": "a-b"}), "test")
    assert one.name == two.name  # the plain form is the same: the live catalog tells them apart
    async with in_process({**catalog, "one": one, "two": two}) as sandbox:
        first = await sandbox.service.submit(one, {"prompt": "same"})
        second = await sandbox.service.submit(two, {"prompt": "same"})
    assert isinstance(first, Started) and isinstance(second, Started) and not second.repeated
    assert [t.spec.slug for t in sandbox.state.tasks.values()] == ["clash/a_b", "clash/a-b"]


async def test_cancelling_a_repeated_call_leaves_the_first_callers_task_running(
    catalog: dict[str, CatalogEntry],
) -> None:
    async with (
        in_process(catalog, seconds=5) as sandbox,
        Client(sandbox.app.server) as first,
        Client(sandbox.app.server) as second,
    ):
        results: list[object] = []

        async def call(client: Client) -> None:
            results.append(await client.call_tool("reve_generate", {"prompt": "one task for both"}))

        with anyio.fail_after(30):
            async with anyio.create_task_group() as outer:
                outer.start_soon(call, first)
                while not sandbox.state.tasks:
                    await anyio.sleep(0.02)
                async with anyio.create_task_group() as repeat:
                    repeat.start_soon(call, second)
                    await anyio.sleep(0.5)  # the repeat is following the first task now
                    repeat.cancel_scope.cancel()
    (task,) = sandbox.state.tasks.values()
    assert task.stopped_at is None and not sandbox.state.requests("Task/Kill")
    assert len(results) == 1 and getattr(results[0], "structured_content", {})["state"] == "completed"
