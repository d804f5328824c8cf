"""A model as an agent reads it in plain text (many clients show the model only
the text, not structuredContent): every input with its type, allowed values and their labels, its
default, and every price tier. Pure functions, compact on purpose."""

from __future__ import annotations

from wiro_mcp.catalog.fields import FieldRule
from wiro_mcp.catalog.pricing import tier_text
from wiro_mcp.catalog.spec import PriceTier

MAX_VALUES = 24
MAX_HELP = 90
MAX_TIERS = 24


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def _allowed(rule: FieldRule) -> str:
    values = [v for v in rule.enum if v != ""]
    shown = [f"{v}={rule.option_labels[v]}" if v in rule.option_labels else v for v in values[:MAX_VALUES]]
    more = f"|… ({len(values)} in all)" if len(values) > MAX_VALUES else ""
    none = ' or "" for none' if "" in rule.enum else ""
    return "|".join(shown) + more + none


def input_line(rule: FieldRule) -> str:
    """`- duration: one of 5|10, default 5. Length of the video in seconds.`"""
    star = "*" if rule.required else ""
    match rule.kind:
        case "enum":
            kind = f"one of {_allowed(rule)}"
        case "number":
            bounds = (
                f" {rule.minimum:g} to {rule.maximum:g}"
                if rule.minimum is not None and rule.maximum is not None
                else f" at least {rule.minimum:g}"
                if rule.minimum is not None
                else f" at most {rule.maximum:g}"
                if rule.maximum is not None
                else ""
            )
            kind = f"number{bounds}"
        case "boolean":
            kind = "true or false"
        case "file":
            several = "URLs or local paths" if rule.multiple or rule.combine else "a URL or a local path"
            kind = f"{rule.media if rule.media != 'file' else 'file'}: {several}"
        case _:
            kind = "text"
    shown = str(rule.default).lower() if isinstance(rule.default, bool) else str(rule.default)
    default = f", default {shown}" if rule.has_default and rule.default not in (None, "") else ""
    # What the line already says is left out of the help: the options' labels, how files are given.
    help_text = rule.description.split(" Options: ")[0]
    for said in (
        "URL or local path.",
        "URLs or local paths (an array).",
        'Empty string ("") means none.',
    ):
        help_text = help_text.replace(said, "").strip()
    words = f" {_short(help_text, MAX_HELP)}" if help_text else ""
    return f"- {rule.name}{star}: {kind}{default}.{words}".rstrip()


def inputs_text(rules: tuple[FieldRule, ...]) -> list[str]:
    return ["Inputs (* required):", *(input_line(r) for r in rules)]


def prices_text(tiers: tuple[PriceTier, ...]) -> list[str]:
    if not tiers:
        return ["Price: not published (Wiro bills only successful runs)."]
    lines = ["Prices:", *(f"- {tier_text(t)}" for t in tiers[:MAX_TIERS])]
    if len(tiers) > MAX_TIERS:
        lines.append(f"- and {len(tiers) - MAX_TIERS} more tiers (in structuredContent.prices)")
    return lines
