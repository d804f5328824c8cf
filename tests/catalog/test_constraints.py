"""Values that only go together: PixVerse's curated rule, rules derived from price tables, and the
JSON Schema the agent is shown saying the same as the check."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from wiro_mcp.catalog.constraints import PRICED_ONLY, from_prices
from wiro_mcp.catalog.fields import FieldRule
from wiro_mcp.catalog.load import CatalogEntry, entry_for, load_catalog
from wiro_mcp.catalog.spec import ModelSpec, PriceTier
from wiro_mcp.errors import SpecError

CATALOG = load_catalog()
PIXVERSE = CATALOG["pixverse_image_to_video_v4"]
IMAGE = {"inputImageUrl": "https://x.test/a.png"}


def schema_accepts(entry: CatalogEntry, arguments: dict[str, Any]) -> bool:
    try:
        jsonschema.validate(arguments, entry.input_schema)
    except jsonschema.ValidationError:
        return False
    return True


@pytest.mark.parametrize(
    ("arguments", "bad_field"),
    [
        ({"motionMode": "fast", "quality": "1080p"}, "quality"),
        ({"motionMode": "fast", "duration": "8"}, "duration"),
        ({"motionMode": "fast", "duration": 8}, "duration"),  # the forgiving number form too
    ],
)
def test_pixverse_fast_motion_goes_only_with_5_s_below_1080p(
    arguments: dict[str, Any], bad_field: str
) -> None:
    checked = PIXVERSE.validate({**IMAGE, **arguments})
    (error,) = checked.errors
    assert error.field == bad_field
    assert "does not go with motionMode fast" in error.message
    assert "Valid with it: duration 5, quality 360p|540p|720p." in error.message
    # The schema cannot carry the rule (no allOf at a tool schema's root): the server's check and the
    # description do.
    assert schema_accepts(PIXVERSE, {**IMAGE, **{k: str(v) for k, v in arguments.items()}})
    assert "Only together: motionMode fast → duration 5, quality 360p|540p|720p." in PIXVERSE.description


@pytest.mark.parametrize(
    "arguments",
    [
        {"motionMode": "fast"},  # Wiro's defaults (5 s, 540p) go with it
        {"motionMode": "fast", "duration": "5", "quality": "720p"},
        {"motionMode": "normal", "duration": "8", "quality": "1080p"},
        {"duration": "8", "quality": "1080p"},
    ],
)
def test_valid_combinations_pass_the_check_and_the_schema(arguments: dict[str, Any]) -> None:
    assert PIXVERSE.validate({**IMAGE, **arguments}).ok
    assert schema_accepts(PIXVERSE, {**IMAGE, **arguments})


def test_model_info_lists_the_combinations_and_the_example_obeys_them() -> None:
    assert [c.text() for c in PIXVERSE.constraints] == [
        "motionMode fast → duration 5, quality 360p|540p|720p"
    ]
    example = PIXVERSE.input_schema["examples"][0]
    assert PIXVERSE.validate(example).ok


RES = FieldRule("resolution", "enum", "", "", False, default="720p", enum=("720p", "1080p", "4k"))
DUR = FieldRule("duration", "enum", "", "", False, default="5", enum=("5", "10", "15"))


def tier(price: float, **inputs: str) -> PriceTier:
    return PriceTier(inputs=inputs, price=price)


def test_a_partial_price_table_says_which_durations_go_with_which_resolutions() -> None:
    tiers = [
        tier(0.5, resolution="720p", duration="5"),
        tier(1.0, resolution="720p", duration="10"),
        tier(1.0, resolution="1080p", duration="5"),
        tier(2.0, resolution="4k", duration="5"),
    ]
    (rule,) = from_prices(tiers, (RES, DUR))
    # 15 s is priced nowhere: unknown, never forbidden. 10 s is priced only at 720p.
    assert rule.text() == "resolution 1080p|4k → duration 5|15"
    assert rule.why == PRICED_ONLY


@pytest.mark.parametrize(
    "tiers",
    [
        [tier(1, resolution=r, duration=d) for r in ("720p", "1080p") for d in ("5", "10")],  # a full grid
        [tier(1, resolution="720p", duration="5"), tier(2)],  # a flat tier prices the rest
        [tier(1, resolution="720p"), tier(2, resolution="1080p", duration="5")],  # different fields
        [tier(1, resolution="720p", prompt="x"), tier(2, resolution="4k", prompt="y")],  # not all options
    ],
)
def test_price_tables_that_forbid_nothing_derive_nothing(tiers: list[PriceTier]) -> None:
    assert from_prices(tiers, (RES, DUR)) == []


def test_a_derived_rule_is_checked_like_a_curated_one(catalog: dict[str, CatalogEntry]) -> None:
    runway = catalog["runway_image_to_video_gen4_turbo"]
    ratio = next(r for r in runway.rules if r.name == "ratio")
    tiers = [PriceTier(inputs={"ratio": ratio.enum[0], "duration": "5"}, price=0.25)] + [
        PriceTier(inputs={"ratio": r, "duration": d}, price=0.5) for r in ratio.enum[1:] for d in ("5", "10")
    ]
    entry = entry_for(runway.spec.model_copy(update={"prices": tuple(tiers)}), "test")
    base = {"inputImageUrl": "https://x.test/a.png", "prompt": "waves"}
    refused = entry.validate({**base, "ratio": ratio.enum[0], "duration": "10"})
    assert [e.field for e in refused.errors] == ["duration"]
    assert entry.validate({**base, "ratio": ratio.enum[1], "duration": "10"}).ok
    assert "allOf" not in entry.input_schema  # model APIs refuse it at a schema's root: stated in words
    assert f"Only together: ratio {ratio.enum[0]} → duration 5." in entry.description


@pytest.mark.parametrize(
    ("constraint", "message"),
    [
        (
            {"when": {"motion": ["fast"]}, "allowed": {"duration": ["5"]}},
            "'motion' is not a field with options",
        ),
        (
            {"when": {"motionMode": ["quick"]}, "allowed": {"duration": ["5"]}},
            "motionMode has no option 'quick'",
        ),
        (
            {"when": {"motionMode": ["fast"]}, "allowed": {"prompt": ["x"]}},
            "'prompt' is not a field with options",
        ),
    ],
)
def test_a_curated_constraint_that_names_no_real_option_is_a_spec_error(
    constraint: dict[str, Any], message: str
) -> None:
    data = json.loads(json.dumps(PIXVERSE.spec.model_dump(mode="json")))
    data["curation"]["constraints"] = [constraint]
    with pytest.raises(SpecError, match=message):
        entry_for(ModelSpec.model_validate(data), "test")
