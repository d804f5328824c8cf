"""One model as a listing shows it (a Tool/List row, or a spec), and searching many of them.

Search runs over rows in memory: 5,000 rows take a few milliseconds, so an agent's search never
waits on Wiro once the listing is cached.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, cast

from wiro_mcp.catalog.choosing import (
    ANYTHING,
    STOP_WORDS,
    Offers,
    Wanted,
    alternatives,
    kind_of_category,
    offers_from_spec,
    offers_from_tiers,
    price_span,
)
from wiro_mcp.catalog.pricing import parse_dynamicprice
from wiro_mcp.catalog.schema import tool_name
from wiro_mcp.catalog.spec import Media, ModelSpec, PriceTier, is_slug_part
from wiro_mcp.catalog.validate import clip
from wiro_mcp.jsonish import as_list

_TOKEN = re.compile(r"[a-z0-9]+")
_KIND_CATEGORIES = frozenset(
    {"llm", "chat", "upscale", "lipsync", "lip-sync", "music", "3d", "virtual-try-on"}
)
# A listing row is shown in search results: its texts are bounded like a spec's.
MAX_TITLE = 120
MAX_DESCRIPTION = 500
MAX_CATEGORY = 60
MAX_CATEGORIES = 30


def slug_key(owner: str, project: str) -> str:
    """The catalog key of a model: its slug, lower-cased (Wiro's clean slugs are the lower-case form)."""
    return f"{owner}/{project}".lower()


def media_of(categories: Iterable[str]) -> Media:
    """The media a model produces, read from Wiro's categories (`image-to-video` → video)."""
    cats = [c.lower() for c in categories]
    outs = [c.rsplit("-to-", 1)[1] for c in cats if "-to-" in c]
    joined = " ".join(outs or cats)
    words: tuple[tuple[str, Media], ...] = (
        ("video", "video"),
        ("audio", "audio"),
        ("speech", "audio"),
        ("music", "audio"),
        ("voice", "audio"),
    )
    for word, media in words:
        if word in joined:
            return media
    if "3d" in joined.split() or "3d" in cats:
        return "3d"
    if {"llm", "chat", "rag"} & set(cats) or "text" in outs:
        return "text"
    return "image"


def needs_of(categories: Iterable[str]) -> str:
    cats = {c.lower() for c in categories}
    if "image-to-video" in cats and "text-to-video" not in cats:  # listed under both: text alone will do
        return "a start image"
    if cats & {"image-to-image", "image-editing", "upscale"}:
        return "an input image"
    if "video-to-video" in cats:
        return "an input video"
    if cats & {"audio-to-text", "speech-to-text"}:
        return "an input audio file"
    return ""


@dataclass(frozen=True)
class ModelRow:
    owner: str
    project: str
    title: str
    description: str
    categories: tuple[str, ...]
    # Wiro's `dynamicprice` as listed (a JSON string), or tiers already parsed: read when shown, so
    # loading a listing of thousands of models at start-up does not parse every price.
    dynamicprice: Any
    media: Media
    needs: str = ""
    known_offers: Offers | None = None  # for a model known in full (a spec); else read from the tiers

    @cached_property
    def offers(self) -> Offers:
        return self.known_offers or offers_from_tiers(self.categories, self.prices)

    @cached_property
    def prices(self) -> tuple[PriceTier, ...]:
        raw = self.dynamicprice
        return cast(tuple[PriceTier, ...], raw) if isinstance(raw, tuple) else parse_dynamicprice(raw)

    @property
    def slug(self) -> str:
        return f"{self.owner}/{self.project}"

    @property
    def key(self) -> str:
        return slug_key(self.owner, self.project)

    @property
    def tool(self) -> str:
        return tool_name(self.owner, self.project)


def _slug_parts(tool: dict[str, Any]) -> tuple[str, str]:
    owner = tool.get("cleanslugowner") or tool.get("slugowner") or ""
    project = tool.get("cleanslugproject") or tool.get("slugproject") or ""
    return (
        owner.strip() if isinstance(owner, str) else "",
        project.strip() if isinstance(project, str) else "",
    )


def listed_key(tool: dict[str, Any]) -> str:
    """The catalog key a Tool/List item would have as a row (checked only by `row_from_tool`)."""
    return slug_key(*_slug_parts(tool))


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def row_from_tool(tool: dict[str, Any]) -> ModelRow | None:
    """A Tool/List (or Tool/Detail) item → a row; None when it names no model. Only strings are taken
    from its texts (never the text of whatever else is there), so its nesting is never walked."""
    owner, project = _slug_parts(tool)
    if not is_slug_part(owner) or not is_slug_part(project):
        return None  # not a slug Run can be sent to
    listed = as_list(tool.get("categories"))[:MAX_CATEGORIES]
    categories = tuple(clip(c, MAX_CATEGORY) for c in listed if isinstance(c, str))
    return ModelRow(
        owner=owner,
        project=project,
        title=clip(" ".join((_text(tool.get("title")) or f"{owner}/{project}").split()), MAX_TITLE),
        description=clip(" ".join(_text(tool.get("description")).split()), MAX_DESCRIPTION),
        categories=categories,
        dynamicprice=tool.get("dynamicprice"),
        media=media_of(categories),
        needs=needs_of(categories),
    )


def row_from_spec(spec: ModelSpec, needs: str = "") -> ModelRow:
    return ModelRow(
        owner=spec.owner,
        project=spec.project,
        title=spec.title,
        description=" ".join(spec.effective_description.split()),
        categories=spec.categories,
        dynamicprice=spec.prices,
        media=spec.effective_media,
        needs=needs,
        known_offers=offers_from_spec(spec),
    )


class RowIndex:
    """Rows by key, with lower-cased texts per row for search (made once, not per query)."""

    def __init__(self, rows: Iterable[ModelRow] = ()) -> None:
        self.rows: dict[str, ModelRow] = {}
        self._text: dict[str, tuple[str, str, str]] = {}  # everything, title, description
        for row in rows:
            self.add(row)

    def __len__(self) -> int:
        return len(self.rows)

    def add(self, row: ModelRow) -> None:
        self.rows[row.key] = row
        title, description = row.title.lower(), row.description.lower()
        everything = " ".join((row.key, title, description, *(c.lower() for c in row.categories)))
        self._text[row.key] = (everything, title, description)

    def search(
        self,
        query: str = "",
        *,
        category: str | None = None,
        media: str | None = None,
        takes: str | None = None,
        wanted: Wanted = ANYTHING,
        by_price: bool = False,
        preferred: Iterable[str] = (),
        any_word: bool = False,
    ) -> list[ModelRow]:
        """Rows matching every query word (or any, with `any_word`) in the slug, title, description or
        categories, a word's synonyms counting as it; best first (slug and title hits count most,
        `preferred` keys, models with a typed tool, break ties), or cheapest first `by_price` for what
        is `wanted` (the unpriced last). Filters are exact: `category: text-to-video` is text in, video
        out, with no start image needed; `takes` an input kind; `wanted` durations, resolutions,
        orientations where the model publishes them."""
        tokens = _TOKEN.findall(
            query.lower().replace("lip sync", "lipsync").replace("voice over", "voiceover")
        )
        words = [alternatives(w) for w in tokens if w not in STOP_WORDS] or [alternatives(w) for w in tokens]
        first = set(preferred)
        scored: list[tuple[float, float, str, ModelRow]] = []
        for key, row in self.rows.items():
            if not self._passes(row, category, media, takes, wanted):
                continue
            text, title, description = self._text[key]
            hits = [alts for alts in words if any(a in text for a in alts)]
            if len(hits) < (min(1, len(words)) if any_word else len(words)):
                continue
            score = 0.0
            for alts in hits:
                score += 3 if any(a in key for a in alts) else 0
                score += 2 if any(a in title for a in alts) else 0
                score += 1 if any(a in description for a in alts) else 0
                score += 4 if any_word else 0  # more words matched ranks first
            score += 0.5 if key in first else 0
            span = price_span(row.prices, wanted) if by_price else None
            cost = span[0] if span else float("inf")
            scored.append((cost if by_price else 0.0, -score, title, row))
        scored.sort(key=lambda s: (s[0], s[1], s[2]))
        return [row for *_, row in scored]

    @staticmethod
    def _passes(
        row: ModelRow, category: str | None, media: str | None, takes: str | None, wanted: Wanted
    ) -> bool:
        if category:
            wanted_category = category.lower()
            if wanted_category not in (c.lower() for c in row.categories):
                return False
            kinds = kind_of_category(wanted_category)
            made = {media_of([c]) for c in row.categories if kind_of_category(c)}
            out = media_of([wanted_category])
            if kinds and (made != {out} or row.media != out or (kinds[0] == "text" and row.needs)):
                return False  # listed under it, but also makes something else, or needs more than text
        if media and row.media != media:
            return False
        if takes and row.offers.inputs and takes not in row.offers.inputs:
            return False
        return wanted.allows(row.offers)

    def categories(self, limit: int = 30) -> list[str]:
        """The commonest categories of the listing (what an empty search can suggest)."""
        counts: dict[str, int] = {}
        for row in self.rows.values():
            for c in row.categories:
                counts[c.lower()] = counts.get(c.lower(), 0) + 1
        ranked = sorted(counts, key=lambda c: (-counts[c], c))
        return [c for c in ranked if "-to-" in c or c in _KIND_CATEGORIES][:limit]
