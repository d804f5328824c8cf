"""Spec → what the agent sees: tool name, JSON Schema, description. Pure functions."""

from __future__ import annotations

import re
from typing import Any

from wiro_mcp.catalog.fields import FieldRule, rules_for
from wiro_mcp.catalog.spec import ModelSpec
from wiro_mcp.catalog.validate import validate_arguments

_NON_NAME = re.compile(r"[^a-z0-9]+")


def tool_name(owner: str, project: str) -> str:
    """`Wan-AI/Wan2.2-TI2V-5B-Image-to-Video-Fast` → `wan_ai_wan2_2_ti2v_5b_image_to_video_fast`."""

    def part(text: str) -> str:
        return _NON_NAME.sub("_", text.lower()).strip("_")

    return f"{part(owner)}_{part(project)}"


def property_schema(rule: FieldRule) -> dict[str, Any]:
    prop: dict[str, Any] = {"title": rule.title}
    if rule.kind == "number":
        prop["type"] = "number"
        if rule.minimum is not None:
            prop["minimum"] = rule.minimum
        if rule.maximum is not None:
            prop["maximum"] = rule.maximum
    elif rule.kind == "enum":
        prop["type"] = "string"
        prop["enum"] = list(rule.enum)
    else:
        prop["type"] = "string"
    if rule.description:
        prop["description"] = rule.description
    if rule.has_default:
        prop["default"] = rule.default
    if rule.examples:
        prop["examples"] = list(rule.examples)
    return prop


def valid_examples(spec: ModelSpec, rules: tuple[FieldRule, ...]) -> list[dict[str, Any]]:
    """The page's example argument sets, as the validator would send them; invalid ones are left out."""
    out: list[dict[str, Any]] = []
    for example in spec.examples:
        checked = validate_arguments(rules, example)
        if checked.ok and checked.params not in out:
            out.append(checked.params)
    return out


def input_schema(spec: ModelSpec) -> dict[str, Any]:
    rules = rules_for(spec)
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {r.name: property_schema(r) for r in rules},
        "additionalProperties": False,
    }
    required = [r.name for r in rules if r.required]
    if required:
        schema["required"] = required
    examples = valid_examples(spec, rules)
    if examples:
        schema["examples"] = examples
    return schema


_MEDIA_WORDS = {"image": "image", "video": "video", "audio": "audio file", "text": "text"}


def tool_description(spec: ModelSpec) -> str:
    media = _MEDIA_WORDS[spec.effective_media]
    what = spec.effective_description.strip().rstrip(".")
    lines = [
        f"{what}. (Wiro model {spec.slug})" if what else f"Wiro model {spec.slug}.",
        f"Starts a paid Wiro task and returns the generated {media} as URL(s) "
        "with the task's status, cost and ids.",
        "If the task is still running when the wait ends, the result holds its taskid: call task_wait "
        "with it to keep waiting. Calling this tool again starts (and bills) a second task.",
    ]
    return "\n".join(lines)
