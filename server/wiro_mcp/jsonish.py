"""Narrowing parsed JSON (typed Any) to the shapes code expects, without unchecked casts spreading."""

from __future__ import annotations

from typing import Any, cast


def as_dict(value: Any) -> dict[str, Any]:
    return cast(dict[str, Any], value) if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return cast(list[Any], value) if isinstance(value, list) else []


def dicts(value: Any) -> list[dict[str, Any]]:
    return [as_dict(v) for v in as_list(value) if isinstance(v, dict)]
