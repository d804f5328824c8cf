"""Confirming a paid run where the client cannot ask (no elicitation) but renders the task viewer:
the confirmation id reaches only the result's `_meta`; the viewer's app-only tool starts the call
once with it, and refuses a missing, altered or replayed one, sending nothing."""

from __future__ import annotations

import json

import pytest
from mcp import Client

from tests.conftest import APPS, in_process, text_of
from wiro_mcp.catalog.load import CatalogEntry
from wiro_mcp.mcp.confirm import VIEWER_CONFIRM_KEY

pytestmark = pytest.mark.anyio


async def test_a_run_confirmed_in_the_viewer_starts_once_and_nothing_else_starts_it(
    catalog: dict[str, CatalogEntry],
) -> None:
    async with (
        in_process(catalog, confirm_above_usd=0.01) as sandbox,
        Client(sandbox.app.server, extensions=[APPS]) as client,
        Client(sandbox.app.server) as plain,
    ):
        listed = {t.name: t for t in (await client.list_tools()).tools}
        assert (listed["confirm_run"].meta or {})["ui"]["visibility"] == ["app"]  # hidden from the model
        assert "confirm_run" not in {t.name for t in (await plain.list_tools()).tools}

        asked = await client.call_tool("reve_generate", {"prompt": "a koala"})
        assert asked.is_error and "waiting for them in the task viewer" in text_of(asked)
        confirmation = (asked.meta or {})[VIEWER_CONFIRM_KEY]["confirmation"]
        # Only the viewer sees it: not in the text or the structured content a model reads.
        seen_by_model = text_of(asked) + json.dumps(asked.structured_content)
        assert confirmation not in seen_by_model and confirmation.split(".")[0] not in seen_by_model
        assert "PRICE: $0.04" in (asked.meta or {})[VIEWER_CONFIRM_KEY]["question"]
        assert sandbox.state.requests("Run") == []

        altered = confirmation[:-1] + ("0" if confirmation[-1] != "0" else "1")
        for wrong in ("", "nonsense", altered, confirmation.split(".")[0]):
            refused = await client.call_tool("confirm_run", {"confirmation": wrong})
            assert refused.is_error and "Nothing was sent" in text_of(refused), wrong
        assert sandbox.state.requests("Run") == []

        ran = await client.call_tool("confirm_run", {"confirmation": confirmation})
        assert not ran.is_error and (ran.structured_content or {})["state"] == "completed"
        replayed = await client.call_tool("confirm_run", {"confirmation": confirmation})
        assert replayed.is_error and "not valid" in text_of(replayed)
        assert len(sandbox.state.requests("Run")) == 1

        # A client with neither elicitation nor the viewer is told it cannot be asked, as before.
        refused = await plain.call_tool("reve_generate", {"prompt": "a koala again"})
        assert (
            refused.is_error
            and "cannot ask" in text_of(refused)
            and VIEWER_CONFIRM_KEY not in (refused.meta or {})
        )
