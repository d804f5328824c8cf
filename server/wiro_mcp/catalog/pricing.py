"""Prices from Wiro's `dynamicprice` tiers: the one tier that applies to a call, and what that call
will cost, as far as it can be known before the run. Pure functions.

Wiro bills only successful runs. Every method in Wiro's pricing page is understood; where the cost
depends on what only the run reveals (seconds of processing, tokens, input audio length) the quote
says so instead of guessing.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from wiro_mcp.catalog.spec import PriceTier
from wiro_mcp.jsonish import as_list, bounded_loads

MEGAPIXEL = 1_048_576
MAX_TIERS = 500
MAX_PRICE_TEXT = 256_000
_QUANTITY = "QUANTITY:"
_SIZE = re.compile(r"^\s*(\d{2,5})\s*[x:*×]\s*(\d{2,5})\s*$")
OUTPUT_COUNT_FIELDS = (
    "numOutputs",
    "num_outputs",
    "numImages",
    "num_images",
    "numberOfImages",
    "samples",
    "n",
)
DURATION_FIELDS = ("duration", "videoDuration", "video_duration", "length", "seconds")

_UNKNOWN_WHY = {
    "cps": "billed per second of processing",
    "cpt": "billed per token used",
    "cp-audiosecondslength": "billed per second of input audio",
    "cp-realtimeturn": "billed per conversation turn",
    "cp-readoutput": "the model reports its own cost",
}
_UNIT = {
    "cpr": "per run",
    "cps": "per second of processing",
    "cpo": "per output",
    "cpt": "per token",
    "cp-pixel": "per megapixel",
    "cp-audiosecondslength": "per second of input audio",
    "cp-promptlength": "per prompt character",
    "cp-outputVideoLength": "per second of video",
    "cp-realtimeturn": "per turn",
    "cp-readoutput": "reported by the model",
}


def parse_dynamicprice(raw: Any) -> tuple[PriceTier, ...]:
    """Wiro's `dynamicprice` (a JSON string, or already a list) → tiers. Anything unreadable (a price
    that is not a finite, non-negative number, say) makes every tier unknown: leaving one tier out
    could let a cheaper one match its calls."""
    if isinstance(raw, str):
        try:
            raw = bounded_loads(raw, max_bytes=MAX_PRICE_TEXT) if raw.strip() else []
        except ValueError:
            return ()
    items = as_list(raw)
    if len(items) > MAX_TIERS or not all(isinstance(i, dict) for i in items):
        return ()
    try:
        return tuple(PriceTier.model_validate(item) for item in items)
    except ValidationError:
        return ()


def _money(value: float) -> str:
    if value >= 1:
        return f"${value:,.2f}"
    whole, _, cents = f"{value:.6f}".rstrip("0").partition(".")
    return f"${whole}.{cents.ljust(2, '0')}"


@dataclass(frozen=True)
class Quote:
    """What a call will cost: `low` and `high` in USD (equal when exact; None where unknown)."""

    low: float | None
    high: float | None
    method: str = ""
    basis: str = ""  # how the figure was reached, or why it cannot be
    tier: PriceTier | None = None
    estimate: float | None = None  # Wiro's own estimate where the price is not known (billed per second)

    @property
    def known(self) -> bool:
        return self.low is not None

    @property
    def exact(self) -> bool:
        return self.low is not None and self.low == self.high

    def text(self) -> str:
        if self.low is None and self.estimate is not None:
            return f"about {_money(self.estimate)}, Wiro's estimate from its average run ({self.basis})"
        if self.low is None:
            return f"unknown ({self.basis})" if self.basis else "unknown"
        if self.high is None:
            return f"at least {_money(self.low)}"
        if self.exact:
            return _money(self.low)
        return f"{_money(self.low)}–{_money(self.high).lstrip('$')}"

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"usd_low": self.low, "usd_high": self.high, "text": self.text()}
        if self.estimate is not None:
            data["usd_estimate"] = self.estimate
        if self.method:
            data["method"] = self.method
        if self.basis:
            data["basis"] = self.basis
        return data


UNKNOWN = Quote(None, None, basis="Wiro publishes no price for this model")


def _count(value: Any) -> int:
    if isinstance(value, list | tuple):
        return len(value)  # pyright: ignore[reportUnknownArgumentType]
    if isinstance(value, str):
        return len([v for v in value.split(",") if v.strip()])
    return 0 if value is None else 1


def _matches(tier: PriceTier, args: Mapping[str, Any]) -> bool:
    for key, wanted in tier.inputs.items():
        value = args.get(key)
        if wanted.startswith(_QUANTITY):
            try:
                if _count(value) != int(wanted[len(_QUANTITY) :]):
                    return False
            except ValueError:
                return False
        elif value is None or str(value).lower() != wanted.lower():
            return False
    return True


def tier_for(tiers: Iterable[PriceTier], args: Mapping[str, Any]) -> PriceTier | None:
    """The most specific tier whose inputs all match `args` (the flat `{}` tier matches anything)."""
    matching = [t for t in tiers if _matches(t, args)]
    return max(matching, key=lambda t: len(t.inputs)) if matching else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(str(value).strip().rstrip("s"))
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None


def _first_number(args: Mapping[str, Any], names: Iterable[str]) -> float | None:
    for name in names:
        if name in args and (n := _number(args[name])) is not None:
            return n
    return None


def _pixels(args: Mapping[str, Any]) -> int | None:
    width, height = _number(args.get("width")), _number(args.get("height"))
    if width and height:
        return int(width * height)
    for value in args.values():
        match = _SIZE.match(str(value)) if isinstance(value, str) else None
        if match and int(match.group(1)) >= 64 and int(match.group(2)) >= 64:
            return int(match.group(1)) * int(match.group(2))
    return None


def cost_for(tier: PriceTier, args: Mapping[str, Any], file_fields: Iterable[str] = ()) -> Quote:
    """The cost of one call under `tier`, from the call's arguments (`file_fields`: its file inputs)."""
    price, method = tier.price, tier.method
    unit = f"{_money(price)} {_UNIT.get(method, method)}"

    def quote(low: float | None, high: float | None, basis: str) -> Quote:
        return Quote(low, high, method, basis, tier)

    match method:
        case "cpr":
            return quote(price, price, unit)
        case "cpo":
            count = _first_number(args, OUTPUT_COUNT_FIELDS)
            if count is None:
                return quote(price, None, f"{unit}; the number of outputs is known only after the run")
            return quote(price * max(count, 1), price * max(count, 1), f"{unit} × {count:g}")
        case "cp-outputVideoLength":
            seconds = _first_number(args, DURATION_FIELDS)
            if seconds is None:
                return quote(None, None, f"{unit}; the video length is known only after the run")
            return quote(price * seconds, price * seconds, f"{unit} × {seconds:g} s")
        case "cp-promptlength":
            chars = len(str(args.get("prompt") or ""))
            return quote(price * chars, price * chars, f"{unit} × {chars} characters")
        case "cp-pixel":
            inputs = sum(_count(args.get(f)) for f in file_fields)
            per_input = (tier.per_input or 0.0) * inputs
            pixels = _pixels(args)
            if pixels is None:
                return quote(price + per_input, None, f"{unit}; the output size is known only after the run")
            tiers = max(math.ceil(pixels / MEGAPIXEL), 1)
            total = price + (tiers - 1) * (tier.extra if tier.extra is not None else price) + per_input
            # Input images are billed per megapixel of their own: unknown until they are read.
            high = total if not per_input else None
            return quote(
                total, high, f"{unit} × {tiers} MP" + (f", {inputs} input image(s)" if inputs else "")
            )
        case _:
            why = _UNKNOWN_WHY.get(method, f"billing method {method!r}")
            return quote(None, None, f"{why}: {unit}")


