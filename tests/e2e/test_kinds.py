"""Every kind of Wiro model through the real `wiro-mcp` over stdio, on both protocol eras, as typed
tools and through run_model: an LLM's answer (thinking apart, streamed into progress, a session that
goes on), speech as audio, a transcript as text, a local PDF read by a document chat, a 3D file with
its type, and a realtime model refused (or, when Wiro did not say it is one, stopped)."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, TextIO

import anyio
import httpx2
import mcp_types as types
import pytest
from mcp import Client

from tests.conftest import RunningEmulator, bundled_and_generated
from tests.e2e.helpers import stdio_client_for, stdio_params
from wiro_mcp.sandbox.generated import generated_models

pytestmark = pytest.mark.anyio
MODES = ["auto", "legacy"]
# The first twelve generated models are one of each kind, all by `acme`.
SLUGS = {spec.categories[-1]: spec.slug for spec, _ in generated_models(12)}
CHAT, TTS, STT = SLUGS["chat"], SLUGS["text-to-speech"], SLUGS["speech-to-text"]
DOCUMENTS, THREE_D, REALTIME, IMAGE = (
    SLUGS["llm"],
    SLUGS["image-to-3d"],
    SLUGS["realtime-voice"],
    SLUGS["text-to-image"],
)


@pytest.fixture(scope="module")
def kinds_wiro(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    """One emulator for the module: the bundled models and one generated model of each kind."""
    with bundled_and_generated(tmp_path_factory.mktemp("cache"), 12, seconds=1.2) as running:
        yield running


@contextlib.asynccontextmanager
async def server(wiro: RunningEmulator, folder: Path, errlog: TextIO, mode: str) -> AsyncIterator[Client]:
    env = {
        "WIRO_MCP_MODELS": "bundled,acme/*",
        "WIRO_MCP_JOURNAL": str(folder / "j.sqlite3"),
        "WIRO_MCP_FILE_ROOTS": str(folder),
    }
    async with stdio_client_for(stdio_params(wiro, **env), errlog, mode=mode) as client:
        yield client


async def typed_tool(client: Client, slug: str) -> str:
    """The tool offered for `slug`, found as an agent would (by its description), once the catalog
    has arrived (a cold cache is filled in the background, within moments)."""
    with anyio.fail_after(20):
        while True:
            listed = await client.list_tools()
            found = [
                t.name for t in listed.tools if f"wiro model {slug.lower()}." in (t.description or "").lower()
            ]
            if found:
                return found[0]
            await anyio.sleep(0.1)


def texts(result: types.CallToolResult) -> list[str]:
    return [c.text for c in result.content if isinstance(c, types.TextContent)]


def last_run(wiro: RunningEmulator) -> Any:
    return wiro.emulator.state.requests("Run")[-1]


@pytest.mark.parametrize("mode", MODES)
async def test_an_llm_answers_in_text_with_its_thinking_apart_and_goes_on_in_its_session(
    kinds_wiro: RunningEmulator, tmp_path: Path, errlog: TextIO, mode: str
) -> None:
    said: list[str] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        said.append(message or "")

    async with server(kinds_wiro, tmp_path, errlog, mode) as client:
        tool = await typed_tool(client, CHAT)
        described = next(t for t in (await client.list_tools()).tools if t.name == tool)
        assert "session_id" in (described.description or "")
        first = await client.call_tool(tool, {"prompt": "What is a qubit?"}, progress_callback=on_progress)
        assert not first.is_error, texts(first)
        data = first.structured_content or {}
        # The answer is the result's first text, whole; the reasoning is apart from it.
        assert texts(first)[0] == "Sandbox answer, turn 1 of this conversation: you asked 'What is a qubit?'."
        assert data["text"] == texts(first)[0]
        assert "The user asks" in data["thinking"] and "The user asks" not in texts(first)[0]
        assert "no output files" not in " ".join(texts(first))
        # Progress carried the growing answer, a line at a time, and named the task first.
        assert said[0].startswith(f"task {data['taskid']}: ")
        answering = [m for m in said if "answering:" in m]
        assert answering and all("\n" not in m for m in answering)
        assert any("Sandbox answer" in m for m in answering)
        # Wiro got a session (and a user) it was not given; the result says how to go on.
        session = data["session_id"]
        sent = last_run(kinds_wiro).body
        assert sent["session_id"] == session and sent["user_id"]
        assert data["next"] == {"tool": tool, "arguments": {"session_id": session}}
        assert f'session_id "{session}"' in texts(first)[1]

        # The follow-up, through run_model this time, continues the conversation.
        second = await client.call_tool(
            "run_model", {"model": CHAT, "arguments": {"prompt": "And two?", "session_id": session}}
        )
        assert texts(second)[0].startswith("Sandbox answer, turn 2 of this conversation")
        assert (second.structured_content or {})["session_id"] == session
        # The journal remembers the session of each task.
        listed = await client.call_tool("task_list", {})
        sessions = [
            t.get("arguments", {}).get("session_id") for t in (listed.structured_content or {})["tasks"]
        ]
        assert sessions.count(session) == 2


@pytest.mark.parametrize("mode", MODES)
async def test_speech_arrives_as_audio_a_transcript_as_text_and_a_3d_model_with_its_type(
    kinds_wiro: RunningEmulator, tmp_path: Path, errlog: TextIO, mode: str
) -> None:
    recording = tmp_path / "hello.wav"
    recording.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(28))
    async with server(kinds_wiro, tmp_path, errlog, mode) as client:
        spoken = await client.call_tool(await typed_tool(client, TTS), {"prompt": "Hello there"})
        assert not spoken.is_error, texts(spoken)
        links = [c for c in spoken.content if isinstance(c, types.ResourceLink)]
        assert [link.mime_type for link in links] == ["audio/wav"]
        audio = [c for c in spoken.content if isinstance(c, types.AudioContent)]
        assert audio and audio[0].mime_type == "audio/wav"
        assert base64.b64decode(audio[0].data)[8:12] == b"WAVE"

        heard = await client.call_tool(
            "run_model", {"model": STT, "arguments": {"inputAudioUrl": str(recording)}}
        )
        assert not heard.is_error, texts(heard)
        assert texts(heard)[0].startswith("Hello from the sandbox. This is the transcript")
        assert (heard.structured_content or {})["text"] == texts(heard)[0]
        run = last_run(kinds_wiro)
        assert run.files["inputAudio"] == recording.read_bytes()

        shaped = await client.call_tool(
            await typed_tool(client, THREE_D), {"inputImageUrl": "https://cdn.wiro.ai/chair.png"}
        )
        link = next(c for c in shaped.content if isinstance(c, types.ResourceLink))
        # Wiro's CDN says application/octet-stream; the file is a glTF binary, and is said to be one.
        assert link.mime_type == "model/gltf-binary" and str(link.uri).endswith(".glb")
        assert (shaped.structured_content or {})["outputs"][0]["contenttype"] == "model/gltf-binary"
        async with httpx2.AsyncClient() as http:
            assert (await http.get(str(link.uri))).content[:4] == b"glTF"


@pytest.mark.parametrize("mode", MODES)
async def test_a_document_chat_reads_a_local_pdf_beside_a_url(
    kinds_wiro: RunningEmulator, tmp_path: Path, errlog: TextIO, mode: str
) -> None:
    report = tmp_path / "quarterly"  # no extension: the type comes from the bytes
    report.write_bytes(b"%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF\n")
    notes = tmp_path / "notes.txt"
    notes.write_text("Revenue grew.")
    remote = "https://cdn.wiro.ai/uploads/appendix.pdf"
    async with server(kinds_wiro, tmp_path, errlog, mode) as client:
        tool = await typed_tool(client, DOCUMENTS)
        result = await client.call_tool(
            tool, {"prompt": "Summarise", "inputDocumentMultipleUrl": [str(report), remote, str(notes)]}
        )
    assert not result.is_error, texts(result)
    run = last_run(kinds_wiro)
    # Wiro's multifileinput: each local file a repeated part, the URLs in `{id}Url`.
    assert run.files["inputDocumentMultiple"] == report.read_bytes()
    assert run.files["inputDocumentMultiple#1"] == b"Revenue grew."
    assert run.body["inputDocumentMultipleUrl"] == remote
    answer = texts(result)[0]
    assert "2 document(s): quarterly (application/pdf" in answer and "notes.txt (text/plain" in answer


@pytest.mark.parametrize("mode", MODES)
async def test_a_realtime_model_is_refused_before_run_and_one_that_slips_through_is_stopped(
    kinds_wiro: RunningEmulator, tmp_path: Path, errlog: TextIO, mode: str
) -> None:
    state = kinds_wiro.emulator.state
    async with server(kinds_wiro, tmp_path, errlog, mode) as client:
        runs = len(state.requests("Run"))
        for name, arguments in (
            (await typed_tool(client, REALTIME), {}),
            ("run_model", {"model": REALTIME, "arguments": {}}),
        ):
            refused = await client.call_tool(name, arguments)
            assert refused.is_error and "is a realtime model" in texts(refused)[0], texts(refused)
        assert len(state.requests("Run")) == runs  # nothing was sent

        # A model Wiro does not call realtime, that turns out to wait for live audio: stopped, not left.
        state.plan_next_run(live=True)
        result = await client.call_tool(await typed_tool(client, IMAGE), {"prompt": "a koala"})
    taskid = (result.structured_content or {})["taskid"]
    assert "waits for live audio" in " ".join(texts(result))
    assert state.tasks[taskid].stopped_at is not None
    assert (result.structured_content or {})["state"] == "cancelled"
