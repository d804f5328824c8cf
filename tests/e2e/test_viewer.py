"""The task viewer in a real browser (headless Chromium), loaded the way an MCP Apps host loads it: a
small host page speaks the Apps postMessage protocol to the viewer in a sandboxed frame, under the
CSP the resource asks for, and forwards the viewer's tools/call to the real `wiro-mcp` (over stdio,
against the emulator on loopback). Skipped only where no Chromium is installed (CI installs it)."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, TextIO

import anyio
import mcp_types as types
import pytest
from mcp import Client
from mcp.server.apps import APP_MIME_TYPE

from tests.conftest import APPS, RunningEmulator, bundled_and_generated
from tests.e2e.helpers import stdio_client_for, stdio_params
from wiro_mcp.mcp.viewer import VIEWER_URI
from wiro_mcp.sandbox.generated import generated_models

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.anyio, pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed")]
SLUGS = {spec.categories[-1]: spec.slug for spec, _ in generated_models(12)}

# The host: the viewer in a sandboxed frame (scripts only: no same origin, no forms, no popups),
# the JSON-RPC answers a host gives, and every request the viewer makes kept for the test to answer.
HOST = """<!doctype html><html><body style="margin:0;background:#111">
<iframe id="app" sandbox="allow-scripts" style="width:640px;height:560px;border:0"></iframe>
<script>
window.calls = []; window.ready = false;
const frame = document.getElementById("app");
window.load = (html) => { frame.srcdoc = html; };
window.deliver = (result) => frame.contentWindow.postMessage(
  {jsonrpc: "2.0", method: "ui/notifications/tool-result", params: {result}}, "*");
