"""What the emulator charges: a model's own `dynamicprice` tiers, or sandbox prices for a model that
has none (so quotes and budgets can be tried offline), and the billed cost that follows them."""

from __future__ import annotations

from typing import Any

from wiro_mcp.catalog.fields import defaults, rules_for
from wiro_mcp.catalog.pricing import quote
from wiro_mcp.catalog.spec import ModelSpec, PriceTier

CPS = 0.000585  # the per-second rate Wiro's own examples show, for models billed per second
VIDEO_RATE = 0.05  # per second of video, for sandbox prices


def sandbox_prices(spec: ModelSpec) -> tuple[PriceTier, ...]:
    if spec.prices:
        return spec.prices
    if spec.effective_media != "video":
        return (PriceTier(price=0.04),)
    durations = next((i for i in spec.inputs if i.type == "select" and "duration" in i.id.lower()), None)
    if durations is None:
        return (PriceTier(price=0.25),)
    return tuple(
        PriceTier(inputs={durations.id: o.value}, price=round(VIDEO_RATE * float(o.value), 4))
        for o in durations.options
        if o.value.replace(".", "", 1).isdigit()
    )


def billed(spec: ModelSpec, params: dict[str, Any], seconds: float) -> float:
    """The cost of a successful run: its tier's figure where the method fixes one before the run,
    else the per-second rate over the run's time (as Wiro bills `cps`)."""
    rules = rules_for(spec)
    files = [r.name for r in rules if r.kind == "file"]
    figure = quote(sandbox_prices(spec), {**defaults(rules), **params}, files)
    if figure.low is not None:
        return figure.low
    return CPS * max(seconds, 1.0)
