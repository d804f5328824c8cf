"""Spec → what the agent sees: tool name, JSON Schema, description. Pure functions.

Kept small on purpose: the tool list is read by the agent on every turn, so each model tool says
what an agent chooses by (a one-line capability summary) and takes exactly one example.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from wiro_mcp.catalog.choosing import ORIENTATIONS, orientation_of
from wiro_mcp.catalog.constraints import Constraint, described, validate_call
from wiro_mcp.catalog.fields import FieldRule, defaults
from wiro_mcp.catalog.pricing import price_line
from wiro_mcp.catalog.spec import ModelSpec

_NON_NAME = re.compile(r"[^a-z0-9]+")
_SIZE_WORDS = frozenset({"ratio", "aspect", "size", "resolution", "quality"})
_DURATION_WORDS = frozenset({"duration", "seconds", "length"})
_RATIO_WORDS = frozenset({"ratio", "aspect"})
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")
MAX_LISTED = 6
MAX_DESCRIPTION = 160
MAX_EXAMPLE_TEXT = 160


MAX_TOOL_NAME = 64  # what every mainstream client and model API accepts: ^[a-zA-Z0-9_-]{1,64}$
TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def _slug_digest(owner: str, project: str) -> str:
    return hashlib.sha256(f"{owner}/{project}".lower().encode()).hexdigest()[:6]


def tool_name(owner: str, project: str) -> str:
    """`Wan-AI/Wan2.2-TI2V-5B-Image-to-Video-Fast` → `wan_ai_wan2_2_ti2v_5b_image_to_video_fast`. A name
    over 64 characters is cut and ends in a digest of the slug, so it stays short, valid and stable."""

    def part(text: str) -> str:
        return _NON_NAME.sub("_", text.lower()).strip("_") or "x"

    name = f"{part(owner)}_{part(project)}"
    if len(name) <= MAX_TOOL_NAME:
        return name
    return distinct_name(name, owner, project)


def distinct_name(name: str, owner: str, project: str) -> str:
    """`name` made that model's own: cut to leave room for a digest of its slug. For a slug whose
    plain name is taken by another model (`clash/a_b` and `clash/a-b`), or is too long."""
    return f"{name[: MAX_TOOL_NAME - 7].rstrip('_')}_{_slug_digest(owner, project)}"


def property_schema(rule: FieldRule) -> dict[str, Any]:
    prop: dict[str, Any]
    if rule.kind == "number":
        prop = {"type": "number"}
        if rule.minimum is not None:
            prop["minimum"] = rule.minimum
        if rule.maximum is not None:
            prop["maximum"] = rule.maximum
    elif rule.kind == "boolean":
        prop = {"type": "boolean"}
    elif rule.kind == "enum":
        prop = {"type": "string", "enum": list(rule.enum)}
    elif rule.kind == "file" and (rule.multiple or rule.combine):
        prop = {"type": "array", "items": {"type": "string"}}
    else:
        prop = {"type": "string"}
    if rule.description:
        prop["description"] = rule.description
    if rule.has_default:
        prop["default"] = rule.default
    return prop


def valid_examples(
    spec: ModelSpec, rules: tuple[FieldRule, ...], constraints: tuple[Constraint, ...] = ()
) -> list[dict[str, Any]]:
    """The page's example argument sets, as the validator would send them; invalid ones are left out."""
    out: list[dict[str, Any]] = []
    for example in spec.examples:
        checked = validate_call(rules, constraints, example)
        if checked.ok and checked.params not in out:
            out.append(checked.params)
    return out


def _echoes_default(spec: ModelSpec, example: dict[str, Any]) -> bool:
    """A sample text that is only the input's default: on Wiro's pages these are often copied from
    another model (an edit instruction on a text-to-image model), so they mislead."""
    return any(i.type == "textarea" and i.default and example.get(i.id) == i.default for i in spec.inputs)


