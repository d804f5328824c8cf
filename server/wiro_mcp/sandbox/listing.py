"""How the emulator lists its models (Tool/List rows and Tool/Detail parameter items), in Wiro's shapes."""

from __future__ import annotations

import json
import zlib
from typing import Any

from wiro_mcp.catalog.spec import ModelSpec
from wiro_mcp.sandbox.prices import sandbox_prices


def searchable(spec: ModelSpec) -> str:
    return " ".join((spec.slug, spec.title, spec.description, *spec.categories)).lower()


def tool_summary(spec: ModelSpec, listed: tuple[str, str] | None = None) -> dict[str, Any]:
    prices = [t.model_dump(mode="json", exclude_none=True) for t in sandbox_prices(spec)]
    owner, project = listed or (spec.owner, spec.project)
    return {
        "id": str(zlib.crc32(spec.slug.encode()) % 100000),
        "title": spec.title,
        "slugowner": owner,
        "slugproject": project,
        "cleanslugowner": spec.owner.lower(),
        "cleanslugproject": spec.project.lower(),
        "description": spec.description,
        "categories": list(spec.categories),
        "cover": spec.cover,
        "dynamicprice": json.dumps(prices),
    }


def detail_items(spec: ModelSpec) -> list[dict[str, Any]]:
    return [
        {
            "id": item.id,
            "type": item.type,
            "label": item.label,
            "description": item.help,
            "required": item.required,
            "default": "" if item.default is None else item.default,
            "options": [{"label": o.label, "value": o.value} for o in item.options],
            **{k: v for k, v in (("min", item.min), ("max", item.max), ("step", item.step)) if v is not None},
        }
        for item in spec.inputs
    ]