def quote(
    tiers: tuple[PriceTier, ...],
    args: Mapping[str, Any],
    file_fields: Iterable[str] = (),
    estimate: float | None = None,
) -> Quote:
    """What a call with `args` (defaults filled in) will cost; `estimate` is Wiro's `approximatelycost`,
    shown (as an estimate, never as a bound) for a model billed per second."""
    if not tiers:
        return UNKNOWN
    tier = tier_for(tiers, args)
    if tier is None:
        combos = "; ".join(", ".join(f"{k}={v}" for k, v in t.inputs.items()) for t in tiers if t.inputs)
        return Quote(None, None, basis=f"no price tier matches these arguments (priced: {combos})")
    figure = cost_for(tier, args, file_fields)
    if any(v is not None and usable(v) is None for v in (figure.low, figure.high)):
        # Money rules fail closed: a figure that is not a finite, non-negative number is no figure.
        return Quote(
            None, None, tier.method, "the price tier gives no usable figure for these arguments", tier
        )
    if figure.low is None and tier.method == "cps" and estimate is not None:
        return dataclasses.replace(figure, estimate=estimate)
    return figure


def usable(value: float | None) -> float | None:
    """A money figure as the rules accept it: finite and non-negative, else none."""
    return value if value is not None and math.isfinite(value) and value >= 0 else None


def parse_usd(value: Any) -> float | None:
    """A price Wiro sends as a string or a number; None for anything else."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return usable(number)


# Methods whose cost a tier fixes before the run (with the call's own duration, for video length).
_PER_RUN = frozenset({"cpr", "cp-outputVideoLength"})


def tier_text(tier: PriceTier) -> str:
    """`$0.25 per run when duration=5`."""
    when = ", ".join(f"{k}={v}" for k, v in tier.inputs.items())
    extra = f", then {_money(tier.extra)} per further megapixel" if tier.extra is not None else ""
    per_input = f", plus {_money(tier.per_input)} per input image" if tier.per_input is not None else ""
    return f"{_money(tier.price)} {_UNIT.get(tier.method, tier.method)}{extra}{per_input}" + (
        f" when {when}" if when else ""
    )


def price_line(tiers: tuple[PriceTier, ...], defaults: Mapping[str, Any]) -> str:
    """One line for a listing: `$0.06-0.58 per run`, `$0.02 per megapixel`, `price unknown`."""
    if not tiers:
        return "price unknown"
    if all(t.method in _PER_RUN for t in tiers):
        # Each tier's figure with its own inputs over the defaults; a span of them per run.
        quotes = [cost_for(t, {**defaults, **t.inputs}) for t in tiers]
        figures = [q.high for q in quotes if q.high is not None]
        if len(figures) == len(quotes):
            return f"{Quote(min(figures), max(figures)).text()} per run"
    rates = sorted({t.price for t in tiers})
    method = tiers[0].method
    rate = _money(rates[0]) + (f"-{_money(rates[-1]).lstrip('$')}" if len(rates) > 1 else "")
    return f"{rate} {_UNIT.get(method, method)}"
