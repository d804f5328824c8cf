"""What a call costs and whether the money rules let it run: quotes, the per-call cap, the budget,
the confirmation threshold, and what each refusal says. Pure functions of the config and the quote."""

from __future__ import annotations

import time
from typing import Any

from wiro_mcp.catalog.fields import defaults
from wiro_mcp.catalog.load import CatalogEntry
from wiro_mcp.catalog.pricing import Quote, quote, usable
from wiro_mcp.journal import Budget, OverBudget
from wiro_mcp.tasks.records import Rejected, ServiceConfig

UNPRICED_HINT = (
    "To run it, unset {setting}, or set WIRO_MCP_UNPRICED_RUN_USD to the amount such a run should count "
    "for under caps and budgets."
)


def quote_for(entry: CatalogEntry, params: dict[str, Any]) -> Quote:
    """What a call with these (valid) arguments will cost, Wiro's defaults filled in."""
    files = [r.name for r in entry.rules if r.kind == "file"]
    return quote(entry.spec.prices, {**defaults(entry.rules), **params}, files, entry.spec.approximate_cost)


def bound(figure: Quote, config: ServiceConfig) -> float | None:
    """The most a call counts for under a cap or a budget: its quote's upper end, else (the price is
    not known before the run) WIRO_MCP_UNPRICED_RUN_USD, at least the part that is known."""
    if figure.high is not None:
        return usable(figure.high)
    assumed = config.unpriced_run_usd
    return None if assumed is None else max(assumed, usable(figure.low) or 0.0)


def needs_confirmation(figure: Quote, config: ServiceConfig) -> bool:
    """Above the threshold, or with no known upper price while a threshold is set."""
    limit = config.confirm_above_usd
    return limit is not None and (figure.high is None or figure.high > limit + 1e-9)


def what_fits(entry: CatalogEntry, params: dict[str, Any], limit: float) -> str:
    """The cheapest valid arguments of this model that cost at most `limit` (the call's own, with one
    price tier's values), or that none does; "" when the tiers cannot tell."""
    best: tuple[float, dict[str, str]] | None = None
    priced_all = bool(entry.spec.prices)
    for tier in entry.spec.prices:
        values = {k: v for k, v in tier.inputs.items() if not v.startswith("QUANTITY:")}
        checked = entry.validate({**params, **values})
        if not checked.ok:
            continue
        figure = quote_for(entry, checked.params).high
        if figure is None:
            priced_all = False
        elif figure <= limit + 1e-9 and (best is None or figure < best[0]):
            best = (figure, values)
    if best is None:
        return f" No arguments of this model fit under ${limit:g}." if priced_all else ""
    changes = ", ".join(f"{k}={v}" for k, v in best[1].items() if str(params.get(k)) != v)
    return f" Cheapest that fits: {changes} (${best[0]:.4f})." if changes else ""


def over_cap(
    figure: Quote,
    config: ServiceConfig,
    entry: CatalogEntry | None = None,
    params: dict[str, Any] | None = None,
) -> Rejected | None:
    cap = config.max_cost_usd
    if cap is None:
        return None
    most = bound(figure, config)
    if most is None:
        return Rejected(
            reason=f"its price is {figure.text()}, so the per-call cap of ${cap:g} (WIRO_MCP_MAX_COST_USD) "
            f"cannot be kept. {UNPRICED_HINT.format(setting='WIRO_MCP_MAX_COST_USD')}"
        )
    if most <= cap + 1e-9:
        return None
    if figure.high is None:
        return Rejected(
            reason=f"its price is {figure.text()}, counted as ${most:g} (WIRO_MCP_UNPRICED_RUN_USD), "
            f"above the per-call cap of ${cap:g}. Raise WIRO_MCP_MAX_COST_USD, or lower "
            "WIRO_MCP_UNPRICED_RUN_USD."
        )
    fits = what_fits(entry, params or {}, cap) if entry is not None else ""
    return Rejected(
        reason=f"it is quoted at {figure.text()}, above the per-call cap of ${cap:g}.{fits} Choose cheaper "
        "arguments, or raise WIRO_MCP_MAX_COST_USD."
    )


def budget_for(
    figure: Quote, config: ServiceConfig, *, account: str, durable: bool, where: str
) -> Budget | Rejected | None:
    """The budgets a Run must fit (each person's and the team's, checked by the journal in one step
    with its row), a refusal, or None when no budget is set. A budget fails closed: without a
    journal on disk, or a bound."""
    mine, team = config.budget_usd, config.team_budget_usd
    if mine is None and team is None:
        return None
    limit, setting = (mine, "WIRO_MCP_BUDGET_USD") if mine is not None else (team, "WIRO_MCP_TEAM_BUDGET_USD")
    if not durable:
        # A budget kept in one process's memory is a budget per process and per restart.
        return Rejected(
            reason=f"a budget ({setting}=${limit:g}) needs the task journal on disk, and the journal "
            f"is {where}. Set WIRO_MCP_JOURNAL to a file this server can write, or unset {setting}"
        )
    if bound(figure, config) is None:
        return Rejected(
            reason=f"its price is {figure.text()}, so the budget of ${limit:g} ({setting}) cannot "
            f"be kept. {UNPRICED_HINT.format(setting=setting)}"
        )
    return Budget(mine, time.time() - config.budget_seconds, account, team)


def over_budget(
    over: OverBudget,
    figure: Quote,
    config: ServiceConfig,
    entry: CatalogEntry | None = None,
    params: dict[str, Any] | None = None,
) -> Rejected:
    left = max(over.limit_usd - over.spent_usd, 0.0)
    hours = config.budget_seconds / 3600
    fits = what_fits(entry, params or {}, left) if entry is not None else ""
    whose, setting = (
        ("the team's", "WIRO_MCP_TEAM_BUDGET_USD") if over.team else ("the", "WIRO_MCP_BUDGET_USD")
    )
    return Rejected(
        reason=f"it is quoted at {figure.text()} and only ${left:.4f} of {whose} ${over.limit_usd:g} budget is "
        f"left for the last {hours:g} h (spent or running: ${over.spent_usd:.4f}).{fits} Raise {setting}, "
        "or wait for older spend to leave the period."
    )
