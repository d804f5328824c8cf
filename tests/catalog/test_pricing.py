"""Quotes from `dynamicprice` tiers, against figures worked out by hand from Wiro's pricing page."""

from __future__ import annotations

import json

import pytest

from wiro_mcp.catalog.pricing import parse_dynamicprice, parse_usd, price_line, quote

VIDEO = parse_dynamicprice(
    '[{"inputs":{"resolution":"720p","duration":"5"},"price":0.13,"priceMethod":"cpr"},'
    '{"inputs":{"resolution":"1080p","duration":"5"},"price":0.29,"priceMethod":"cpr"},'
    '{"inputs":{"resolution":"720p","duration":"10"},"price":0.26,"priceMethod":"cpr"}]'
)


def test_the_tier_whose_inputs_match_gives_the_price() -> None:
    assert quote(VIDEO, {"resolution": "1080p", "duration": 5}).low == pytest.approx(0.29)
    assert quote(VIDEO, {"resolution": "720p", "duration": "10"}).exact
    unknown = quote(VIDEO, {"resolution": "480p", "duration": "5"})
    assert not unknown.known and "resolution=720p, duration=5" in unknown.basis
    assert price_line(VIDEO, {}) == "$0.13–0.29 per run"


def test_a_flat_tier_applies_to_anything_and_the_specific_one_wins() -> None:
    tiers = parse_dynamicprice(
        [{"inputs": {}, "price": 0.03, "priceMethod": "cpr"}, {"inputs": {"hd": "true"}, "price": 0.05}]
    )
    assert quote(tiers, {"prompt": "x"}).low == 0.03
    assert quote(tiers, {"hd": True}).low == 0.05


def test_quantity_counts_the_files_given() -> None:
    tiers = parse_dynamicprice(
        [{"inputs": {"clothes": f"QUANTITY:{n}"}, "price": 0.05 * n, "priceMethod": "cpr"} for n in (1, 2, 3)]
    )
    assert quote(tiers, {"clothes": ["a", "b"]}).low == pytest.approx(0.10)
    assert quote(tiers, {"clothes": "a,b,c"}).low == pytest.approx(0.15)


def test_per_pixel_counts_megapixel_tiers_and_input_images() -> None:
    tiers = parse_dynamicprice(
        [{"inputs": {}, "price": 0.03, "priceMethod": "cp-pixel", "priceExtra": 0.015}]
    )
    # 1920 x 1080 = 2,073,600 pixels = 1.98 MP → 2 tiers: 0.03 + 0.015
    assert quote(tiers, {"width": 1920, "height": 1080}).low == pytest.approx(0.045)
    assert quote(tiers, {"size": "1024x1024"}).exact
    with_input = parse_dynamicprice(
        [{"inputs": {}, "price": 0.03, "priceMethod": "cp-pixel", "priceInput": 0.01}]
    )
    figure = quote(
        with_input, {"width": 1024, "height": 1024, "inputImageUrl": "https://x/a.png"}, ["inputImageUrl"]
    )
    assert figure.low == pytest.approx(0.04) and figure.high is None  # an input's own size is unknown
    assert quote(tiers, {}).text() == "at least $0.03"


def test_length_methods() -> None:
    chars = parse_dynamicprice([{"inputs": {}, "price": 0.00002, "priceMethod": "cp-promptlength"}])
    assert quote(chars, {"prompt": "x" * 20}).low == pytest.approx(0.0004)
    video = parse_dynamicprice([{"inputs": {}, "price": 0.02, "priceMethod": "cp-outputVideoLength"}])
    assert quote(video, {"duration": "8"}).low == pytest.approx(0.16)
    assert not quote(video, {}).known
    outputs = parse_dynamicprice([{"inputs": {}, "price": 0.05, "priceMethod": "cpo"}])
    assert quote(outputs, {"numOutputs": 3}).low == pytest.approx(0.15)
    assert quote(outputs, {}).text() == "at least $0.05"


@pytest.mark.parametrize(
    ("method", "why"),
    [
        ("cps", "per second of processing"),
        ("cpt", "per token"),
        ("cp-audiosecondslength", "input audio"),
        ("cp-realtimeturn", "turn"),
        ("cp-readoutput", "reports its own cost"),
    ],
)
def test_what_only_the_run_reveals_is_unknown_and_says_why(method: str, why: str) -> None:
    figure = quote(
        parse_dynamicprice([{"inputs": {}, "price": 0.001, "priceMethod": method}]), {"prompt": "x"}
    )
    assert not figure.known and why in figure.text()


def test_unreadable_or_missing_prices() -> None:
    assert parse_dynamicprice("not json") == ()
    # One unreadable tier makes every tier unknown: dropping it could let a cheaper tier match its calls.
    assert parse_dynamicprice('[{"price": "free"}, {"inputs": {}, "price": 0.1}]') == ()
    assert quote((), {}).text().startswith("unknown")
    assert price_line((), {}) == "price unknown"


def test_per_second_billing_shows_wiros_estimate_but_never_as_a_bound() -> None:
    tiers = parse_dynamicprice('[{"inputs": {}, "price": 0.000585, "priceMethod": "cps"}]')
    figure = quote(tiers, {}, estimate=parse_usd("0.003510"))
    assert figure.low is None and figure.high is None and not figure.known  # caps and budgets stay strict
    assert figure.estimate == pytest.approx(0.00351)
    assert figure.text().startswith("about $0.00351, Wiro's estimate from its average run (billed per second")
    assert figure.as_json()["usd_estimate"] == pytest.approx(0.00351)
    # Only for per-second billing: an estimate never replaces a tier's own figure.
    assert quote(parse_dynamicprice('[{"price": 0.04}]'), {}, estimate=1.0).text() == "$0.04"


@pytest.mark.parametrize(
    ("raw", "usd"), [("0.0035", 0.0035), (0.2, 0.2), ("", None), ("n/a", None), (None, None), (-1, None)]
)
def test_prices_as_wiro_sends_them(raw: object, usd: float | None) -> None:
    assert parse_usd(raw) == usd


@pytest.mark.parametrize("bad", ["NaN", "Infinity", "-Infinity", -0.5, "-1", 1e309])
@pytest.mark.parametrize("field", ["price", "priceExtra", "priceInput"])
def test_a_price_that_is_not_a_finite_non_negative_number_makes_the_quote_unknown(
    bad: object, field: str
) -> None:
    tier: dict[str, object] = {"inputs": {}, "price": 0.02, "priceMethod": "cp-pixel", field: bad}
    for raw in ([tier], json.dumps([tier]).replace('"NaN"', "NaN").replace('"Infinity"', "Infinity")):
        tiers = parse_dynamicprice(raw)
        figure = quote(tiers, {"width": 2048, "height": 2048})
        assert tiers == () and figure.high is None and figure.low is None and not figure.known


def test_a_figure_that_overflows_is_no_figure() -> None:
    tiers = parse_dynamicprice([{"inputs": {}, "price": 1e300, "priceMethod": "cpo"}])
    figure = quote(tiers, {"numOutputs": 1e300})
    assert figure.high is None and not figure.known
