"""The live catalog: every Wiro model, from Tool/List (the listing) and Tool/Detail (one model's
inputs and prices), cached on disk and used offline.

A Tool/Detail answer goes through the same importer, schema derivation and validation as a bundled
spec file. The bundled specs (with their hand curation) are the floor and win over remote data for
the same model; only their missing prices are taken from the listing.
"""

from __future__ import annotations

import difflib
import fnmatch
import hashlib
import json
import logging
import math
import os
import re
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import anyio

from wiro_mcp.catalog.importer import import_tool_detail
from wiro_mcp.catalog.load import CatalogEntry, entry_for
from wiro_mcp.catalog.rows import RowIndex, listed_key, row_from_spec, row_from_tool
from wiro_mcp.catalog.schema import distinct_name, needs, tool_name
from wiro_mcp.errors import SpecError, WiroError, WiroNotFoundError, WiroTransportError
from wiro_mcp.jsonish import MAX_DEPTH, as_dict, bounded_loads, dicts
from wiro_mcp.wiro.client import WiroClient

log = logging.getLogger(__name__)

PAGE_SIZE = 100
MAX_PAGES = 200  # 20,000 models: far above Wiro's catalog, a stop for a listing that never ends
LISTING_SECONDS = 120.0  # the whole listing, every page: a listing trickled in never holds anything up
DETAIL_SECONDS = 30.0  # one model's Tool/Detail
WAIT_FOR_LISTING_SECONDS = 15.0  # the most a tool call waits for a listing before going on without it
BUNDLED = "bundled"
MAX_CACHE_FILE_BYTES = 256 * 1024 * 1024
_SAFE = re.compile(r"[^a-z0-9._-]+")


class UnknownModel(LookupError):
    """A model name that matches nothing in the catalog; the message suggests what might, when
    something is close (the caller says how to search: a tool for an agent, a command for a person)."""