window.answer = (id, result) => frame.contentWindow.postMessage({jsonrpc: "2.0", id, result}, "*");
window.addEventListener("message", (event) => {
  const m = event.data;
  if (m.method === "ui/initialize") {
    window.answer(m.id, {protocolVersion: "2026-01-26", hostInfo: {name: "test host", version: "1"},
                         hostCapabilities: {}, hostContext: {theme: "dark"}});
  } else if (m.method === "ui/notifications/initialized") { window.ready = true; }
  else if (m.id !== undefined) { window.calls.push(m); }
});
</script></body></html>"""


@pytest.fixture(scope="module")
def viewer_wiro(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    with bundled_and_generated(tmp_path_factory.mktemp("cache"), 12) as running:
        yield running


@pytest.fixture
async def client(viewer_wiro: RunningEmulator, tmp_path: Path, errlog: TextIO) -> AsyncIterator[Client]:
    params = stdio_params(
        viewer_wiro, WIRO_MCP_JOURNAL=str(tmp_path / "j.sqlite3"), WIRO_MCP_WAIT_SECONDS="2"
    )
    async with stdio_client_for(params, errlog, extensions=[APPS]) as connected:
        yield connected


@pytest.fixture
async def confirming(viewer_wiro: RunningEmulator, tmp_path: Path, errlog: TextIO) -> AsyncIterator[Client]:
    """A server that asks a human above $0.01, for a client that has the viewer but no elicitation."""
    env = {"WIRO_MCP_JOURNAL": str(tmp_path / "c.sqlite3"), "WIRO_MCP_CONFIRM_ABOVE_USD": "0.01"}
    async with stdio_client_for(stdio_params(viewer_wiro, **env), errlog, extensions=[APPS]) as connected:
        yield connected


def csp(domains: list[str]) -> str:
    """The policy a host derives from the resource's `_meta.ui.csp`: nothing but inline code, and
    media from the named domains."""
    listed = " ".join(domains)
    return (
        f"default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
        f"img-src {listed} data:; media-src {listed}"
    )


def plain(result: types.CallToolResult) -> dict[str, Any]:
    return json.loads(result.model_dump_json(by_alias=True, exclude_none=True))


async def test_the_viewer_shows_each_kind_and_acts_through_the_host(
    client: Client, confirming: Client, viewer_wiro: RunningEmulator, tmp_path: Path
) -> None:
    from playwright.async_api import async_playwright

    listed = await client.list_tools()
    metas = {t.name: (t.meta or {}).get("ui", {}).get("resourceUri") for t in listed.tools}
    assert metas["reve_generate"] == VIEWER_URI and metas["run_model"] == VIEWER_URI
    assert metas["task_kill"] == VIEWER_URI and metas["search_models"] is None
    resource = (await client.read_resource(VIEWER_URI)).contents[0]
    assert isinstance(resource, types.TextResourceContents) and resource.mime_type == APP_MIME_TYPE
    domains = (resource.meta or {})["ui"]["csp"]["resourceDomains"]
    assert domains == [
        "https://cdn1.wiro.ai",
        "https://cdn.wiro.ai",
        viewer_wiro.base_url.removesuffix("/v1"),
    ]
    assert "<script src" not in resource.text and "fetch(" not in resource.text  # self-contained
    page_html = resource.text.replace(
        "<head>", f'<head><meta http-equiv="Content-Security-Policy" content="{csp(domains)}">', 1
    )

    image = await client.call_tool("reve_generate", {"prompt": "a koala in a red shirt"})
    voice = await client.call_tool(
        "run_model", {"model": SLUGS["text-to-speech"], "arguments": {"prompt": "Hi"}}
    )
    answer = await client.call_tool(
        "run_model", {"model": SLUGS["chat"], "arguments": {"prompt": "A qubit?"}}
    )
    viewer_wiro.emulator.state.plan_next_run(seconds=60)
    video = await client.call_tool(
        "runway_image_to_video_gen4_turbo",
        {"prompt": "waves", "inputImageUrl": "https://cdn.wiro.ai/uploads/sampleinputs/frame.jpg"},
    )
    assert (video.structured_content or {})["state"] in ("queued", "running")

    async with async_playwright() as driver:
        browser = await driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = await browser.new_page(viewport={"width": 660, "height": 580})
        await page.set_content(HOST)
        await page.evaluate("html => window.load(html)", page_html)
        await page.wait_for_function("window.ready === true")
        frame = page.frame_locator("#app")

        async def show(result: types.CallToolResult) -> None:
            await page.evaluate("r => window.deliver(r)", plain(result))

        # A completed image task: its image, its state, the cost; the theme the host asked for.
        await show(image)
        url = (image.structured_content or {})["outputs"][0]["url"]
        await frame.locator(f'img[src="{url}"]').wait_for()
        assert await frame.locator("[data-state]").inner_text() == "completed"
        assert await frame.locator("html").get_attribute("data-theme") == "dark"
        loaded = await frame.locator("img").evaluate("img => img.complete && img.naturalWidth > 0")
        assert loaded  # the CSP lets the sandbox's own file through
        await page.screenshot(path=str(tmp_path / "viewer.png"))  # docs/viewer.png is one of these

        # Audio: a player; an LLM answer: the text, the reasoning folded away.
        await show(voice)
        await frame.locator("audio[controls]").wait_for()
        await show(answer)
        await frame.locator(".answer").wait_for()
        assert (await frame.locator(".answer").inner_text()).startswith("Sandbox answer, turn 1")
        assert await frame.locator("details").get_attribute("open") is None

        # A running video: Stop sends task_kill through the host; its answer says nothing was billed.
        await show(video)
        await frame.locator('progress[aria-label="Progress"]').wait_for()
        taskid = (video.structured_content or {})["taskid"]
        await frame.get_by_role("button", name="Stop").click()
        await page.wait_for_function("window.calls.length > 0")
        (sent,) = await page.evaluate("window.calls")
        assert sent["method"] == "tools/call"
        assert sent["params"] == {"name": "task_kill", "arguments": {"taskid": taskid}}
        stopped = await client.call_tool(sent["params"]["name"], sent["params"]["arguments"])
        await page.evaluate("([id, r]) => window.answer(id, r)", [sent["id"], plain(stopped)])
        with anyio.fail_after(10):
            await frame.locator('[data-state="cancelled"]').wait_for()
        assert "not billed ($0.00)" in await frame.locator(".facts").inner_text()
        # Use as input, from the keyboard alone: the output's URL goes to the chat through the host.
        await show(image)
        use = frame.get_by_role("button", name="Use 0.png as input")
        await use.focus()
        await page.keyboard.press("Enter")
        await page.wait_for_function("window.calls.length > 1")
        message = (await page.evaluate("window.calls"))[1]
        assert message["method"] == "ui/message" and url in message["params"]["content"]["text"]

        # Run again with a new seed: the call the server drew the seed for, sent as it is; a new task.
        seeded = await client.call_tool(
            "run_model", {"model": SLUGS["text-to-image"], "arguments": {"prompt": "a fox", "seed": 1}}
        )
        assert not [c for c in seeded.content if isinstance(c, types.ImageContent)]  # the viewer shows it
        await show(seeded)
        await frame.get_by_role("button", name="Run again with a new seed").click()
        await page.wait_for_function("window.calls.length > 2")
        sent = (await page.evaluate("window.calls"))[2]
        assert sent["params"]["name"] == "run_model"
        again = sent["params"]["arguments"]
        assert again["model"] == SLUGS["text-to-image"] and again["arguments"]["prompt"] == "a fox"
        assert again["arguments"]["seed"] != 1
        ran = await client.call_tool("run_model", again)
        await page.evaluate("([id, r]) => window.answer(id, r)", [sent["id"], plain(ran)])
        taskid = (ran.structured_content or {})["taskid"]
        assert taskid != (seeded.structured_content or {})["taskid"]
        await frame.locator(f'.facts:has-text("task {taskid}")').wait_for()

        # A paid run the client cannot ask about: the viewer asks, and Confirm runs it once.
        asked = await confirming.call_tool("reve_generate", {"prompt": "a koala to confirm"})
        assert asked.is_error and "task viewer" in asked.content[0].text  # type: ignore[union-attr]
        await show(asked)
        await frame.get_by_role("button", name="Confirm and run ($0.04)").click()
        await page.wait_for_function("window.calls.length > 3")
        sent = (await page.evaluate("window.calls"))[3]
        confirmation = (asked.meta or {})["wiro-mcp/confirm"]["confirmation"]
        assert sent["params"] == {"name": "confirm_run", "arguments": {"confirmation": confirmation}}
        runs = len(viewer_wiro.emulator.state.requests("Run"))
        ran = await confirming.call_tool(sent["params"]["name"], sent["params"]["arguments"])
        await page.evaluate("([id, r]) => window.answer(id, r)", [sent["id"], plain(ran)])
        await frame.locator('[data-state="completed"]').wait_for()
        assert len(viewer_wiro.emulator.state.requests("Run")) == runs + 1
        await browser.close()
