"""What decides a choice, read from Wiro's facts: orientations in one vocabulary, exact kind filters,
synonyms, and prices for what is wanted."""

from __future__ import annotations

import pytest

from wiro_mcp.catalog.choosing import Wanted, orientation_of, price_span
from wiro_mcp.catalog.rows import ModelRow, RowIndex, media_of, needs_of
from wiro_mcp.catalog.spec import PriceTier


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("9:16", "vertical"),
        ("720:1280", "vertical"),
        ("1080x1920", "vertical"),
        ("portrait", "vertical"),
        ("16:9", "horizontal"),
        ("1280:720", "horizontal"),
        ("1:1", "square"),
        ("1024*1024", "square"),
        ("auto", None),
        ("0:0", None),
    ],
)
def test_each_models_own_values_map_onto_one_orientation(value: str, expected: str | None) -> None:
    assert orientation_of(value) == expected


def row(
    slug: str, categories: tuple[str, ...], tiers: tuple[PriceTier, ...] = (), title: str = ""
) -> ModelRow:
    owner, project = slug.split("/")
    return ModelRow(
        owner, project, title or slug, "", categories, tiers, media_of(categories), needs_of(categories)
    )


def test_a_category_filter_is_exact_about_what_goes_in_and_comes_out() -> None:
    index = RowIndex(
        [
            row("a/t2v", ("text-to-video",)),
            row("b/both", ("text-to-video", "image-to-video")),  # text alone will do
            row("c/i2v", ("image-to-video",)),  # needs a start image
            row("d/edit", ("text-to-video", "image-to-image")),  # listed there, but makes images too
        ]
    )
    assert [r.slug for r in index.search(category="text-to-video")] == ["a/t2v", "b/both"]
    assert [r.slug for r in index.search(category="image-to-video")] == ["b/both", "c/i2v"]


def test_task_words_find_wiros_categories_and_stop_words_do_not_count() -> None:
    index = RowIndex(
        [row("a/voice", ("text-to-speech",), title="Studio Voice"), row("b/img", ("text-to-image",))]
    )
    assert [r.slug for r in index.search("voiceover")] == ["a/voice"]
    assert [r.slug for r in index.search("make me a tts")] == ["a/voice"]
    assert index.search("voiceover koala") == []
    assert [r.slug for r in index.search("voiceover koala", any_word=True)] == ["a/voice"]


def test_the_price_span_is_for_what_is_wanted_and_unknown_when_any_fitting_tier_is() -> None:
    tiers = tuple(
        PriceTier(inputs={"duration": d, "resolution": r}, price=p)
        for d, r, p in (("5", "480p", 0.1), ("5", "1080p", 0.4), ("10", "480p", 0.2), ("10", "1080p", 0.8))
    )
    assert price_span(tiers) == (0.1, 0.8)
    assert price_span(tiers, Wanted(duration="10")) == (0.2, 0.8)
    assert price_span(tiers, Wanted(duration="10", resolution="1080p")) == (0.8, 0.8)
    assert price_span(tiers, Wanted(duration="7")) is None
    per_second = (PriceTier(price=0.01, priceMethod="cps"),)
    assert price_span(per_second) is None  # billed per second of processing: not known before the run
