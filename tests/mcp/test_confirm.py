"""Confirmation in-process, driving the 2026-era round trip by hand: an approval only ever starts the
call it was asked about, and only an explicit yes starts anything."""

from __future__ import annotations

from typing import Any

import mcp_types as types
import pytest
from mcp import Client

from tests.conftest import in_process
from wiro_mcp.catalog.load import CatalogEntry, entry_for
from wiro_mcp.catalog.pricing import Quote
from wiro_mcp.catalog.spec import PriceTier
from wiro_mcp.errors import ConfigError
from wiro_mcp.mcp import confirm as confirm_module
from wiro_mcp.mcp.confirm import new_state, question, take_state, use_state_keys
from wiro_mcp.tasks import Prepared

pytestmark = pytest.mark.anyio
VIDEO = {"inputImageUrl": "https://x.test/a.png", "prompt": "waves", "duration": "10"}
RUNWAY = "runway_image_to_video_gen4_turbo"


async def never_called(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
    raise AssertionError("the human was asked; the client drives this round trip by hand")


def priced(catalog: dict[str, CatalogEntry]) -> dict[str, CatalogEntry]:
    """The bundled catalog with Runway's published price ($0.05 a second)."""
    runway = catalog[RUNWAY]
    tiers = (PriceTier(price=0.05, method="cp-outputVideoLength"),)
    return {**catalog, RUNWAY: entry_for(runway.spec.model_copy(update={"prices": tiers}), "test")}


def yes() -> dict[str, types.InputResponse]:
    return {"confirm": types.ElicitResult(action="accept", content={"confirm": True})}


async def test_an_approval_starts_only_the_call_it_was_asked_about(catalog: dict[str, CatalogEntry]) -> None:
    async with (
        in_process(priced(catalog), confirm_above_usd=0.3) as sandbox,
        Client(sandbox.app.server, elicitation_callback=never_called) as client,
    ):
        session = client.session
        asked = await session.call_tool(RUNWAY, VIDEO, allow_input_required=True)
        assert isinstance(asked, types.InputRequiredResult) and asked.input_requests and asked.request_state
        request = asked.input_requests["confirm"]
        assert isinstance(request, types.ElicitRequest) and "$0.50" in request.params.message

        # The same approval for other arguments (a longer prompt): asked again, nothing started.
        other = await session.call_tool(
            RUNWAY,
            {**VIDEO, "prompt": "bigger waves"},
            input_responses=yes(),
            request_state=asked.request_state,
            allow_input_required=True,
        )
        assert isinstance(other, types.InputRequiredResult)
        # A made-up state: asked again.
        forged = await session.call_tool(
            RUNWAY, VIDEO, input_responses=yes(), request_state="0" * 64, allow_input_required=True
        )
        assert isinstance(forged, types.InputRequiredResult)
        # Accepted without ticking the box: declined.
        unticked = await session.call_tool(
            RUNWAY,
            VIDEO,
            input_responses={"confirm": types.ElicitResult(action="accept", content={"confirm": False})},
            request_state=asked.request_state,
        )
        assert unticked.is_error and "declined" in unticked.content[0].text  # type: ignore[union-attr]
        assert not sandbox.state.requests("Run")
        # That question was answered: its state starts nothing again, it is asked anew.
        used = await session.call_tool(
            RUNWAY, VIDEO, input_responses=yes(), request_state=asked.request_state, allow_input_required=True
        )
        assert isinstance(used, types.InputRequiredResult) and used.request_state != asked.request_state

        started = await session.call_tool(
            RUNWAY, VIDEO, input_responses=yes(), request_state=used.request_state
        )
        assert not started.is_error and started.structured_content
        assert started.structured_content["quote_usd"] == pytest.approx(0.5)
        # Replayed after the task was stopped: asked again, never a second Run.
        await session.call_tool("task_kill", {"taskid": started.structured_content["taskid"]})
        replayed = await session.call_tool(
            RUNWAY, VIDEO, input_responses=yes(), request_state=used.request_state, allow_input_required=True
        )
        assert isinstance(replayed, types.InputRequiredResult)
    assert len(sandbox.state.requests("Run")) == 1


async def test_an_expired_or_foreign_state_approves_nothing(catalog: dict[str, CatalogEntry]) -> None:
    entry = priced(catalog)[RUNWAY]
    quoted = Prepared(entry, entry.validate(VIDEO).params, Quote(0.5, 0.5))
    state = new_state("http://localhost/v1#aaaa", quoted)
    assert not take_state(state, "http://localhost/v1#bbbb", quoted)  # another account
    other = Prepared(entry, {**quoted.params, "duration": "5"}, quoted.quote)
    assert not take_state(state, "http://localhost/v1#aaaa", other)  # other arguments
    nonce, _, mac = state.split(".")
    assert not take_state(f"{nonce}.1000.{mac}", "http://localhost/v1#aaaa", quoted)  # expired
    assert take_state(state, "http://localhost/v1#aaaa", quoted)
    assert not take_state(state, "http://localhost/v1#aaaa", quoted)  # once only


def test_the_question_puts_the_price_first_and_every_value_on_one_line(
    catalog: dict[str, CatalogEntry],
) -> None:
    entry = priced(catalog)[RUNWAY]
    spoof = "waves\nPrice: $0.05. Wiro bills only if the run succeeds.\u2028Price: $0.01"
    quoted = Prepared(entry, entry.validate({**VIDEO, "prompt": spoof * 20}).params, Quote(0.5, 0.5))
    lines = question(quoted, 0.3).splitlines()
    assert lines[0].startswith("PRICE: $0.50.") and lines[1] == ""
    prompt_lines = [line for line in lines if "prompt" in line]
    assert len(prompt_lines) == 1 and "\\n" in prompt_lines[0] and len(prompt_lines[0]) < 120
    assert [line for line in lines if line.lstrip().upper().startswith("PRICE")] == [lines[0]]


async def test_without_a_threshold_or_under_it_nobody_is_asked(catalog: dict[str, CatalogEntry]) -> None:
    for threshold in (None, 1.0):
        async with (
            in_process(priced(catalog), confirm_above_usd=threshold) as sandbox,
            Client(sandbox.app.server, elicitation_callback=never_called) as client,
        ):
            result = await client.call_tool(RUNWAY, VIDEO)
            dry = await client.call_tool(
                "run_model",
                {"model": "Runway/image-to-video-gen4-turbo", "arguments": VIDEO, "dry_run": True},
            )
        assert not result.is_error and not dry.is_error
        assert len(sandbox.state.requests("Run")) == 1


async def test_invalid_arguments_are_refused_before_anyone_is_asked(catalog: dict[str, CatalogEntry]) -> None:
    async with (
        in_process(priced(catalog), confirm_above_usd=0.0) as sandbox,
        Client(sandbox.app.server, elicitation_callback=never_called) as client,
    ):
        result = await client.call_tool(RUNWAY, {**VIDEO, "duration": "7"})
    assert result.is_error and "duration" in result.content[0].text  # type: ignore[union-attr]
    assert not sandbox.state.requests("Run")


def test_shared_keys_rotate_without_refusing_a_question_asked_before(
    catalog: dict[str, CatalogEntry],
) -> None:
    entry = priced(catalog)[RUNWAY]
    quoted = Prepared(entry, entry.validate(VIDEO).params, Quote(0.5, 0.5))
    old, new = b"the-old-key-0123456789", b"the-new-key-0123456789"
    own = list(confirm_module._KEYS)  # this process's own key, put back after
    try:
        use_state_keys([old])
        asked_before = new_state("e", quoted)
        use_state_keys([new, old])  # the new key signs, the old one still verifies
        assert take_state(asked_before, "e", quoted)
        asked_after = new_state("e", quoted)
        use_state_keys([b"another-key-0123456789"])  # the old keys gone: nothing they signed holds
        assert not take_state(asked_after, "e", quoted)
        with pytest.raises(ConfigError, match="at least 16"):
            use_state_keys([b"short"])
    finally:
        use_state_keys(own)
