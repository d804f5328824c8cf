"""What a finished task's result holds for each kind of output: a long answer cut and kept whole,
a failed call with no answer."""

from __future__ import annotations

from pathlib import Path

import mcp_types as types
import pytest

from wiro_mcp.mcp.results import task_result
from wiro_mcp.outputs import OutputPolicy, Outputs
from wiro_mcp.tasks import SHOWN_ANSWER_CHARS, TaskReport
from wiro_mcp.wiro.models import Task

pytestmark = pytest.mark.anyio


def llm_task(answer: str) -> Task:
    content = {"prompt": "Write a lot", "raw": answer, "thinking": ["Plan it."], "answer": [answer]}
    return Task.model_validate(
        {
            "id": "42",
            "status": "task_postprocess_end",
            "pexit": "0",
            "outputs": [{"contenttype": "raw", "content": content}],
            "debugoutput": answer,
        }
    )


async def test_a_long_answer_is_cut_in_the_result_and_kept_whole_in_a_file(tmp_path: Path) -> None:
    answer = "".join(f"Paragraph {n}. " + "words " * 40 + "\n\n" for n in range(200))
    assert len(answer) > SHOWN_ANSWER_CHARS
    outputs = Outputs(OutputPolicy(base_url="https://api.wiro.ai/v1", download_dir=tmp_path))
    kept, note = await outputs.keep_text("openai_gpt_5_2", "42", "answer.md", answer.strip())
    assert kept is not None and not note
    report = TaskReport(
        tool="openai_gpt_5_2",
        slug="openai/gpt-5-2",
        task=llm_task(answer),
        finished=True,
        answer=llm_task(answer).answer,
        answer_file=kept,
    )
    result = task_result(report)
    first, summary = (c.text for c in result.content if isinstance(c, types.TextContent))
    assert len(first) == SHOWN_ANSWER_CHARS and answer.startswith(first)
    assert f"cut at {SHOWN_ANSWER_CHARS:,} of" in summary and str(kept) in summary
    assert kept.read_text() == answer.strip()
    data = result.structured_content or {}
    assert data["text_file"] == str(kept) and data["text_chars"] == len(answer.strip())
    assert data["thinking"] == "Plan it." and "Plan it." not in first
    await outputs.aclose()


def test_a_running_task_carries_wiros_percentage_for_the_viewer() -> None:
    running = Task(id="7", status="task_output", percentage=60.0, progress_note="step 6/10")
    report = TaskReport(tool="t", slug="o/p", task=running, finished=False)
    assert (task_result(report).structured_content or {})["progress"] == 60.0
    done = Task(id="7", status="task_postprocess_end", pexit="0", percentage=60.0)
    finished = TaskReport(tool="t", slug="o/p", task=done, finished=True)
    assert "progress" not in (task_result(finished).structured_content or {})
