"""The one registry of the models offered as typed tools: by tool name, and by model key (the slug,
lower-cased). The MCP layer lists and calls them from it; the task stages name tasks by it (a model
run through run_model has no typed tool, so its tasks are reported under its slug)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from wiro_mcp.catalog.load import CatalogEntry


class OfferedModels:
    def __init__(self, entries: Iterable[CatalogEntry] = ()) -> None:
        self._by_name: dict[str, CatalogEntry] = {}
        self._by_key: dict[str, str] = {}
        for entry in entries:
            self.offer(entry)

    def __repr__(self) -> str:
        return f"OfferedModels({len(self._by_name)})"

    def __len__(self) -> int:
        return len(self._by_name)

    def __iter__(self) -> Iterator[CatalogEntry]:
        return iter(list(self._by_name.values()))

    def get(self, name: str) -> CatalogEntry | None:
        return self._by_name.get(name)

    def offer(self, entry: CatalogEntry) -> bool:
        """Offer `entry` under its name; False (nothing changed) when the name is taken already."""
        if entry.name in self._by_name:
            return False
        self._by_name[entry.name] = entry
        self._by_key[entry.spec.slug.lower()] = entry.name
        return True

    def update(self, entry: CatalogEntry) -> None:
        """A newer version of a model offered already (its prices arrived with the listing)."""
        self._by_name[entry.name] = entry
        self._by_key[entry.spec.slug.lower()] = entry.name

    def by_key(self) -> dict[str, str]:
        """Model key → tool name, for every offered model."""
        return dict(self._by_key)

    def tool_for(self, slug: str) -> str:
        """The typed tool of the model `slug`, or "" when it has none."""
        return self._by_key.get(slug.lower(), "")
