"""What a task becomes for the agent: a text answer first (an LLM's, a transcript), text it can
relay, resource links with each file's type, structured content, and inline what the chat can show
of small outputs (images, audio, text files)."""

from __future__ import annotations

import base64
from typing import Any

import mcp_types as types

from wiro_mcp.catalog.pricing import Quote
from wiro_mcp.catalog.validate import clip
from wiro_mcp.errors import WiroBalanceError, WiroError, WiroTransportError
from wiro_mcp.journal import JournalEntry
from wiro_mcp.outputs import Preview
from wiro_mcp.tasks import SHOWN_ANSWER_CHARS, Prepared, Rejected, Started, TaskReport
from wiro_mcp.wiro.models import STATES, STATUS_WORDS

MAX_ERRORS_SHOWN = 12
# What matters to an agent, in few bytes: the handle, the state, the files, and any text answer.
OUTPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "taskid": {"type": "string"},
        "state": {"type": "string", "enum": list(STATES)},
        "outputs": {"type": "array"},  # each: url, name, contenttype, size (and path, if saved)
        "text": {"type": "string"},  # an LLM's answer, a transcript: the text result
        "thinking": {"type": "string"},  # the model's reasoning, apart from the answer
        "session_id": {"type": "string"},  # a chat model's conversation, to continue it
    },
    "required": ["taskid", "state", "outputs"],
}
# A typed model tool's: only what every result has (a list of 50 typed tools must stay small; the
# full shape is run_model's and the task tools' OUTPUT_SCHEMA, and the same structuredContent).
MODEL_OUTPUT_SCHEMA: dict[str, Any] = {"type": "object", "required": ["taskid", "state", "outputs"]}
TEXT_PREVIEW_CHARS = 4_000  # of a small text file among the outputs, shown in the result


def _size_text(size: int) -> str:
    if size >= 1_000_000:
        return f"{size / 1_000_000:.1f} MB"
    return f"{size / 1000:.0f} KB" if size >= 1000 else f"{size} B"


def structured(report: TaskReport) -> dict[str, Any]:
    task = report.task
    outputs: list[dict[str, Any]] = []
    for out in task.file_outputs:
        item: dict[str, Any] = {
            "url": out.url,
            "name": out.name,
            "contenttype": out.mime,
            "size": out.size,
        }
        if out.url in report.saved:
            item["path"] = str(report.saved[out.url])
        outputs.append(item)
    data: dict[str, Any] = {
        "taskid": task.id,
        "tasktoken": task.socketaccesstoken,
        "model": report.slug,
        "tool": report.tool,
        "status": task.status,
        "state": task.state,
        "outputs": outputs,
    }
    if task.state == "failed":
        data["error"] = task.debugerror or "the task failed without a reason from Wiro"
    if task.elapsed is not None:
        data["elapsed_seconds"] = task.elapsed
    if task.state in ("queued", "running") and task.percentage is not None:
        data["progress"] = task.percentage  # Wiro's own figure, as its socket last gave it (0-100)
    if task.cost_usd is not None and task.state in ("completed", "failed", "cancelled"):
        data["cost_usd"] = task.cost_usd
    answer = report.answer
    if answer is not None and answer.text:
        data["text"] = answer.text[:SHOWN_ANSWER_CHARS]
        if len(answer.text) > SHOWN_ANSWER_CHARS:
            data["text_chars"] = len(answer.text)
            if report.answer_file is not None:
                data["text_file"] = str(report.answer_file)
    if answer is not None and answer.thinking:
        data["thinking"] = answer.thinking[:SHOWN_ANSWER_CHARS]
    if report.session:
        data["session_id"] = report.session
    if not report.finished:
        data["next"] = {"tool": "task_wait", "arguments": {"taskid": task.id}}
    elif report.session and task.state == "completed":
        data["next"] = _continue(report)
    return data


def _continue(report: TaskReport) -> dict[str, Any]:
    """The call that continues a chat model's conversation (with the agent's next prompt added)."""
    if report.tool:
        return {"tool": report.tool, "arguments": {"session_id": report.session}}
    arguments = {"session_id": report.session}
    return {"tool": "run_model", "arguments": {"model": report.slug, "arguments": arguments}}


