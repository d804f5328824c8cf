"""From a spec's inputs to field rules: the one description that both the JSON Schema and the
argument validator are made from, so what the agent is shown is exactly what is checked."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from wiro_mcp.catalog.spec import Input, ModelSpec

FieldKind = Literal["string", "enum", "number", "boolean", "file"]

_PLACEHOLDER = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_IMAGE_REF = re.compile(r"@image(\d+)")
_NO_VALUE = object()


@dataclass(frozen=True)
class FieldRule:
    """What one Run parameter accepts."""

    name: str
    kind: FieldKind
    title: str
    description: str
    required: bool
    default: Any = _NO_VALUE
    enum: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    examples: tuple[str, ...] = ()
    # For file fields: the multipart part name that carries the bytes (`inputImage` for `inputImageUrl`).
    file_part: str = ""
    multiple: bool = False  # several files: a comma-separated list (or an array, joined)
    combine: bool = False  # several files sent as an array in the field itself (combinefileinput)
    sent_default: bool = False  # required by Wiro, but its published default is sent when left out
    media: str = ""  # for file fields: image, video, audio, document or file, from the name
    option_labels: dict[str, str] = field(default_factory=dict[str, str])

    @property
    def has_default(self) -> bool:
        return self.default is not _NO_VALUE


def defaults(rules: tuple[FieldRule, ...]) -> dict[str, Any]:
    """What Wiro uses for each field left out."""
    return {r.name: r.default for r in rules if r.has_default}


def is_placeholder(text: str) -> bool:
    """Wiro's untranslated keys ("seed-help", "input-image-url") say nothing to a reader."""
    return bool(_PLACEHOLDER.fullmatch(text.strip())) and "-" in text


def humanize(name: str) -> str:
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).replace("_", " ").split()
    text = " ".join(w if w.isupper() else w.lower() for w in words)
    return re.sub(r"\burl\b", "URL", text).capitalize() if text else name


def _image_refs(spec: ModelSpec) -> dict[str, str]:
    """`@imageN` → the field that supplies it, read from the inputs' own help texts."""
    refs: dict[str, str] = {}
    for item in spec.inputs:
        if item.is_file:
            for n in _IMAGE_REF.findall(item.help):
                refs[f"@image{n}"] = item.url_field
    return dict(sorted(refs.items()))


def _valid_default(item: Input, kind: FieldKind, enum: tuple[str, ...]) -> Any:
    value = item.default
    if value is None or value == "":
        return _NO_VALUE
    if kind == "enum":
        text = str(value).lower() if isinstance(value, bool) else str(value)
        return text if text in enum else _NO_VALUE
    if kind == "boolean":
        return value if isinstance(value, bool) else str(value).lower() == "true"
    if kind == "number":
        if isinstance(value, bool):
            return _NO_VALUE
        if isinstance(value, int | float):
            return value
        try:
            number = float(str(value))
        except ValueError:
            return _NO_VALUE
        return int(number) if number.is_integer() else number
    return str(value)


def file_media(name: str) -> str:
    lowered = name.lower()
    return next((m for m in ("image", "video", "audio", "document") if m in lowered), "file")


def rule_for(spec: ModelSpec, item: Input) -> FieldRule:
    cur = spec.curation.inputs.get(item.id)
    label = (cur.label if cur and cur.label else item.label).strip()
    help_text = (cur.help if cur and cur.help else item.help).strip()
    required = cur.required if cur and cur.required is not None else item.required
    plain_label = not label or is_placeholder(label) or label.lower() == item.id.lower()
    title = humanize(item.id) if plain_label else label
    parts: list[str] = [] if is_placeholder(help_text) else [help_text] if help_text else []

    kind: FieldKind
    name = item.id
    file_part = ""
    enum: tuple[str, ...] = ()
    labels: dict[str, str] = {}
    if item.is_file:
        kind = "file"
        name = item.url_field
        file_part = item.file_part
        several = item.type in ("multifileinput", "combinefileinput")
        parts.append("URLs or local paths (an array)." if several else "URL or local path.")
    elif item.type == "select":
        kind = "enum"
        enum = tuple(o.value for o in item.options)
        labels = {o.value: o.label for o in item.options if o.label and o.label != o.value}
        if item.default == "" and "" not in enum:
            # An empty default is how Wiro's pages say "none of these".
            enum = ("", *enum)
            parts.append('Empty string ("") means none.')
        if labels:
            parts.append("Options: " + "; ".join(f"{v} = {lab}" for v, lab in labels.items()) + ".")
    elif item.type in ("number", "range"):
        kind = "number"
    elif item.type == "checkbox":
        kind = "boolean"
    else:
        kind = "string"

    if kind == "string" and item.id == "prompt":
        refs = _image_refs(spec)
        if refs:
            listed = ", ".join(f"{ref} = {field_name}" for ref, field_name in refs.items())
            parts.append(f"Refer to the reference images in the prompt as {listed}.")

    default = _valid_default(item, kind, enum)
    examples: tuple[str, ...] = ()
    if kind == "string" and item.type == "textarea" and default is not _NO_VALUE:
        # A textarea's default is a sample prompt, not a value Wiro falls back to.
        examples, default = (str(default),), _NO_VALUE
    sent_default = False
    if required and default is not _NO_VALUE and kind != "file":
        # Wiro needs a value, and publishes one: it is filled in when left out, so the agent need not.
        required, sent_default = False, True
    elif required:
        default = _NO_VALUE
    return FieldRule(
        name=name,
        kind=kind,
        title=title,
        description=" ".join(p if p.endswith((".", "?", "!")) else p + "." for p in parts),
        required=required,
        default=default,
        enum=enum,
        minimum=item.min,
        maximum=item.max,
        examples=examples,
        file_part=file_part,
        multiple=item.type == "multifileinput",
        combine=item.type == "combinefileinput",
        media=file_media(item.id) if kind == "file" else "",
        option_labels=labels,
        sent_default=sent_default,
    )


def rules_for(spec: ModelSpec) -> tuple[FieldRule, ...]:
    return tuple(rule_for(spec, item) for item in spec.inputs)
