"""Choosing and pricing a model as an agent does it, with only tools/list and tool results: a scripted
agent replays ten requests against the emulator's catalog (300 generated models) and counts its calls.
Every result it gets is checked for the sentences that used to contradict each other."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import mcp_types as types
import pytest
from mcp import Client

from tests.conftest import InProcess, in_process, text_of
from wiro_mcp.catalog.load import CatalogEntry
from wiro_mcp.catalog.pricing import cost_for
from wiro_mcp.sandbox.generated import generated_models
from wiro_mcp.sandbox.prices import sandbox_prices

pytestmark = pytest.mark.anyio
EXTRA = 300
CONTRADICTIONS = (
    # A repeat that reads as a new success and warns against what it just did.
    (r"Not a new run", r"would start(, and bill,)? a second task"),
    (r"instead of starting \(and paying for\) a second one", r"."),
    # A stopped task whose cost is only in structured data.
    (r": cancelled \(", r"."),
)


class Agent:
    """Calls tools, remembers every result, and counts the calls of each request."""

    def __init__(self, client: Client, offered: set[str]) -> None:
        self.client = client
        self.offered = offered
        self.calls = 0
        self.results: list[types.CallToolResult] = []

    async def call(self, name: str, arguments: dict[str, Any]) -> types.CallToolResult:
        self.calls += 1
        result = await self.client.call_tool(name, arguments)
        self.results.append(result)
        return result

    def request(self) -> None:
        self.calls = 0


@pytest.fixture
async def agent(catalog: dict[str, CatalogEntry]) -> AsyncIterator[tuple[Agent, InProcess]]:
    limits = {"max_cost_usd": 0.5}
    async with (
        in_process(catalog, extra_models=EXTRA, limits=limits, wait_seconds=3) as sandbox,
        Client(sandbox.app.server) as client,
    ):
        listed = await client.list_tools()
        scripted = Agent(client, {t.name for t in listed.tools})
        yield scripted, sandbox
    named = re.compile(r"\b([a-z0-9]+(?:_[a-z0-9]+){2,})\b")  # tool-like names in results
    for result in scripted.results:
        said = text_of(result)
        for first, second in CONTRADICTIONS:
            assert not (re.search(first, said) and re.search(second, said)), said
        for name in named.findall(said.split("\n", 1)[0]):  # a result opens with the name of what ran
            if "_" in name and not name.startswith("task_"):
                assert name in scripted.offered, f"{name} is not offered: {said}"


def cheapest_ten_second_text_to_video() -> tuple[set[str], float]:
    """The ground truth, from the emulator's own specs: the cheapest 10 s run of a text-to-video model,
    and every model that costs that little."""
    prices: dict[str, float] = {}
    for spec, _ in generated_models(EXTRA):
        if "text-to-video" not in spec.categories:
            continue
        for tier in sandbox_prices(spec):
            if tier.inputs.get("duration") == "10":
                price = cost_for(tier, tier.inputs).high
                assert price is not None
                prices[spec.slug.lower()] = min(price, prices.get(spec.slug.lower(), price))
    cheapest = min(prices.values())
    return {slug for slug, price in prices.items() if price == cheapest}, cheapest


async def test_ten_requests_need_few_calls_and_no_result_contradicts_itself(
    agent: tuple[Agent, InProcess],
) -> None:
    scripted, sandbox = agent
    client = scripted.client

    # 0. The limits are known before any refusal.
    assert "at most $0.5 per call" in (client.instructions or "")

    # 1. "Make an image of a koala": one call.
    scripted.request()
    image = await scripted.call("reve_generate", {"prompt": "a koala in a red shirt"})
    assert not image.is_error and scripted.calls == 1

    # 2. "The cheapest model that makes a 10 s video from text, and its price": two calls, certain.
    scripted.request()
    found = await scripted.call(
        "search_models", {"category": "text-to-video", "duration": 10, "sort": "price", "limit": 5}
    )
    rows = (found.structured_content or {})["models"]
    assert all(r["media"] == "video" and not r["needs"] for r in rows), (
        rows
    )  # text in, video out, nothing else
    first = rows[0]
    cheapest, price = cheapest_ten_second_text_to_video()
    assert first["model"].lower() in cheapest and first["price_usd"]["low"] == pytest.approx(price)
    info = await scripted.call("model_info", {"model": first["model"]})
    assert re.search(rf"\${price:.2f} per run when [^\n]*duration=10", text_of(info)), text_of(info)
    assert scripted.calls == 2

    # 3. "A voiceover for my clip": found by that word, run: two calls.
    scripted.request()
    voices = await scripted.call("search_models", {"query": "voiceover", "limit": 3})
    voice = (voices.structured_content or {})["models"][0]
    assert "text-to-speech" in voice["model"] and voice["media"] == "audio"
    spoken = await scripted.call("run_model", {"model": voice["model"], "arguments": {"prompt": "Welcome."}})
    assert not spoken.is_error and scripted.calls == 2
    assert text_of(spoken).startswith(voice["model"])  # named by its slug: it has no typed tool

    # 4. The same image again: not a new run, said first, nothing new billed.
    runs = len(sandbox.state.requests("Run"))
    again = await scripted.call("reve_generate", {"prompt": "a koala in a red shirt"})
    assert text_of(again).startswith("Not a new run: the same call as task")
    assert (again.structured_content or {})["deduplicated"] is True
    assert len(sandbox.state.requests("Run")) == runs

    # 5. "What inputs does it take?": model_info's text alone answers it (values, labels, defaults).
    pixverse = await scripted.call("model_info", {"model": "PixVerse/image-to-video-v4"})
    assert "- quality: one of 360p=360p(Turbo)|540p|720p|1080p, default 540p." in text_of(pixverse)
    assert "$0.25 per run when duration=5" in text_of(pixverse)

    # 6. A request over the cap: refused, with the cheapest arguments of that model that fit.
    dear = next(s for s, _ in generated_models(EXTRA) if "text-to-video" in s.categories)
    over = await scripted.call(
        "run_model",
        {"model": dear.slug, "arguments": {"prompt": "waves", "resolution": "1080p", "duration": "10"}},
    )
    assert over.is_error and "above the per-call cap of $0.5" in text_of(over)
    assert re.search(r"Cheapest that fits: [^)]*resolution=480p", text_of(over)), text_of(over)

    # 7. A 3D model whose format is required but published with a default: the agent need not give it.
    three_d = next(s for s, _ in generated_models(EXTRA) if "image-to-3d" in s.categories)
    shaped = await scripted.call(
        "run_model", {"model": three_d.slug, "arguments": {"inputImageUrl": "https://cdn.wiro.ai/chair.png"}}
    )
    assert not shaped.is_error, text_of(shaped)
    assert "published defaults: outputFormat='glb'" in text_of(shaped)
    assert sandbox.state.requests("Run")[-1].body["outputFormat"] == "glb"

    # 8. "Vertical" finds a model whose own values are 720:1280.
    vertical = await scripted.call("search_models", {"query": "runway", "orientation": "vertical"})
    runway = [r for r in (vertical.structured_content or {})["models"] if "orientations" in r]
    assert runway and all("vertical" in r["orientations"] for r in runway)

    # 9. "What is running? Stop it": the queued task is listed as active, and stopping says what it cost.
    sandbox.state.plan_next_run(seconds=60)
    started = await scripted.call(
        "reve_generate", {"prompt": "a slow koala"}
    )  # still running at the wait's end
    active = await scripted.call("task_list", {"state": "active"})
    listed = (active.structured_content or {})["tasks"]
    taskid = (started.structured_content or {})["taskid"]
    assert [t["taskid"] for t in listed] == [taskid]
    stopped = await scripted.call("task_kill", {"taskid": taskid})
    assert "stopped (cancelled), not billed ($0.00)" in text_of(stopped)

    # 10. Nothing found: the answer names the categories there are.
    nothing = await scripted.call("search_models", {"query": "zzqx"})
    assert "text-to-speech" in text_of(nothing) and "text-to-video" in text_of(nothing)
