"""A Wiro model page (or a Tool/Detail answer) → a ModelSpec.

Pages arrive in two dialects ("Tool name / Tool Inputs" and "Model name / Model Inputs"), either
flattened onto one line or as ordinary multi-line markdown. Collapsing whitespace turns the second
form into the first, so one parser reads both.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlparse

from wiro_mcp.catalog.pricing import parse_dynamicprice, parse_usd
from wiro_mcp.catalog.rows import media_of
from wiro_mcp.catalog.spec import Curation, Input, Media, ModelSpec, Option, Source, is_slug_part
from wiro_mcp.catalog.validate import clip
from wiro_mcp.errors import SpecError
from wiro_mcp.jsonish import as_list, dicts

# Where Wiro keeps the sample inputs that its request examples name by file name only.
SAMPLE_INPUTS_URL = "https://cdn.wiro.ai/uploads/sampleinputs/"

_INFO_KEYS = r"(?:Tool|Model) (?:name|description|cover|categories|tags)|Run Task Endpoint \(POST\)|Get Task Detail Endpoint \(POST\)"
_INFO_KEY = re.compile(rf"(?:^|\s)({_INFO_KEYS}):")
_SECTION = re.compile(r"(?:^|\s)##+ ")
_INPUT_KEY = re.compile(r"(?:^|(?<=\s))(label|help|type|default|options|required|min|max|step):(?=\s|$)")
_OPTION = re.compile(r'- value: "([^"]*)" label:(.*?)(?=\s- value: "|$)')
_EXAMPLE_ITEM = re.compile(r"(?:^|\s)- ([A-Za-z][A-Za-z0-9_]*): ")
_RUN_PAYLOAD = re.compile(r"-d '(\{.*?\})'\s*;")
_VIDEO_EXT = {".mp4", ".webm", ".mov", ".m4v"}
_IMAGE_EXT = {".png", ".jpg", ".jpeg", ".webp", ".gif"}
_AUDIO_EXT = {".mp3", ".wav", ".ogg", ".m4a"}
# Bounds on what a catalog may make an agent read: every text lands in tools/list, on every turn.
MAX_TITLE = 120
MAX_DESCRIPTION = 2_000
MAX_LABEL = 120
MAX_HELP = 600
MAX_OPTION_VALUE = 200
MAX_OPTIONS = 300
MAX_INPUTS = 150


_HEADINGS = (
    "Basic tool info",
    "Basic model info",
    "Tool Inputs:",
    "Model Inputs:",
    "Tool Parameter Inspires:",
    "Model Parameter Inspires:",
)


def _sections(text: str) -> dict[str, str]:
    """Known heading → its body (up to the next heading of any kind)."""
    out: dict[str, str] = {}
    for part in _SECTION.split(text)[1:]:
        for heading in _HEADINGS:
            if part.startswith(heading):
                out.setdefault(heading, part[len(heading) :].strip())
    return out


def _list_items(value: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in (" " + value).split(" - ") if s.strip())


def _basic_info(text: str) -> dict[str, str]:
    pieces = _INFO_KEY.split(text)
    info: dict[str, str] = {}
    for key, value in zip(pieces[1::2], pieces[2::2], strict=True):
        info.setdefault(key.split(" ", 1)[1] if key.startswith(("Tool ", "Model ")) else key, value.strip())
    return info


def _scalar(raw: str) -> Any:
    raw = raw.strip()
    if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
        return raw[1:-1]
    return raw


def _parse_input(segment: str, page: str) -> Input:
    name, _, rest = segment.partition(" ")
    fields: dict[str, str] = {}
    matches = [m for m in _INPUT_KEY.finditer(rest)]
    seen: list[tuple[str, int, int]] = []
    for m in matches:
        if m.group(1) not in {k for k, _, _ in seen}:
            seen.append((m.group(1), m.start(), m.end()))
    for i, (key, _start, end) in enumerate(seen):
        stop = seen[i + 1][1] if i + 1 < len(seen) else len(rest)
        fields[key] = rest[end:stop].strip()
    if "type" not in fields or not fields["type"]:
        raise SpecError(f"{page}: input {name!r} has no type")
    kind = fields["type"]
    default: Any = _scalar(fields.get("default", ""))
    if default == "" and kind != "select":
        default = None  # an empty select default is a fact: "none of the options"
    elif kind in ("number", "range"):
        default = _number_or_word(default)
    options = tuple(
        Option(value=v, label=lab.strip()) for v, lab in _OPTION.findall(fields.get("options", ""))
    )
    if kind == "select" and not options:
        raise SpecError(f"{page}: select input {name!r} lists no options")
    try:
        return Input(
            id=name,
            type=kind,  # pyright: ignore[reportArgumentType]  # checked by pydantic just below
            label=fields.get("label", ""),
            help=fields.get("help", ""),
            default=default,
            options=options,
            required=fields.get("required", "").lower() == "true",
            min=_float_or_none(fields.get("min")),
            max=_float_or_none(fields.get("max")),
            step=_float_or_none(fields.get("step")),
        )
    except ValueError as exc:
        raise SpecError(f"{page}: input {name!r}: unsupported type {kind!r}") from exc


def _number_or_word(raw: str) -> Any:
    if raw in ("true", "false"):
        return raw == "true"
    if raw == "null":
        return None
    try:
        number = float(raw)
    except ValueError:
        return raw
    return int(number) if number.is_integer() else number


def _float_or_none(raw: str | None) -> float | None:
    """A bound as a finite number; NaN or an infinity is no bound (never a check switched off)."""
    if raw is None or raw.strip() == "":
        return None
    try:
        number = float(raw)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _map_example_key(key: str, ids: set[str]) -> str:
    # The pages' examples name a file input by its part name (`inputImage` for `inputImageUrl`).
    return f"{key}Url" if key not in ids and f"{key}Url" in ids else key


def _inspires(body: str, ids: set[str]) -> list[dict[str, Any]]:
    pieces = _EXAMPLE_ITEM.split(" " + body)
    examples: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    for key, value in zip(pieces[1::2], pieces[2::2], strict=True):
        key = _map_example_key(key, ids)
        if key in current:
            examples.append(current)
            current = {}
        current[key] = value.strip()
    if current:
        examples.append(current)
    return examples


def _run_example(text: str, ids: set[str]) -> dict[str, Any] | None:
    section = text.split("Run Command - Make HTTP Post Request", 1)
    if len(section) < 2:
        return None
    match = _RUN_PAYLOAD.search(section[1])
    if not match:
        return None
    try:
        payload = json.loads(match.group(1))
    except json.JSONDecodeError:
        return None
    if not isinstance(payload, dict):
        return None
    example: dict[str, Any] = {}
    for key, value in payload.items():  # pyright: ignore[reportUnknownVariableType]
        key = _map_example_key(str(key), ids)  # pyright: ignore[reportUnknownArgumentType]
        if key not in ids or value is None:
            continue  # callbackUrl is prose on the pages; null means "leave unset"
        if key.endswith("Url") and isinstance(value, str) and value and "://" not in value:
            value = SAMPLE_INPUTS_URL + value
        example[key] = value
    return example


def _media_for(cover: str, categories: tuple[str, ...]) -> Media:
    suffix = PurePosixPath(urlparse(cover).path).suffix.lower()
    if suffix in _VIDEO_EXT:
        return "video"
    if suffix in _IMAGE_EXT:
        return "image"
    if suffix in _AUDIO_EXT:
        return "audio"
    return media_of(categories)


def _slug_from_endpoint(url: str, page: str) -> tuple[str, str]:
    match = re.search(r"/Run/([^/\s]+)/([^/\s]+)", url)
    if not match:
        raise SpecError(f"{page}: no 'Run Task Endpoint (POST): …/Run/OWNER/PROJECT' line")
    return match.group(1), match.group(2)


def import_page(text: str, page: str = "page") -> ModelSpec:
    """Read a Wiro model page (either dialect, flattened or multi-line)."""
    flat = " ".join(text.split())
    sections = _sections(flat)
    dialect = "model" if "Model Inputs:" in sections else "tool"
    info_body = sections.get("Basic tool info") or sections.get("Basic model info")
    if info_body is None:
        raise SpecError(f"{page}: no '## Basic tool info' section")
    info = _basic_info(info_body)
    if "name" not in info:
        raise SpecError(f"{page}: no 'Tool name:' or 'Model name:' line in the basic info")
    owner, project = _slug_from_endpoint(info.get("Run Task Endpoint (POST)", ""), page)
    inputs_body = sections.get("Tool Inputs:") or sections.get("Model Inputs:")
    if inputs_body is None:
        raise SpecError(f"{page}: no '## Tool Inputs:' or '## Model Inputs:' section")
    segments = [s for s in re.split(r"(?:^|\s)- name: ", " " + inputs_body) if s.strip()]
    if not segments:
        raise SpecError(f"{page}: the inputs section lists no '- name:' entries")
    inputs = tuple(_parse_input(s.strip(), page) for s in segments)
    ids = {i.id for i in inputs}
    examples: list[dict[str, Any]] = []
    run_example = _run_example(flat, ids)
    if run_example:
        examples.append(run_example)
    inspires = sections.get("Tool Parameter Inspires:") or sections.get("Model Parameter Inspires:")
    for example in _inspires(inspires or "", ids):
        if example not in examples:
            examples.append(example)
    categories = _list_items(info.get("categories", ""))
    cover = info.get("cover", "")
    return ModelSpec(
        owner=owner,
        project=project,
        title=info["name"],
        description=info.get("description", ""),
        categories=categories,
        tags=_list_items(info.get("tags", "")),
        cover=cover,
        media=_media_for(cover, categories),
        inputs=inputs,
        examples=tuple(examples),
        source=Source(kind="page", dialect=dialect),
    )


def _options(items: list[dict[str, Any]], origin: str, name: str) -> tuple[Option, ...]:
    """Options as Wiro lists them, within bounds; an over-long value would be sent cut, so it is refused."""
    if len(items) > MAX_OPTIONS:
        raise SpecError(
            f"{origin}: parameter {clip(name, 60)!r} lists {len(items)} options (at most {MAX_OPTIONS})"
        )
    options: list[Option] = []
    for o in items:
        value = str(o.get("value", ""))
        if len(value) > MAX_OPTION_VALUE or not value.isprintable():
            raise SpecError(f"{origin}: parameter {clip(name, 60)!r} has an option that is not a plain value")
        options.append(Option(value=value, label=clip(str(o.get("label", "")), MAX_LABEL)))
    return tuple(options)


def _detail_input(item: dict[str, Any], origin: str) -> Input:
    options = _options(dicts(item.get("options")), origin, str(item.get("id", "")))
    kind = str(item.get("type", ""))
    if not item.get("id") or not kind:
        raise SpecError(f"{origin}: a parameter item lacks 'id' or 'type': {json.dumps(item)[:120]}")
    default = item.get("default")
    if kind in ("number", "range") and isinstance(default, str):
        default = _number_or_word(default)
    try:
        return Input(
            id=str(item["id"]),
            type=kind,  # pyright: ignore[reportArgumentType]  # checked by pydantic
            label=clip(str(item.get("label") or ""), MAX_LABEL),
            help=clip(
                str(item.get("description") or item.get("note") or item.get("placeholder") or ""), MAX_HELP
            ),
            default=None if default == "" and kind != "select" else default,
            options=options,
            required=item.get("required") in (True, "true", "1", 1),
            min=_float_or_none(None if item.get("min") is None else str(item.get("min"))),
            max=_float_or_none(None if item.get("max") is None else str(item.get("max"))),
            step=_float_or_none(None if item.get("step") is None else str(item.get("step"))),
        )
    except ValueError as exc:
        raise SpecError(f"{origin}: parameter {item.get('id')!r}: unsupported type {kind!r}") from exc


def _inspire_examples(tool: dict[str, Any], inputs: tuple[Input, ...]) -> tuple[dict[str, Any], ...]:
    """Wiro's `inspire` argument sets, keyed by the fields the tools take (`inputImage` → `inputImageUrl`)."""
    names = {i.id: i.url_field if i.is_file else i.id for i in inputs}
    names.update({v: v for v in list(names.values())})
    examples: list[dict[str, Any]] = []
    for item in dicts(tool.get("inspire")):
        example = {names[str(k)]: v for k, v in item.items() if str(k) in names and v not in (None, "")}
        if example and example not in examples:
            examples.append(example)
    return tuple(examples)