def summary(report: TaskReport, data: dict[str, Any], repeat_age: float | None = None) -> str:
    task = report.task
    name = report.tool or report.slug or "task"
    words = STATUS_WORDS.get(task.status, task.status)
    ids = f"taskid {task.id}" + (f", tasktoken {task.socketaccesstoken}" if task.socketaccesstoken else "")
    lines: list[str] = []
    if repeat_age is not None:  # what happened comes first: nothing new was started
        lines.append(
            f"Not a new run: the same call as task {task.id}, started {repeat_age:.0f} s ago "
            f"({'never billed' if report.sandbox else 'billed once'}). That task, as it stands:"
        )
    match task.state:
        case "completed":
            took = f" in {data['elapsed_seconds']:.1f} s" if "elapsed_seconds" in data else ""
            spent = "would cost" if report.sandbox else "cost"
            cost = f", {spent} ${data['cost_usd']:.4f}" if "cost_usd" in data else ""
            lines.append(f"{name}: completed{took}{cost} ({ids}).")
            if data["outputs"]:
                lines.append("Outputs:")
            for out in data["outputs"]:
                saved = f", saved to {out['path']}" if "path" in out else ""
                lines.append(
                    f"- {out['name']} ({out['contenttype']}, {_size_text(out['size'])}): {out['url']}{saved}"
                )
            lines.extend(_answer_lines(report, data))
            if not data["outputs"] and "text" not in data:
                lines.append("Wiro returned no output files and no text.")
        case "failed":
            lines.append(f"{name}: failed ({ids}). Reason from Wiro: {data['error']}")
        case "cancelled":
            lines.append(f"{name}: stopped (cancelled), not billed ($0.00) ({ids}).")
        case "queued" | "running":
            lines.append(f"{name}: still {task.state} ({task.status}: {words}) when the wait ended ({ids}).")
            wait = f'To keep waiting call task_wait with {{"taskid": "{task.id}"}}.'
            if repeat_age is None:
                wait += (
                    f" Do not call {name} again for this request: that would start"
                    f"{'' if report.sandbox else ', and bill,'} a second task."
                )
            lines.append(wait)
    lines.extend(report.notes)
    return "\n".join(lines)


def _answer_lines(report: TaskReport, data: dict[str, Any]) -> list[str]:
    """Where the text answer is, whether it was cut, and how to go on with the conversation."""
    lines: list[str] = []
    if "text" in data:
        lines.append(f"The answer ({len(data['text']):,} characters) is the text before this summary.")
    if "text_chars" in data:
        where = (
            f"the whole answer is in {data['text_file']}" if "text_file" in data else "it could not be saved"
        )
        lines.append(f"It was cut at {SHOWN_ANSWER_CHARS:,} of {data['text_chars']:,} characters; {where}.")
    if "thinking" in data:
        lines.append(
            f"The model's reasoning ({len(data['thinking']):,} characters) is apart, in structuredContent.thinking."
        )
    if "session_id" in data and "next" in data and data["next"]["tool"] != "task_wait":
        tool = data["next"]["tool"]
        how = f"{tool} with model {report.slug!r} and" if tool == "run_model" else f"{tool} with"
        lines.append(
            f'To continue this conversation, call {how} session_id "{data["session_id"]}" and the next prompt.'
        )
    return lines


def _shown(report: TaskReport, previews: dict[str, Preview]) -> list[types.ContentBlock]:
    """What the chat can show of the outputs themselves: images, audio, and small text files."""
    blocks: list[types.ContentBlock] = []
    for out in report.task.file_outputs:
        preview = previews.get(out.url)
        if preview is None:
            continue
        data, mime = preview.data, preview.mime
        if mime.startswith("image/"):
            blocks.append(types.ImageContent(data=base64.b64encode(data).decode(), mime_type=mime))
        elif mime.startswith("audio/"):
            blocks.append(types.AudioContent(data=base64.b64encode(data).decode(), mime_type=mime))
        else:
            text = data.decode("utf-8", errors="replace")
            cut = "\n[…]" if len(text) > TEXT_PREVIEW_CHARS else ""
            blocks.append(
                types.TextContent(text=f"{out.name or 'output'}:\n{text[:TEXT_PREVIEW_CHARS]}{cut}")
            )
    return blocks


def task_result(
    report: TaskReport,
    previews: dict[str, Preview] | None = None,
    quote: Quote | None = None,
    *,
    repeat_age: float | None = None,
) -> types.CallToolResult:
    """The result of a task, with `previews` of its outputs inline: `repeat_age` when a repeated
    call was handed the task an identical call started that many seconds ago."""
    data = structured(report)
    if repeat_age is not None:
        data["deduplicated"] = True
        data["first_started_seconds_ago"] = round(repeat_age)
    text = summary(report, data, repeat_age)
    if quote is not None and quote.known:
        data["quote_usd"] = quote.high if quote.high is not None else quote.low
        said = "Wiro would bill" if report.sandbox else "billed"
        billed = f"; {said} ${data['cost_usd']:.4f}" if "cost_usd" in data else ""
        text += f"\nPrice: quoted {quote.text()} before the run{billed}."
    if report.sandbox:
        text += "\n(Sandbox: no account, no cost.)"
    # A text answer comes first, whole (up to the cap): it is the result; the summary follows it.
    content: list[types.ContentBlock] = [types.TextContent(text=data["text"])] if "text" in data else []
    content.append(types.TextContent(text=text))
    for out in report.task.file_outputs:
        content.append(
            types.ResourceLink(
                name=out.name or out.url, uri=out.url, mime_type=out.mime, size=out.size or None
            )
        )
    content.extend(_shown(report, previews or {}))
    return types.CallToolResult(
        content=content, structured_content=data, is_error=report.task.state == "failed"
    )


