"""The money rules as pure functions: the bound a call counts for, the cap, the confirmation threshold
and the budget, each failing closed on a figure that cannot be trusted."""

from __future__ import annotations

import math

import pytest

from wiro_mcp.catalog.pricing import Quote
from wiro_mcp.journal import Budget
from wiro_mcp.tasks import Rejected, ServiceConfig
from wiro_mcp.tasks.cost import bound, budget_for, needs_confirmation, over_cap


@pytest.mark.parametrize("bad", [math.nan, math.inf, -1.0])
def test_a_figure_that_is_not_finite_and_non_negative_bounds_nothing(bad: float) -> None:
    config = ServiceConfig(max_cost_usd=1.0)
    assert bound(Quote(bad, bad), config) is None
    refused = over_cap(Quote(bad, bad), config)
    assert isinstance(refused, Rejected) and "WIRO_MCP_MAX_COST_USD" in refused.reason


def test_an_unpriced_run_counts_the_set_figure_or_its_known_part() -> None:
    config = ServiceConfig(max_cost_usd=1.0, unpriced_run_usd=0.2)
    assert bound(Quote(None, None), config) == 0.2
    assert bound(Quote(0.5, None), config) == 0.5  # at least the part that is known
    assert over_cap(Quote(0.5, None), config) is None
    assert isinstance(over_cap(Quote(1.5, None), config), Rejected)


def test_confirmation_is_asked_above_the_threshold_or_for_an_unknown_price() -> None:
    config = ServiceConfig(confirm_above_usd=0.3)
    assert needs_confirmation(Quote(0.5, 0.5), config) and needs_confirmation(Quote(None, None), config)
    assert not needs_confirmation(Quote(0.3, 0.3), config)
    assert not needs_confirmation(Quote(9.0, 9.0), ServiceConfig())


def test_a_budget_needs_a_durable_journal_and_a_bound() -> None:
    config = ServiceConfig(budget_usd=1.0)
    kept = budget_for(Quote(0.1, 0.1), config, account="a", durable=True, where="j.sqlite3")
    assert isinstance(kept, Budget) and kept.account == "a" and kept.limit_usd == 1.0
    memory = budget_for(Quote(0.1, 0.1), config, account="a", durable=False, where="in memory only")
    assert isinstance(memory, Rejected) and "needs the task journal on disk" in memory.reason
    unknown = budget_for(Quote(None, None), config, account="a", durable=True, where="j")
    assert isinstance(unknown, Rejected) and "cannot be kept" in unknown.reason
    assert budget_for(Quote(0.1, 0.1), ServiceConfig(), account="a", durable=False, where="m") is None
