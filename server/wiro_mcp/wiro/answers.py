"""What a task says in words, read from Wiro's documented shapes (tasks.md, llm-chat-streaming.md):
an LLM's `outputs[] = {contenttype: "raw", content: {prompt, raw, thinking, answer}}`, the growing
`thinking`/`answer` arrays of a socket's `task_output`, and `debugoutput` (the merged text of an LLM,
the transcript of a speech-to-text model) when no output holds anything else.

Everything here is bounded: Wiro's arrays may be long or odd (numbers, nesting), and only text
up to MAX_TEXT_CHARS is kept; the answer's full length is remembered so the cut can be said."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from wiro_mcp.jsonish import as_dict

MAX_TEXT_CHARS = 2_000_000  # far above any answer; what a tool result shows is cut again, later
MAX_CHUNKS = 10_000
_THINK = re.compile(r"<think>.*?(?:</think>|\Z)", re.DOTALL)


@dataclass(frozen=True)
class Answer:
    """A task's text: the answer for the user, and the model's reasoning apart from it."""

    text: str
    thinking: str = ""

    def __bool__(self) -> bool:
        return bool(self.text or self.thinking)


def _joined(value: Any) -> str:
    """Wiro's chunk arrays (`["Quantum…", "To summarise…"]`) as one text; a bare string as it is."""
    if isinstance(value, str):
        return value[:MAX_TEXT_CHARS]
    if not isinstance(value, list):
        return ""
    chunks: list[str] = []
    size = 0
    for item in value[:MAX_CHUNKS]:  # pyright: ignore[reportUnknownVariableType]
        if not isinstance(item, str) or not item.strip():
            continue
        chunks.append(item.strip())
        size += len(item)
        if size > MAX_TEXT_CHARS:
            break
    return "\n\n".join(chunks)[:MAX_TEXT_CHARS]


def answer_in(content: Any) -> Answer:
    """The answer of one raw content object (or a socket's `task_output` message): `answer` when
    given, else `raw` with any `<think>…</think>` part taken out (that is the thinking)."""
    data = as_dict(content)
    thinking = _joined(data.get("thinking"))
    text = _joined(data.get("answer"))
    if text:
        return Answer(text.strip(), thinking.strip())
    raw = _joined(data.get("raw"))
    if not thinking:
        thinking = "\n\n".join(m.group(0)[7:].removesuffix("</think>").strip() for m in _THINK.finditer(raw))
    return Answer(_THINK.sub("", raw).strip(), thinking.strip())


def is_raw(contenttype: str) -> bool:
    return contenttype.strip().lower() == "raw"


def task_answer(outputs: list[Any], debugoutput: str, has_files: bool) -> Answer | None:
    """The text result of a finished task: its raw outputs' answers, else (with no output file either)
    its `debugoutput`; None when it has none."""
    answers = [answer_in(o.content) for o in outputs if is_raw(o.contenttype) and o.content is not None]
    answers = [a for a in answers if a]
    if answers:
        return Answer(
            "\n\n".join(a.text for a in answers if a.text),
            "\n\n".join(a.thinking for a in answers if a.thinking),
        )
    text = debugoutput.strip()[:MAX_TEXT_CHARS]
    if text and not has_files:
        return Answer(text)
    return None


def is_streamed_answer(message: Any) -> bool:
    """A socket `task_output` of an LLM: an object with `answer` or `thinking` arrays."""
    data = as_dict(message)
    return isinstance(data.get("answer"), list) or isinstance(data.get("thinking"), list)
