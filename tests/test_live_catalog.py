"""The live catalog against the emulator's Tool/List and Tool/Detail: listing, search, details,
the disk cache (and working offline from it), selection patterns, every parameter type."""

from __future__ import annotations

import json
from pathlib import Path

import httpx2
import pytest
from pydantic import SecretStr

from tests.conftest import API_KEY, API_SECRET, ASGI_BASE
from wiro_mcp.catalog.importer import import_tool_detail
from wiro_mcp.catalog.load import CatalogEntry, entry_for
from wiro_mcp.catalog.validate import validate_arguments
from wiro_mcp.errors import WiroError
from wiro_mcp.live_catalog import CatalogCache, LiveCatalog, UnknownModel
from wiro_mcp.sandbox.app import Emulator
from wiro_mcp.wiro.auth import WiroAuth
from wiro_mcp.wiro.client import WiroClient
from wiro_mcp.wiro.retry import RetryPolicy

pytestmark = pytest.mark.anyio
AUTH = WiroAuth(SecretStr(API_KEY), SecretStr(API_SECRET))


def emulator(catalog: dict[str, CatalogEntry], extra: int = 30) -> Emulator:
    return Emulator(
        [e.spec for e in catalog.values()], api_key=API_KEY, api_secret=API_SECRET, extra_models=extra
    )


def client_for(em: Emulator) -> WiroClient:
    return WiroClient(ASGI_BASE, AUTH, transport=httpx2.ASGITransport(app=em.app))


def unreachable() -> WiroClient:
    # Nothing listens on port 9 of loopback: every request fails to connect.
    return WiroClient(
        "http://127.0.0.1:9/v1", AUTH, retry=RetryPolicy(attempts=1, base_delay=0.01, max_delay=0.01)
    )


async def test_listing_search_and_detail_come_from_wiro(
    catalog: dict[str, CatalogEntry], tmp_path: Path
) -> None:
    em = emulator(catalog)
    async with client_for(em) as client:
        live = LiveCatalog(catalog, client, CatalogCache(tmp_path))
        assert await live.refresh_listing() == len(catalog) + 30
        assert len(em.state.requests("Tool/List")) == 1  # one page of 100 holds 35 models
        found = live.index.search("image to video", media="video")
        assert found and all(r.media == "video" for r in found)
        generated = next(r for r in found if r.key not in live.bundled)
        assert generated.needs == "a start image" and generated.prices
        entry = await live.entry(generated.slug.upper())  # any case
        assert entry.spec.prices == generated.prices
        assert entry.input_schema["required"] == ["inputImageUrl"]
        assert (tmp_path / "index.json").exists() and list((tmp_path / "details").glob("*.json"))


async def test_listing_pages_through_a_large_catalog(catalog: dict[str, CatalogEntry]) -> None:
    em = emulator(catalog, extra=250)
    async with client_for(em) as client:
        live = LiveCatalog(catalog, client, CatalogCache(None))
        assert await live.refresh_listing() == len(catalog) + 250
        assert [r.body["start"] for r in em.state.requests("Tool/List")] == ["0", "100", "200"]


async def test_the_bundled_spec_wins_but_takes_the_listed_price(catalog: dict[str, CatalogEntry]) -> None:
    em = emulator(catalog, extra=0)
    async with client_for(em) as client:
        live = LiveCatalog(catalog, client, CatalogCache(None))
        await live.refresh_listing()
        entry = await live.entry("PixVerse/image-to-video-v4")
    bundled = catalog["pixverse_image_to_video_v4"]
    assert entry.rules == bundled.rules  # the curation (a required start image) is kept
    assert entry.spec.prices and not bundled.spec.prices
    assert not em.state.requests("Tool/Detail")  # no need to ask for what is bundled


async def test_offline_from_the_cache(catalog: dict[str, CatalogEntry], tmp_path: Path) -> None:
    em = emulator(catalog)
    async with client_for(em) as client:
        warm = LiveCatalog(catalog, client, CatalogCache(tmp_path))
        await warm.refresh_listing()
        fetched = await warm.entry("acme/text-to-video-prime-2")
    async with unreachable() as client:
        # max age 0: everything cached is stale, and Wiro cannot be reached to refresh it.
        offline = LiveCatalog(catalog, client, CatalogCache(tmp_path), max_age_seconds=0)
        offline.load_cached()
        assert len(offline.index) == len(warm.index)
        again = await offline.entry("acme/text-to-video-prime-2")
        assert again.input_schema == fetched.input_schema
        note = await offline.ensure_listing()
        assert "could not be refreshed" in note
        with pytest.raises(WiroError):
            await offline.entry("acme/image-to-image-lite-4")  # never fetched, so nothing to fall back on


async def test_a_cached_listing_prices_the_bundled_models_at_once_and_lists_the_rest_when_asked(
    catalog: dict[str, CatalogEntry], tmp_path: Path
) -> None:
    em = emulator(catalog)
    async with client_for(em) as client:
        warm = LiveCatalog(catalog, client, CatalogCache(tmp_path))
        await warm.refresh_listing()
        names = {key: warm.name_of(key) for key in warm.index.rows}
    async with unreachable() as client:
        cold = LiveCatalog(catalog, client, CatalogCache(tmp_path))
        cold.load_cached()
        # What the typed tools show at start-up: the bundled models, priced from the cached listing.
        priced = [cold.cached_entry(key) for key in cold.bundled]
        assert all(e is not None and e.spec.prices for e in priced)
        assert cold.listing_is_fresh
        # The listed models, and the tool names they were given, as if it had all been read at once.
        assert {key: cold.name_of(key) for key in cold.index.rows} == names
        assert cold.resolve("acme/text-to-video-prime-2") == "acme/text-to-video-prime-2"


