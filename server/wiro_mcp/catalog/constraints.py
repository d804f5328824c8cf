"""Values of one call that only go together, checked before anything is sent.

Two sources: the curation block (a rule a model page states in words, e.g. PixVerse's "fast motion
only at 5 s, not at 1080p"), and the `dynamicprice` tiers when they list, field by field, the only
combinations Wiro prices (resolution-by-duration tables). A value no tier names is never forbidden:
an unpriced value is unknown, not invalid. Constraints are stated in the tool's description (model
APIs refuse `allOf` or `if`/`then` at the root of a tool's schema) and in the model's details, and checked
with Wiro's defaults filled in for the fields left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from wiro_mcp.catalog.fields import FieldRule, defaults
from wiro_mcp.catalog.spec import ModelSpec, PriceTier
from wiro_mcp.catalog.validate import FieldError, Validated, clip, validate_arguments
from wiro_mcp.errors import SpecError

PRICED_ONLY = "the only combinations Wiro prices"
MAX_SHOWN_IN_DESCRIPTION = 3  # more are still checked; the tool list stays small


def value_text(value: Any) -> str:
    """How a value compares with an option: 5, 5.0 and "5" are all the option "5"."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass(frozen=True)
class Constraint:
    """When every `when` field has one of its values, each `allowed` field must have one of its values."""

    when: Mapping[str, tuple[str, ...]]
    allowed: Mapping[str, tuple[str, ...]]
    why: str = ""

    def applies(self, params: Mapping[str, Any]) -> bool:
        return all(f in params and value_text(params[f]) in values for f, values in self.when.items())

    def condition(self) -> str:
        return " and ".join(f"{f} {'|'.join(values)}" for f, values in self.when.items())

    def text(self) -> str:
        """`motionMode fast → duration 5, quality 360p|540p|720p`."""
        then = ", ".join(f"{f} {'|'.join(values)}" for f, values in self.allowed.items())
        return f"{self.condition()} → {then}"


def broken(
    constraints: Sequence[Constraint], params: Mapping[str, Any], given: Mapping[str, Any]
) -> list[FieldError]:
    """One error per value that does not go with the others, naming what would. `params` has the
    defaults filled in; `given` is what the caller sent (to say when a default is the culprit)."""
    errors: list[FieldError] = []
    for rule in constraints:
        if not rule.applies(params):
            continue
        for name, values in rule.allowed.items():
            if name not in params or value_text(params[name]) in values:
                continue
            shown = clip(value_text(params[name]), 60)
            whose = "" if name in given else " (Wiro's default)"
            why = f" ({rule.why})" if rule.why else ""
            then = ", ".join(f"{f} {'|'.join(v)}" for f, v in rule.allowed.items())
            errors.append(
                FieldError(
                    name,
                    params[name],
                    f"{shown!r}{whose} does not go with {rule.condition()}{why}. Valid with it: {then}.",
                )
            )
    return errors


def validate_call(
    rules: tuple[FieldRule, ...], constraints: Sequence[Constraint], arguments: Mapping[str, Any] | None
) -> Validated:
    """Each value on its own (the field rules), then the values together (the constraints)."""
    checked = validate_arguments(rules, arguments)
    if not checked.ok or not constraints:
        return checked
    together = broken(constraints, {**defaults(rules), **checked.params}, checked.params)
    return Validated(checked.params, tuple(together), checked.filled)


def constraints_for(spec: ModelSpec, rules: Sequence[FieldRule]) -> tuple[Constraint, ...]:
    """The curated constraints (checked against the fields), then those the price tiers imply."""
    return (*_curated(spec, rules), *from_prices(spec.prices, rules))


def _curated(spec: ModelSpec, rules: Sequence[FieldRule]) -> list[Constraint]:
    enums = {r.name: r.enum for r in rules if r.kind == "enum"}
    out: list[Constraint] = []
    for number, item in enumerate(spec.curation.constraints, 1):
        for name, values in (*item.when.items(), *item.allowed.items()):
            where = f"{spec.slug}: curation constraint {number}"
            if name not in enums:
                raise SpecError(f"{where}: {name!r} is not a field with options")
            unknown = [v for v in values if v not in enums[name]]
            if unknown or not values:
                raise SpecError(
                    f"{where}: {name} has no option {', '.join(map(repr, unknown)) or '(none given)'}"
                )
        out.append(Constraint(dict(item.when), dict(item.allowed), item.why))
    return out


def from_prices(tiers: Iterable[PriceTier], rules: Sequence[FieldRule]) -> list[Constraint]:
    """Tiers that all name the same two or more option fields, with no flat tier for the rest, list
    the valid combinations: for each value of the leading fields, the last field's priced values."""
    tiers = list(tiers)
    enums = {r.name: r.enum for r in rules if r.kind == "enum"}
    keys = set(tiers[0].inputs) if tiers else set[str]()
    if len(keys) < 2 or not keys <= enums.keys() or any(set(t.inputs) != keys for t in tiers):
        return []
    order = [r.name for r in rules if r.name in keys]
    head, last = order[:-1], order[-1]
    with_prefix: dict[tuple[str, ...], set[str]] = {}
    for tier in tiers:
        with_prefix.setdefault(tuple(tier.inputs[k] for k in head), set()).add(tier.inputs[last])
    priced: set[str] = set[str]().union(*with_prefix.values())
    unpriced = [v for v in enums[last] if v not in priced]  # unknown, so never forbidden
    grouped: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
    for prefix, values in with_prefix.items():
        if values != priced:
            allowed = tuple([v for v in enums[last] if v in values] + sorted(values - set(enums[last])))
            grouped.setdefault((*allowed, *unpriced), []).append(prefix)
    out: list[Constraint] = []
    for allowed, prefixes in grouped.items():
        if len(head) == 1:  # one rule per set of allowed values: `resolution 1080p|4k → duration 5`
            out.append(Constraint({head[0]: tuple(p[0] for p in prefixes)}, {last: allowed}, PRICED_ONLY))
        else:
            out += [
                Constraint({k: (v,) for k, v in zip(head, p, strict=True)}, {last: allowed}, PRICED_ONLY)
                for p in prefixes
            ]
    return out


def described(constraints: Sequence[Constraint]) -> str:
    """One line for a tool's description: `Only together: motionMode fast → duration 5, …`."""
    if not constraints:
        return ""
    shown = "; ".join(c.text() for c in constraints[:MAX_SHOWN_IN_DESCRIPTION])
    more = len(constraints) - MAX_SHOWN_IN_DESCRIPTION
    rest = f"; and {more} more" if more > 0 else ""
    return f"Only together: {shown}{rest}."
