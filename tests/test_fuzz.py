"""Property tests over what Wiro sends: random Tool/Detail answers, socket frames and price tiers.
Whatever arrives, the reader answers with a spec or a SpecError, an event or None, tiers or none;
never another exception, never a NaN or negative figure, never a schema that says `null` bounds."""

from __future__ import annotations

import json
import math
from typing import Any, get_args

from hypothesis import given, settings
from hypothesis import strategies as st

from wiro_mcp.catalog.importer import import_tool_detail
from wiro_mcp.catalog.load import entry_for
from wiro_mcp.catalog.pricing import parse_dynamicprice, quote
from wiro_mcp.catalog.schema import TOOL_NAME
from wiro_mcp.catalog.spec import InputType
from wiro_mcp.errors import SpecError
from wiro_mcp.wiro.models import Task
from wiro_mcp.wiro.socket_events import apply_event, parse_event

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(["NaN", "Infinity", "-1", "1e400", "../x", "a b", "", "0.05", "select", "range"])
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
KINDS = list(get_args(InputType))
items = st.fixed_dictionaries(
    {
        "id": st.sampled_from(["prompt", "seed", "inputImage", "steps", "duration"])
        | st.text(min_size=1, max_size=10),
        "type": st.sampled_from([*KINDS, "bogus"]),
    },
    optional={
        "min": scalars,
        "max": scalars,
        "step": scalars,
        "default": json_values,
        "required": scalars,
        "options": st.lists(
            st.fixed_dictionaries({"value": scalars}, optional={"label": scalars}), max_size=5
        ),
        "label": scalars,
        "description": scalars,
    },
)
tiers = st.lists(
    st.fixed_dictionaries(
        {"price": scalars},
        optional={
            "inputs": st.dictionaries(
                st.sampled_from(["duration", "quality", "numOutputs"]), scalars, max_size=2
            ),
            "priceMethod": st.sampled_from(["cpr", "cpo", "cp-pixel", "cps", "cp-outputVideoLength", "x"]),
            "priceExtra": scalars,
            "priceInput": scalars,
        },
    ),
    max_size=4,
)
tool_details = st.fixed_dictionaries(
    {
        "cleanslugowner": st.sampled_from(["acme", "Wan-AI", "nova-labs", "..", "a/b", " x", ""]),
        "cleanslugproject": st.sampled_from(["gen", "v2.1-pro", "x" * 150, "Image To Video"]),
        "parameters": st.lists(
            st.fixed_dictionaries({"items": st.lists(items, min_size=1, max_size=3)}), min_size=1, max_size=2
        ),
    },
    optional={
        "title": scalars,
        "description": scalars,
        "categories": json_values,
        "dynamicprice": tiers | scalars,
    },
)


def _figures_sane(value: float | None) -> bool:
    return value is None or (math.isfinite(value) and value >= 0)


@settings(max_examples=400, deadline=None)
@given(
    tool=tool_details,
    args=st.dictionaries(st.sampled_from(["prompt", "seed", "duration", "width", "height"]), scalars),
)
def test_any_tool_detail_is_a_spec_or_a_spec_error(tool: dict[str, Any], args: dict[str, Any]) -> None:
    try:
        spec = import_tool_detail(tool)
    except SpecError:
        return
    entry = entry_for(spec, "fuzz")
    assert TOOL_NAME.match(entry.name)
    schema_text = json.dumps(entry.input_schema, allow_nan=False)  # no NaN or infinity anywhere
    assert '"minimum": null' not in schema_text and '"maximum": null' not in schema_text
    figure = quote(spec.prices, args)
    assert _figures_sane(figure.low) and _figures_sane(figure.high)
    entry.validate(args)  # never raises


@settings(max_examples=400, deadline=None)
@given(
    raw=tiers | json_values,
    args=st.dictionaries(st.sampled_from(["duration", "quality", "numOutputs", "width"]), scalars),
)
def test_any_price_list_gives_sane_figures_or_none(raw: Any, args: dict[str, Any]) -> None:
    for form in (raw, json.dumps(raw)):
        parsed = parse_dynamicprice(form)
        figure = quote(parsed, args)
        assert _figures_sane(figure.low) and _figures_sane(figure.high)


frames = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["task_output", "task_start", "task_error", "task_postprocess_end", "x"])
        | scalars
    },
    optional={
        "message": json_values
        | st.fixed_dictionaries(
            {"type": st.just("progressGenerate")},
            optional={
                "percentage": scalars,
                "stepCurrent": scalars,
                "stepTotal": scalars,
                "remainingTime": scalars,
            },
        ),
        "tasktoken": scalars,
        "id": scalars,
    },
)


@settings(max_examples=600, deadline=None)
@given(frame=frames | json_values, as_text=st.booleans())
def test_any_socket_frame_is_an_event_or_none(frame: Any, as_text: bool) -> None:
    if as_text and isinstance(frame, dict) and "message" in frame:
        frame = {**frame, "message": json.dumps(frame["message"])}  # the JSON-in-a-string variant
    event = parse_event(json.dumps(frame))
    if event is None:
        return
    task = apply_event(Task(id="1", status="task_start"), event)
    if task is not None and task.percentage is not None:
        assert 0 <= task.percentage <= 100
    assert task is None or len(task.progress_note) <= 80