async def test_a_damaged_cached_listing_is_a_stale_one(
    catalog: dict[str, CatalogEntry], tmp_path: Path
) -> None:
    (tmp_path / "index.json").write_text(
        json.dumps({"fetched_at": [1, 2], "tools": [{"title": [[["deep"]]]}]})
    )
    async with unreachable() as client:
        live = LiveCatalog(catalog, client, CatalogCache(tmp_path))
        live.load_cached()
        assert not live.listing_is_fresh
        assert len(live.index) == len(catalog)  # the item naming no model is not a row


async def test_cold_and_unreachable_searches_the_bundled_models(
    catalog: dict[str, CatalogEntry], tmp_path: Path
) -> None:
    async with unreachable() as client:
        live = LiveCatalog(catalog, client, CatalogCache(tmp_path))
        live.load_cached()
        note = await live.ensure_listing()
        assert "only bundled models" in note
        assert {r.key for r in live.index.search("")} == {e.spec.slug.lower() for e in catalog.values()}


async def test_unknown_models_suggest_close_ones(catalog: dict[str, CatalogEntry]) -> None:
    em = emulator(catalog)
    async with client_for(em) as client:
        live = LiveCatalog(catalog, client, CatalogCache(None))
        await live.refresh_listing()
        with pytest.raises(UnknownModel, match=r"Did you mean .*reve/generate"):
            live.resolve("reve_generat")
        with pytest.raises(UnknownModel, match="Wiro has no model"):
            await live.entry("nobody/nothing")
        with pytest.raises(UnknownModel, match="Did you mean reve/generate"):
            await live.entry("reve/generat")
        assert live.resolve("reve_generate") == "reve/generate"  # a tool name works too


async def test_selection_patterns(catalog: dict[str, CatalogEntry]) -> None:
    em = emulator(catalog)
    async with client_for(em) as client:
        live = LiveCatalog(catalog, client, CatalogCache(None))
        await live.refresh_listing()
    keys, unmatched = live.select(["category:text-to-video"])
    expected = {s.slug.lower() for s in em.state.models.values() if "text-to-video" in s.categories}
    assert set(keys) == expected and not unmatched
    assert set(live.select(["acme/*"])[0]) == {k for k in live.index.rows if k.startswith("acme/")}
    assert set(live.select(["bundled"])[0]) == set(live.bundled)
    assert live.select(["reve/generate", "nobody/*"]) == (["reve/generate"], ["nobody/*"])


def test_every_parameter_type_becomes_a_checked_field() -> None:
    detail = {
        "tool": [
            {
                "cleanslugowner": "acme",
                "cleanslugproject": "all-types",
                "title": "All types",
                "categories": ["text-to-image"],
                "dynamicprice": '[{"inputs":{},"price":0.02,"priceMethod":"cpr"}]',
                "parameters": [
                    {
                        "title": "Input",
                        "items": [
                            {"id": "prompt", "type": "textarea", "required": "true"},
                            {"id": "name", "type": "text"},
                            {"id": "style", "type": "select", "options": [{"value": "a"}, {"value": "b"}]},
                            {"id": "scale", "type": "range", "min": "1", "max": "4", "default": "2"},
                            {"id": "steps", "type": "number"},
                            {"id": "hd", "type": "checkbox", "default": True},
                            {"id": "inputImage", "type": "fileinput"},
                            {"id": "inputDocs", "type": "multifileinput"},
                            {"id": "inputClothes", "type": "combinefileinput"},
                        ],
                    }
                ],
                "inspire": [{"prompt": "a cat", "inputImage": "https://x.test/cat.png"}],
            }
        ]
    }
    entry = entry_for(import_tool_detail(detail), "test")
    props = entry.input_schema["properties"]
    assert props["scale"] == {"type": "number", "minimum": 1, "maximum": 4, "default": 2}
    assert props["hd"]["type"] == "boolean" and props["style"]["enum"] == ["a", "b"]
    assert props["inputImageUrl"]["type"] == "string"
    assert props["inputDocsUrl"]["type"] == "array" and props["inputClothes"]["type"] == "array"
    assert entry.input_schema["examples"] == [{"prompt": "a cat", "inputImageUrl": "https://x.test/cat.png"}]
    assert entry.spec.prices[0].price == 0.02
    checked = validate_arguments(
        entry.rules,
        {
            "prompt": "x",
            "hd": "false",
            "inputDocsUrl": ["https://x.test/a.pdf", "https://x.test/b.pdf"],
            "inputClothes": ["https://x.test/s.jpg"],
        },
    )
    assert checked.ok, checked.errors
    assert checked.params["hd"] is False
    assert checked.params["inputDocsUrl"] == "https://x.test/a.pdf,https://x.test/b.pdf"  # Wiro's comma list
    assert checked.params["inputClothes"] == ["https://x.test/s.jpg"]  # in the field itself
    refused = validate_arguments(entry.rules, {"prompt": "x", "hd": "maybe", "inputClothes": [""]})
    assert {e.field for e in refused.errors} == {"hd", "inputClothes"}
    assert json.dumps(entry.input_schema)  # plain JSON all the way down
