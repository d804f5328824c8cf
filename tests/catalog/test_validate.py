from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlsplit

from hypothesis import given, settings
from hypothesis import strategies as st

from wiro_mcp.catalog.fields import FieldRule
from wiro_mcp.catalog.load import CatalogEntry, load_catalog
from wiro_mcp.catalog.validate import MAX_TEXT_CHARS, suggest, validate_arguments

CATALOG = load_catalog()


def rules(name: str) -> tuple[FieldRule, ...]:
    return CATALOG[name].rules


def test_a_number_is_accepted_for_its_option(catalog: dict[str, CatalogEntry]) -> None:
    checked = validate_arguments(
        rules("runway_image_to_video_gen4_turbo"), {"inputImageUrl": "https://x/a.png", "duration": 5}
    )
    assert checked.ok and checked.params["duration"] == "5"


def test_case_is_forgiven_only_when_one_option_matches() -> None:
    pix = validate_arguments(
        rules("pixverse_image_to_video_v4"), {"inputImageUrl": "https://x/a.png", "quality": "720P"}
    )
    assert pix.params["quality"] == "720p"
    wan = validate_arguments(
        rules("wan_ai_wan2_2_ti2v_5b_image_to_video_fast"),
        {"inputImageUrl": "https://x", "resolution": "720p"},
    )
    assert wan.params["resolution"] == "720P"


def test_an_invalid_option_names_field_value_and_allowed() -> None:
    checked = validate_arguments(rules("reve_generate"), {"prompt": "x", "aspectRatio": "5:4"})
    (error,) = checked.errors
    assert error.field == "aspectRatio" and error.value == "5:4"
    assert "'5:4' is not allowed" in str(error) and "'16:9'" in str(error)


def test_unknown_fields_get_a_did_you_mean() -> None:
    reve = validate_arguments(rules("reve_generate"), {"prompt": "x", "aspect_ratio": "1:1"})
    assert "did you mean 'aspectRatio'" in str(reve.errors[0])
    runway = validate_arguments(
        rules("runway_image_to_image_gen4_image"), {"prompt": "x", "aspect_ratio": "1:1"}
    )
    assert "'ratio'" in str(runway.errors[0])
    assert suggest("promt", ["prompt", "seed"]) == ["prompt"]


def test_required_and_types() -> None:
    checked = validate_arguments(rules("runway_image_to_video_gen4_turbo"), {"seed": "abc", "prompt": 3})
    messages = {e.field: e.message for e in checked.errors}
    assert messages["seed"] == "'abc' is not a number"
    assert messages["inputImageUrl"] == "is required"
    assert checked.params["prompt"] == "3"  # a number given for text is its digits


def test_every_example_of_every_model_is_valid() -> None:
    for entry in CATALOG.values():
        for example in entry.spec.examples:
            assert validate_arguments(entry.rules, example).ok, (entry.name, example)


# Text an attacker would try: NUL bytes, URLs without a host, very long values.
hostile_text = st.sampled_from(
    ["", " ", "a\x00b", "http:/etc/passwd", "https://", "https://x/a.png", "file:///etc/passwd", "p" * 20_001]
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | hostile_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=5,
)


def allowed(rule: FieldRule, value: Any) -> bool:
    """What a value sent to Wiro must be, stated independently of the validator's code."""
    if isinstance(value, str) and ("\x00" in value or len(value) > MAX_TEXT_CHARS):
        return False
    match rule.kind:
        case "enum":
            return value in rule.enum
        case "number":
            in_range = (rule.minimum is None or value >= rule.minimum) and (
                rule.maximum is None or value <= rule.maximum
            )
            return (
                isinstance(value, int | float)
                and not isinstance(value, bool)
                and math.isfinite(value)
                and in_range
            )
        case "file":
            parts = [urlsplit(v) for v in value.split(",")] if isinstance(value, str) else []
            return (
                bool(parts)
                and all(p.hostname for p in parts if p.scheme in ("http", "https"))
                and value.strip() != ""
            )
        case "string":
            return isinstance(value, str) and (not rule.required or value.strip() != "")


@settings(max_examples=600, deadline=None)
@given(
    name=st.sampled_from(sorted(CATALOG)),
    data=st.data(),
)
def test_random_arguments_never_crash_and_only_allowed_values_pass(name: str, data: st.DataObject) -> None:
    entry = CATALOG[name]
    field_names = [r.name for r in entry.rules]
    keys = st.sampled_from(field_names) | st.text(max_size=8)
    arguments = data.draw(st.dictionaries(keys, json_values, max_size=6))
    checked = validate_arguments(entry.rules, arguments)
    by_name = {r.name: r for r in entry.rules}
    for key, value in checked.params.items():
        assert key in by_name
        assert allowed(by_name[key], value), (key, value)
    if checked.ok:
        assert all(r.name in checked.params for r in entry.rules if r.required)