def chosen_example(
    spec: ModelSpec, rules: tuple[FieldRule, ...], constraints: tuple[Constraint, ...] = ()
) -> dict[str, Any] | None:
    """The one example an agent is shown: the curated one, else the shortest that does not just
    repeat a default text; only ever a valid one."""
    if spec.curation.example is not None:
        checked = validate_call(rules, constraints, spec.curation.example)
        if checked.ok:
            return checked.params
    examples = valid_examples(spec, rules, constraints)
    if not examples:
        return None
    best = min(examples, key=lambda e: (_echoes_default(spec, e), len(json.dumps(e))))
    return {k: _first_sentences(v) if isinstance(v, str) and "://" not in v else v for k, v in best.items()}


def _first_sentences(text: str, limit: int = MAX_EXAMPLE_TEXT) -> str:
    """A long sample prompt cut to its first sentence(s): the example shows the shape, not an essay."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    end = cut.rfind(". ")
    return cut[: end + 1] if end > 40 else cut.rsplit(" ", 1)[0]


def input_schema(
    spec: ModelSpec, rules: tuple[FieldRule, ...], constraints: tuple[Constraint, ...] = ()
) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {r.name: property_schema(r) for r in rules},
        "additionalProperties": False,
    }
    required = [r.name for r in rules if r.required]
    if required:
        schema["required"] = required
    example = chosen_example(spec, rules, constraints)
    if example:
        schema["examples"] = [example]
    return schema


def _values(rule: FieldRule) -> str:
    if rule.kind == "enum":
        shown = [v for v in rule.enum if v][:MAX_LISTED]
        more = "|…" if len([v for v in rule.enum if v]) > MAX_LISTED else ""
        return "|".join(shown) + more
    if rule.kind == "number" and rule.minimum is not None and rule.maximum is not None:
        return f"{rule.minimum:g}-{rule.maximum:g}"
    return ""


def _words(name: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(name)}


def media_in(rules: tuple[FieldRule, ...]) -> list[str]:
    kinds = ["text"] if any(r.name == "prompt" for r in rules) else []
    kinds += [r.media for r in rules if r.kind == "file"]
    return list(dict.fromkeys(kinds))


def needs(rules: tuple[FieldRule, ...], out_media: str) -> list[str]:
    """What a call cannot run without, in words: `a start image` for image-to-video, and so on."""
    out: list[str] = []
    for rule in rules:
        if rule.kind == "file" and rule.required:
            start = rule.media == "image" and out_media == "video" and not out
            out.append("a start image" if start else f"an input {rule.media}")
    return out


def capability_line(spec: ModelSpec, rules: tuple[FieldRule, ...]) -> str:
    """`text+image → video · horizontal|vertical · 5|10 s · needs a start image · price unknown`: an
    aspect ratio in one vocabulary over every model (its own values stay in the schema's enum)."""
    parts = [f"{'+'.join(media_in(rules)) or 'nothing'} → {spec.effective_media}"]
    for rule in rules:
        values = _values(rule)
        shapes: set[str | None] = (
            {orientation_of(v) for v in rule.enum if v} if rule.kind == "enum" else set()
        )
        if values and _words(rule.name) & _DURATION_WORDS:
            parts.append(f"{values} s")
        elif values and _words(rule.name) & _RATIO_WORDS and shapes and None not in shapes:
            parts.append("|".join(o for o in ORIENTATIONS if o in shapes))
        elif values and _words(rule.name) & _SIZE_WORDS:
            parts.append(f"{rule.name} {values}")
    required = list(dict.fromkeys(needs(rules, spec.effective_media)))
    if required:
        parts.append("needs " + " and ".join(required))
    parts.append(price_line(spec.prices, defaults(rules)))
    return " · ".join(parts)


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split()).rstrip(".")
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut + "…"


def tool_description(
    spec: ModelSpec, rules: tuple[FieldRule, ...], constraints: tuple[Constraint, ...] = ()
) -> str:
    what = _short(spec.effective_description, MAX_DESCRIPTION)
    lines = [
        capability_line(spec, rules),
        f"{what}. Wiro model {spec.slug}." if what else f"Wiro model {spec.slug}.",
    ]
    if spec.realtime:
        lines.append("Realtime model (live audio after start): refused here, nothing is started.")
    if any(r.name == "session_id" for r in rules):
        lines.append("Conversation: omit session_id to start one; pass the result's back to continue.")
    if constraints:  # checked by the server; a schema's root may not carry them (allOf, if/then)
        lines.append(described(constraints))
    return "\n".join(lines)