def import_tool_detail(data: dict[str, Any], origin: str = "Tool/Detail") -> ModelSpec:
    """Read a `POST /Tool/Detail` answer (or its `tool[0]` alone)."""
    tools = data.get("tool") if "tool" in data else [data]
    if not isinstance(tools, list) or not tools or not isinstance(tools[0], dict):
        raise SpecError(f"{origin}: no 'tool[0]' in the Tool/Detail answer")
    tool: dict[str, Any] = tools[0]  # pyright: ignore[reportUnknownVariableType]
    # The clean slugs are the lower-case forms Wiro runs models by (a project may be titled "Virtual Try-On").
    owner = str(tool.get("cleanslugowner") or tool.get("slugowner") or "").strip()
    project = str(tool.get("cleanslugproject") or tool.get("slugproject") or "").strip()
    if not owner or not project:
        raise SpecError(f"{origin}: tool[0] lacks 'slugowner' or 'slugproject'")
    if not is_slug_part(owner) or not is_slug_part(project):
        raise SpecError(f"{origin}: {clip(owner, 60)!r}/{clip(project, 60)!r} is not a slug Wiro's Run takes")
    groups = tool.get("parameters")
    if isinstance(groups, str):
        try:
            groups = json.loads(groups)
        except json.JSONDecodeError:
            groups = None
    if not isinstance(groups, list):
        raise SpecError(
            f"{origin}: {owner}/{project} publishes no parameter list, so its inputs cannot be checked"
        )
    items = [i for g in dicts(groups) for i in dicts(g.get("items"))]
    categories: Any = tool.get("categories") or []
    if isinstance(categories, str):
        try:
            categories = json.loads(categories)
        except json.JSONDecodeError:
            categories = [categories]
    cover = str(tool.get("cover") or "")
    cats = tuple(clip(str(c), MAX_LABEL) for c in as_list(categories)[:MAX_OPTIONS])
    if len(items) > MAX_INPUTS:
        raise SpecError(f"{origin}: {owner}/{project} has {len(items)} parameters (at most {MAX_INPUTS})")
    inputs = tuple(_detail_input(i, origin) for i in items)
    if not inputs:
        raise SpecError(f"{origin}: {owner}/{project} has no parameters")
    return ModelSpec(
        owner=owner,
        project=project,
        title=clip(str(tool.get("title") or f"{owner}/{project}"), MAX_TITLE),
        description=clip(str(tool.get("description") or ""), MAX_DESCRIPTION),
        categories=cats,
        tags=tuple(clip(str(t), MAX_LABEL) for t in as_list(tool.get("tags"))[:MAX_OPTIONS]),
        cover=cover,
        media=_media_for(cover, cats),
        inputs=inputs,
        examples=_inspire_examples(tool, inputs),
        prices=parse_dynamicprice(tool.get("dynamicprice")),
        approximate_cost=parse_usd(tool.get("approximatelycost")),
        source=Source(kind="tool_detail", dialect="detail"),
    )


def import_any(text: str, origin: str) -> ModelSpec:
    """A page or a Tool/Detail JSON answer, told apart by their first character."""
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SpecError(f"{origin}: looks like JSON but is not ({exc.msg})") from None
        return import_tool_detail(data, origin)
    return import_page(text, origin)


def with_curation(spec: ModelSpec, curation: Curation) -> ModelSpec:
    return spec.model_copy(update={"curation": curation})


def spec_json(spec: ModelSpec) -> str:
    data = {"spec_version": spec.spec_version, **spec.model_dump(mode="json", exclude_defaults=True)}
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