def error_result(message: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(text=message)], is_error=True)


def quoted_result(tool: str, prepared: Prepared) -> types.CallToolResult:
    """A dry run: valid arguments and their price; nothing was sent."""
    figure = prepared.quote
    text = (
        f"{tool}: dry run, nothing was sent. The arguments are valid; the call would cost {figure.text()}"
        + (f" ({figure.basis})" if figure.basis and figure.known else "")
        + ". Call again without dry_run to run it."
    )
    data = {"model": prepared.entry.spec.slug, "arguments": prepared.params, "quote": figure.as_json()}
    return types.CallToolResult(content=[types.TextContent(text=text)], structured_content=data)


def rejected_result(tool: str, rejected: Rejected) -> types.CallToolResult:
    if rejected.reason:
        return error_result(f"{tool}: nothing was sent to Wiro: {rejected.reason}")
    lines = [f"{tool}: invalid arguments, nothing was sent to Wiro:"]
    lines += [f"- {e}" for e in rejected.errors[:MAX_ERRORS_SHOWN]]
    if len(rejected.errors) > MAX_ERRORS_SHOWN:
        lines.append(f"- and {len(rejected.errors) - MAX_ERRORS_SHOWN} more")
    return error_result("\n".join(lines))


def lost_follow_result(tool: str, started: Started) -> types.CallToolResult:
    """Following a started task broke unexpectedly: the ids still reach the agent."""
    handle = started.handle
    text = (
        f"{tool}: the task was started (taskid {handle.taskid}) but following it failed inside wiro-mcp "
        f"(details are in the server's log). It may still be running: call task_wait with "
        f'{{"taskid": "{handle.taskid}"}}; do not call {tool} again (that would bill a second task).'
    )
    task = started.task
    data: dict[str, Any] = {
        "taskid": handle.taskid,
        "tasktoken": handle.token,
        "model": started.slug,
        "tool": tool,
        "status": task.status if task else "",
        "state": task.state if task else "queued",
        "outputs": [],
        "error": "following the task failed inside wiro-mcp",
        "next": {"tool": "task_wait", "arguments": {"taskid": handle.taskid}},
    }
    return types.CallToolResult(
        content=[types.TextContent(text=text)], structured_content=data, is_error=True
    )


def task_list_result(entries: list[JournalEntry], where: str) -> types.CallToolResult:
    tasks = [e.as_json() for e in entries]
    lines = [f"{len(tasks)} task(s), newest first (journal: {where}):"]
    for t in tasks:
        lost = (
            "(none yet: starting)"
            if "note" in t
            else "(none: Run's answer never came back, it may have started)"
        )
        taskid = t["taskid"] or lost
        outputs = f" outputs={len(t['outputs'])}" if t["outputs"] else ""
        created = str(t["created"]).replace("T", " ").removesuffix("Z") + " UTC"
        lines.append(f"- {created} {t['tool']} taskid={taskid} state={t['state']}{outputs}")
    return types.CallToolResult(
        content=[types.TextContent(text="\n".join(lines))],
        structured_content={"tasks": tasks, "journal": where},
    )


def money_message(tool: str, exc: WiroError) -> str:
    """Wiro's balance and concurrency refusals: what happened, and what to do. Neither started or
    billed anything."""
    said = f"Wiro said: {clip(exc.message, 300)} (code {exc.code})"
    if isinstance(exc, WiroBalanceError):
        return (
            f"{tool}: the Wiro account's balance is too low for this run; nothing was started or billed. "
            f"Add funds in Wiro's dashboard, then call again. {said}."
        )
    return (
        f"{tool}: the Wiro account's limit of tasks running at once is reached; nothing was started or billed. "
        f"It is safe to call again once one of the running tasks ends (see task_list, or task_wait on one). "
        f"{said}."
    )


def transport_message(name: str, exc: WiroTransportError) -> str:
    """No usable answer from Wiro: whether a retry is safe, or could bill twice."""
    if exc.sent_maybe:
        return (
            f"{name}: {exc.message}. Wiro may have received the request: if it started a task, it is recorded in "
            "the journal as state 'unknown' (see task_list). Do not retry blindly: check first, or you may pay twice."
        )
    return f"{name}: {exc.message}. Nothing reached Wiro; it is safe to try again."