class CatalogCache:
    """Raw Wiro answers on disk (`index.json`, `details/*.json`), each with the time it was fetched.

    With no folder it keeps them in memory only (the sandbox, or a cache that cannot be written)."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self._memory: dict[str, dict[str, Any]] = {}
        self._warned = False

    def __repr__(self) -> str:
        return f"CatalogCache({str(self.folder) if self.folder else 'memory'})"

    def _path(self, name: str) -> Path | None:
        return self.folder / name if self.folder else None

    @staticmethod
    def detail_name(key: str) -> str:
        digest = hashlib.sha256(key.encode()).hexdigest()[:10]
        return f"details/{_SAFE.sub('_', key)[:80]}-{digest}.json"

    def read(self, name: str, *, walked: bool = True) -> dict[str, Any] | None:
        """A cached answer; None when missing or damaged (it is fetched again). `walked` off skips
        the walk over the whole answer that bounds its depth (the decoder's own limit still holds):
        for the listing, whose 5,000 items are read field by field (`row_from_tool`), and whose walk
        was most of a cold start."""
        if name in self._memory:
            return self._memory[name]
        path = self._path(name)
        if path is None:
            return None
        try:
            text = path.read_text(encoding="utf-8")
            depth = MAX_DEPTH if walked else None
            data = as_dict(bounded_loads(text, max_bytes=MAX_CACHE_FILE_BYTES, max_depth=depth))
        except (OSError, ValueError):
            return None
        self._memory[name] = data
        return data

    def write(self, name: str, data: dict[str, Any]) -> None:
        self._memory[name] = data
        path = self._path(name)
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(data, out, ensure_ascii=False)
            os.replace(tmp, path)  # readers see the old file or the new one, never half of one
        except OSError as exc:
            if not self._warned:
                log.warning("catalog cache %s cannot be written (%s); keeping it in memory", self.folder, exc)
                self._warned = True


class LiveCatalog:
    def __init__(
        self,
        bundled: dict[str, CatalogEntry],
        client: WiroClient,
        cache: CatalogCache,
        *,
        max_age_seconds: float = 24 * 3600,
        reserved_names: Iterable[str] = (),
        wait_seconds: float = WAIT_FOR_LISTING_SECONDS,
    ) -> None:
        self.client = client
        self.wait_seconds = wait_seconds
        self.cache = cache
        self.max_age = max_age_seconds
        self.bundled = {e.spec.slug.lower(): e for e in bundled.values()}
        self._index = RowIndex(row_from_spec(e.spec, _needs(e)) for e in self.bundled.values())
        self.listed_at: float | None = None  # when the cached listing was fetched
        self._untaken: list[dict[str, Any]] = []  # the cached listing, read but not yet made rows
        self._entries: dict[str, CatalogEntry] = dict(self.bundled)
        # Tool name → model key. Names are claimed in order (the server's own tools, the bundled specs,
        # then the listing's order); a model whose plain name is taken gets a distinct one.
        self._tools: dict[str, str] = {n: "" for n in reserved_names}
        self._tools.update({e.name: k for k, e in self.bundled.items()})
        self._names: dict[str, str] = {k: e.name for k, e in self.bundled.items()}  # the other way
        self._lock = anyio.Lock()

    def __repr__(self) -> str:
        return f"LiveCatalog(models={len(self._index) + len(self._untaken)}, cache={self.cache!r})"

    # ----- the listing
    @property
    def index(self) -> RowIndex:
        """Every model's row: the bundled specs', then the listing's."""
        self._take_untaken()
        return self._index

    def load_cached(self) -> None:
        """The cached listing, if any: no network. Only the bundled models' prices are taken from it
        now (the typed tools show them); its other rows are made when first needed (a search, a slug
        to resolve), not before the first tools/list."""
        data = self.cache.read("index.json", walked=False)
        if data is None:
            return
        tools = dicts(data.get("tools"))
        self._take_listing(
            [t for t in tools if listed_key(t) in self.bundled], _seconds(data.get("fetched_at"))
        )
        self._untaken = tools

    def _take_untaken(self) -> None:
        if self._untaken:
            tools, self._untaken = self._untaken, []
            assert self.listed_at is not None
            self._take_listing(tools, self.listed_at)

    def _take_listing(self, tools: Iterable[dict[str, Any]], fetched_at: float) -> None:
        self._take_untaken()  # a newer listing goes on top of the cached one, as it always has
        index = self._index
        for tool in tools:
            row = row_from_tool(tool)
            if row is None:
                continue
            own = self.bundled.get(row.key)
            if own is not None:
                if row.prices and not own.spec.prices:  # the bundled spec wins; its missing prices do not
                    priced = entry_for(own.spec.model_copy(update={"prices": row.prices}), own.origin)
                    self.bundled[row.key] = self._entries[row.key] = priced
                    index.add(row_from_spec(priced.spec, _needs(priced)))
                continue
            index.add(row)
            self._claim_name(row.key)
        self.listed_at = fetched_at

    def name_of(self, key: str) -> str:
        """The tool name of a model: its plain name (`owner_project`), or, when another model or one of
        the server's own tools has that name already, a distinct form ending in a digest of its slug.
        Never a silent overwrite of another model's tool. Names are claimed in the listing's order, so
        the cached listing's rows are made first."""
        self._take_untaken()
        return self._claim_name(key)

    def _claim_name(self, key: str) -> str:
        if key in self._names:
            return self._names[key]
        owner, _, project = key.partition("/")
        name = tool_name(owner, project)
        if self._tools.get(name, key) != key:
            plain, name = name, distinct_name(name, owner, project)
            log.info("catalog: %s is offered as %s (%s is another model's or tool's name)", key, name, plain)
        self._tools[name] = key
        self._names[key] = name
        return name

    @property
    def listing_is_fresh(self) -> bool:
        return self.listed_at is not None and time.time() - self.listed_at < self.max_age

    async def refresh_listing(self) -> int:
        """Tool/List, every page; the cache is rewritten. Raises WiroError when Wiro cannot be reached."""
        async with self._lock:
            try:
                with anyio.fail_after(LISTING_SECONDS):
                    tools = await self._all_pages()
            except TimeoutError:
                raise WiroTransportError(
                    f"Wiro's model list did not arrive within {LISTING_SECONDS:g} s", sent_maybe=False
                ) from None
            now = time.time()
            self.cache.write("index.json", {"fetched_at": now, "tools": tools})
            self._take_listing(tools, now)
            return len(tools)

    async def _all_pages(self) -> list[dict[str, Any]]:
        tools: list[dict[str, Any]] = []
        for page in range(MAX_PAGES):
            body = await self.client.tool_list(
                start=str(page * PAGE_SIZE), limit=str(PAGE_SIZE), hideworkflows=True, summary=True
            )
            batch = dicts(body.get("tool"))
            tools += batch
            if not batch or len(tools) >= _count(body.get("total")):
                break
        return tools

    async def ensure_listing(self) -> str:
        """A listing to search: the cached one, refreshed when stale. Returns a note for the agent when
        Wiro could not be reached (the search then covers what is cached)."""
        if self.listing_is_fresh:
            return ""
        try:
            with anyio.move_on_after(self.wait_seconds) as waited:
                # A listing on its way (the start-up sync's) is waited for, not fetched twice.
                async with self._lock:
                    pass
                if not self.listing_is_fresh:
                    await self.refresh_listing()
            if waited.cancelled_caught:
                raise WiroTransportError(f"no answer within {self.wait_seconds:g} s", sent_maybe=False)
        except WiroError as exc:
            if self.listed_at is None:
                return f"Wiro's model list could not be fetched ({exc}); only bundled models are searched."
            age = (time.time() - self.listed_at) / 3600
            return (
                f"Wiro's model list could not be refreshed ({exc}); searching the copy from {age:.0f} h ago."
            )
        return ""

    # ----- one model
    def resolve(self, model: str) -> str:
        """The catalog key for a slug (any case), a clean slug or a tool name; UnknownModel otherwise."""
        text = model.strip().strip("/")
        key = text.lower()
        if key in self.index.rows or key in self._entries:
            return key
        if self._tools.get(text):
            return self._tools[text]
        if "/" in key:
            return key  # not listed (yet): Tool/Detail decides
        raise UnknownModel(
            f"no model {model!r} in the catalog (give its slug, owner/project).{self._hint(key)}"
        )

    def _hint(self, name: str) -> str:
        words = re.split(r"[_\-/. ]+", name.lower())
        close = [r.slug for r in self.index.search(words[0])] if words and words[0] else []
        ranked = difflib.get_close_matches(name.lower(), [c.lower() for c in close], n=3, cutoff=0.3)
        picks = [c for c in close if c.lower() in ranked] or close[:3]
        return f" Did you mean {', '.join(picks[:3])}?" if picks else ""

    def cached_entry(self, key: str) -> CatalogEntry | None:
        """A model's entry from memory or the disk cache, however old: no network."""
        if key in self._entries:
            return self._entries[key]
        data = self.cache.read(CatalogCache.detail_name(key))
        if data is None:
            return None
        return self._build(key, as_dict(data.get("tool")), "cache")

    def _build(self, key: str, tool: dict[str, Any], origin: str) -> CatalogEntry | None:
        try:
            spec = import_tool_detail(tool, f"Tool/Detail of {key} ({origin})")
        except SpecError as exc:
            log.warning("%s", exc)
            return None
        if spec.slug.lower() != key:
            log.warning("%s: Tool/Detail described another model (%s); not used", key, spec.slug)
            return None
        entry = entry_for(spec, f"Tool/Detail {key}", self.name_of(key))
        self._entries[key] = entry
        return entry

    async def priced(self, entry: CatalogEntry) -> CatalogEntry:
        """A bundled model's entry with the listing's prices, when its spec has none and no listing has
        been seen yet: worth one fetch before paying, since a cap, a budget or a confirmation depends
        on the quote. Without Wiro the entry stays unpriced."""
        key = entry.spec.slug.lower()
        if entry.spec.prices or key not in self.bundled:
            return entry
        if self.listed_at is None:
            await self.ensure_listing()
        return self.bundled[key]

    async def entry(self, model: str) -> CatalogEntry:
        """The model's entry: bundled, cached (refetched once stale), or fetched now. Raises
        UnknownModel, SpecError (inputs that cannot be checked) or WiroError (Wiro unreachable, no copy)."""
        key = self.resolve(model)
        if key in self.bundled:
            return await self.priced(self.bundled[key])
        cached = self.cache.read(CatalogCache.detail_name(key))
        fresh = cached is not None and time.time() - float(cached.get("fetched_at") or 0) < self.max_age
        if fresh and key in self._entries:
            return self._entries[key]
        try:
            tool = await self._fetch_detail(key)
        except WiroNotFoundError:
            raise UnknownModel(f"Wiro has no model {model!r}.{self._hint(key)}") from None
        except WiroError as exc:
            stale = self.cached_entry(key)
            if stale is None:
                raise
            log.info("Tool/Detail of %s failed (%s); using the cached copy", key, exc)
            return stale
        entry = self._build(key, tool, "Wiro")
        if entry is None:
            raise SpecError(
                f"{key}: Wiro's description of its inputs could not be read, so it cannot be run safely"
            )
        return entry

    async def _fetch_detail(self, key: str) -> dict[str, Any]:
        owner, _, project = key.partition("/")
        row = self.index.rows.get(key)
        if row is not None:
            owner, project = row.owner, row.project
        try:
            with anyio.fail_after(DETAIL_SECONDS):
                body = await self.client.tool_detail(owner, project)
        except TimeoutError:
            raise WiroTransportError(
                f"Tool/Detail of {key} did not arrive within {DETAIL_SECONDS:g} s", sent_maybe=False
            ) from None
        tools = dicts(body.get("tool"))
        if not tools:
            raise SpecError(f"{key}: Tool/Detail gave no model")
        self.cache.write(CatalogCache.detail_name(key), {"fetched_at": time.time(), "tool": tools[0]})
        return tools[0]

    # ----- which models become typed tools
    def select(self, patterns: Sequence[str]) -> tuple[list[str], list[str]]:
        """Keys of the models `patterns` name (slugs, globs such as `runway/*`, `category:NAME`,
        `bundled`), in listing order; and the patterns that matched nothing (yet)."""
        keys: list[str] = []
        unmatched: list[str] = []
        for pattern in patterns:
            found = self._matching(pattern.strip())
            if not found:
                unmatched.append(pattern)
            keys += [k for k in found if k not in keys]
        return keys, unmatched

    def _matching(self, pattern: str) -> list[str]:
        lowered = pattern.lower()
        if lowered == BUNDLED:
            return list(self.bundled)
        if lowered.startswith("category:"):
            wanted = lowered.removeprefix("category:").strip()
            return [k for k, r in self.index.rows.items() if wanted in (c.lower() for c in r.categories)]
        if any(ch in pattern for ch in "*?["):
            return [
                k
                for k, r in self.index.rows.items()
                if fnmatch.fnmatchcase(k, lowered) or fnmatch.fnmatchcase(self._names.get(k, r.tool), lowered)
            ]
        if lowered in self.index.rows or lowered in self._entries:
            return [lowered]
        if self._tools.get(pattern):
            return [self._tools[pattern]]
        return []


def _seconds(value: Any) -> float:
    """A cached time stamp; 0 (long ago: the listing is stale) when it is not a number."""
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else 0.0


def _count(value: Any) -> int:
    try:
        return int(str(value or 0))
    except ValueError:
        return 0


def _needs(entry: CatalogEntry) -> str:
    return " and ".join(needs(entry.rules, entry.spec.effective_media))
