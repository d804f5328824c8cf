"""Text results read from Wiro's documented shapes, and bounded against odd ones."""

from __future__ import annotations

from typing import Any

from wiro_mcp.wiro.answers import MAX_TEXT_CHARS, answer_in
from wiro_mcp.wiro.models import Output, Task
from wiro_mcp.wiro.socket_events import PARTIAL_ANSWER_CHARS, apply_event, parse_event


def finished(**fields: Any) -> Task:
    return Task.model_validate({"id": "7", "status": "task_postprocess_end", "pexit": "0", **fields})


def test_an_llm_answer_comes_from_its_raw_output_with_the_thinking_apart() -> None:
    task = finished(
        outputs=[
            {
                "contenttype": "raw",
                "content": {
                    "prompt": "What is quantum computing?",
                    "raw": "<think>Let me think</think>Quantum computing uses qubits.",
                    "thinking": ["Let me break this into parts...", "Now verify."],
                    "answer": ["Quantum computing uses qubits.", "To summarise: qubits."],
                },
            }
        ],
        debugoutput="Quantum computing uses qubits. To summarise: qubits.",
    )
    answer = task.answer
    assert answer is not None
    assert answer.text == "Quantum computing uses qubits.\n\nTo summarise: qubits."
    assert answer.thinking == "Let me break this into parts...\n\nNow verify."


def test_merged_raw_text_gives_up_its_think_part_as_the_thinking() -> None:
    answer = answer_in({"raw": "<think>Weigh both.</think>Take the train."})
    assert (answer.text, answer.thinking) == ("Take the train.", "Weigh both.")


def test_debugoutput_is_the_text_only_when_no_file_came_back() -> None:
    transcript = finished(debugoutput="Hello from the recording.")
    assert transcript.answer is not None and transcript.answer.text == "Hello from the recording."
    image = finished(
        debugoutput="0%|...| 0/10\n100%|##########| 10/10",
        outputs=[{"name": "0.png", "contenttype": "image/png", "url": "https://cdn1.wiro.ai/0.png"}],
    )
    assert image.answer is None
    assert finished(pexit="1", debugoutput="Traceback ...").answer is None  # a failure has no answer


def test_odd_answer_arrays_are_read_without_fault_and_bounded() -> None:
    answer = answer_in({"answer": [1, None, {"a": [2]}, "  ", "kept", ["nested"]], "thinking": "plain"})
    assert (answer.text, answer.thinking) == ("kept", "plain")
    huge = answer_in({"answer": ["x" * 1_000_000] * 5})
    assert len(huge.text) <= MAX_TEXT_CHARS
    assert answer_in("not an object").text == "" and not answer_in(None)


def test_a_files_type_comes_from_its_name_when_wiro_says_nothing_usable() -> None:
    def mime(name: str, contenttype: str = "", url: str = "") -> str:
        return Output(name=name, contenttype=contenttype, url=url).mime

    assert mime("0.glb", "application/octet-stream") == "model/gltf-binary"
    assert mime("", "", "https://cdn1.wiro.ai/a/mesh.obj?sig=1") == "model/obj"
    assert mime("voice.mp3", "") == "audio/mpeg"
    assert mime("0.png", "image/png") == "image/png"
    assert mime("0.bin", "Audio/WAV") == "audio/wav"  # Wiro's own type wins, lower-cased
    assert mime("no-extension", "") == "application/octet-stream"


def test_a_streamed_llm_answer_becomes_one_line_of_progress() -> None:
    task = Task(id="7", status="task_start")
    thinking = parse_event(
        '{"type":"task_output","id":"7","message":{"thinking":["Hmm"],"answer":[],"isThinking":true}}'
    )
    assert thinking is not None
    during = apply_event(task, thinking)
    assert during is not None and during.thinking_now and not during.partial_answer
    long = "word " * 500
    event = parse_event(
        '{"type":"task_output","id":"7","message":{"thinking":["Hmm"],"answer":["First line.\\n\\n'
        + long
        + '"]}}'
    )
    assert event is not None
    answering = apply_event(during, event)
    assert answering is not None and not answering.thinking_now
    assert "\n" not in answering.partial_answer and answering.partial_answer.startswith("…")
    assert len(answering.partial_answer) <= PARTIAL_ANSWER_CHARS + 1
    assert apply_event(answering, event) is None  # the same answer again is no news
