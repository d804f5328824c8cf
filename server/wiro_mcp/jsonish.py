"""Narrowing parsed JSON (typed Any) to the shapes code expects, without unchecked casts spreading,
and reading JSON from outside within bounds (size and nesting depth)."""

from __future__ import annotations

import json
from typing import Any, cast

# Wiro's deepest documented answer (a Tool/Detail's parameter groups) nests about six levels.
MAX_DEPTH = 32
MAX_JSON_BYTES = 16 * 1024 * 1024


class JsonTooLarge(ValueError):
    """JSON from outside that is larger or deeper than anything it could honestly be."""


def as_dict(value: Any) -> dict[str, Any]:
    return cast(dict[str, Any], value) if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return cast(list[Any], value) if isinstance(value, list) else []


def dicts(value: Any) -> list[dict[str, Any]]:
    return [as_dict(v) for v in as_list(value) if isinstance(v, dict)]


def depth_of(value: Any, limit: int = MAX_DEPTH) -> int:
    """How deeply containers nest in `value` (a scalar is 0), counted without recursion and given up
    once past `limit`."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            depth += 1
            deepest = max(deepest, depth)
            if deepest > limit:
                return deepest
            children = list(as_dict(item).values()) if isinstance(item, dict) else as_list(item)
            stack.extend((child, depth) for child in children)
    return deepest


def bounded_loads(
    text: str | bytes, *, max_bytes: int = MAX_JSON_BYTES, max_depth: int | None = MAX_DEPTH
) -> Any:
    """`json.loads` for text from outside: ValueError for bad JSON, JsonTooLarge for JSON over
    `max_bytes` or nested deeper than `max_depth` (never a RecursionError). With `max_depth` None the
    depth is not walked: for a caller that reads the value field by field, never recursing into it."""
    if len(text) > max_bytes:
        raise JsonTooLarge(f"JSON of {len(text)} bytes, over the limit of {max_bytes}")
    try:
        value = json.loads(text)
    except RecursionError:
        raise JsonTooLarge("JSON nested too deeply to read") from None
    if max_depth is not None and _openings(text) > max_depth and depth_of(value, max_depth) > max_depth:
        raise JsonTooLarge(f"JSON nested deeper than {max_depth} levels")
    return value


def _openings(text: str | bytes) -> int:
    """How many `[` and `{` the text holds (those inside strings too): JSON cannot nest deeper than
    that, so short answers (a socket event, most of Wiro's) need no walk. Counted at C speed."""
    if isinstance(text, bytes):
        return text.count(b"[") + text.count(b"{")
    return text.count("[") + text.count("{")
