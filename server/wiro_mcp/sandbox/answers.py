"""The emulator's text results, in the shapes Wiro documents (tasks.md, llm-chat-streaming.md): an
LLM's `outputs[] = {contenttype: "raw", content: {prompt, raw, thinking, answer}}` with the merged
text in `debugoutput`, its socket `task_output` objects with the growing `thinking`/`answer`
arrays, and a speech-to-text transcript in `debugoutput`.

An LLM answers with the turn of its conversation (its `session_id`), so a follow-up can be told
from a new conversation; it names the documents it was given."""

from __future__ import annotations

from typing import Any, Literal

from wiro_mcp.catalog.spec import ModelSpec

Kind = Literal["file", "llm", "transcript", "realtime"]
_TRANSCRIBING = ("speech-to-text", "audio-to-text", "transcription")


def kind_of(spec: ModelSpec) -> Kind:
    if spec.realtime:
        return "realtime"
    if spec.effective_media != "text":
        return "file"
    if any(c.lower() in _TRANSCRIBING for c in spec.categories):
        return "transcript"
    return "llm"


def _uploads(params: dict[str, Any]) -> list[str]:
    """What the Run received as files (the emulator records each upload as a `sandbox-upload:` text)."""
    found: list[str] = []
    for value in params.values():
        for item in value if isinstance(value, list) else [value]:  # pyright: ignore[reportUnknownVariableType]
            if isinstance(item, str) and item.startswith("sandbox-upload:"):
                found.append(item.removeprefix("sandbox-upload:"))
    return found


def llm_parts(params: dict[str, Any], turn: int) -> tuple[list[str], list[str]]:
    """(thinking, answer) chunks of the emulator's LLM."""
    prompt = " ".join(str(params.get("prompt") or "").split())[:200]
    files = _uploads(params)
    thinking = [f"The user asks: {prompt!r}. This is turn {turn} of the conversation."]
    answer = [f"Sandbox answer, turn {turn} of this conversation: you asked {prompt!r}."]
    if files:
        answer.append(f"I read {len(files)} document(s): {'; '.join(files)}.")
    return thinking, answer


def llm_output(params: dict[str, Any], turn: int) -> tuple[dict[str, Any], str]:
    """(the raw output, debugoutput) of a finished LLM task."""
    thinking, answer = llm_parts(params, turn)
    raw = "\n\n".join(answer)
    content = {"prompt": str(params.get("prompt") or ""), "raw": raw, "thinking": thinking, "answer": answer}
    return {"contenttype": "raw", "content": content}, raw


def streamed(params: dict[str, Any], turn: int, fraction: float) -> dict[str, Any]:
    """A socket `task_output` of an LLM `fraction` of the way through: thinking first, then the
    answer growing word by word (each event holds the whole of it so far)."""
    thinking, answer = llm_parts(params, turn)
    if fraction < 0.3:
        return {"type": "thinking", "thinking": thinking, "answer": [], "isThinking": True, "raw": ""}
    words = "\n\n".join(answer).split(" ")
    shown = " ".join(words[: max(1, round(len(words) * min((fraction - 0.3) / 0.7, 1.0)))])
    return {
        "type": "answer",
        "thinking": thinking,
        "answer": [shown],
        "raw": shown,
        "isThinking": False,
        "speed": "48.5",
        "speedType": "t/s",
    }


def transcript(params: dict[str, Any]) -> str:
    files = _uploads(params)
    heard = f" (from {files[0]})" if files else ""
    return f"Hello from the sandbox. This is the transcript of the audio{heard}."
