"""The model spec: one JSON file per Wiro model, close to Wiro's own Tool/Detail fields.

A spec has two parts. Everything but `curation` is imported from a Wiro page or a Tool/Detail
answer and is rewritten on every re-import; `curation` is written by hand and is never touched
by the importer, so a correction survives a re-import.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

SPEC_VERSION = 1
# What a Run path segment may be (Wiro's clean slugs: `wan-ai`, `wan2.2-ti2v-5b-image-to-video-fast`):
# nothing that a URL would read as another path (`..`, `/`, `%`), no spaces, no control characters.
SLUG_PART = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$"
_SLUG_PART = re.compile(SLUG_PART)


def is_slug_part(text: str) -> bool:
    return bool(_SLUG_PART.match(text))


InputType = Literal[
    "text",
    "textarea",
    "select",
    "number",
    "range",
    "checkbox",
    "fileinput",
    "multifileinput",
    "combinefileinput",
]
FILE_TYPES: frozenset[str] = frozenset({"fileinput", "multifileinput", "combinefileinput"})
Media = Literal["image", "video", "audio", "text", "3d"]
MEDIA: tuple[Media, ...] = ("image", "video", "audio", "text", "3d")
# Wiro's realtime models (model-parameters.md) talk over a live audio channel after Run: a tool call
# cannot carry one, so they are known by these slugs, or by a category naming them realtime.
REALTIME_SLUGS = frozenset(
    {
        "openai/gpt-realtime",
        "openai/gpt-realtime-mini",
        "elevenlabs/realtime-conversational-ai",
        "wiro/moss-tts",
        "wiro/voxtral-mini-realtime",
    }
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Option(_Strict):
    value: str
    label: str = ""


class Input(_Strict):
    """One input as Wiro publishes it. `id` is the Run parameter name."""

    id: str = Field(min_length=1)
    type: InputType
    label: str = ""
    help: str = ""
    default: Any = None
    options: tuple[Option, ...] = ()
    required: bool = False
    min: float | None = Field(default=None, allow_inf_nan=False)
    max: float | None = Field(default=None, allow_inf_nan=False)
    step: float | None = Field(default=None, allow_inf_nan=False)

    @field_validator("default")
    @classmethod
    def _no_default_beyond_json(cls, value: Any) -> Any:
        """A default with a NaN or an infinity in it (no JSON can carry one) is no default."""
        if value is None or isinstance(value, str | int):  # most defaults: nothing to look into
            return value
        try:
            json.dumps(value, allow_nan=False)
        except (ValueError, TypeError, RecursionError):
            return None
        return value

    # Wiro's file-field rule, in one place: a file input `inputImage` takes a URL in `inputImageUrl`
    # and, in a multipart Run, the bytes in the part `inputImage` (with `inputImageUrl` left empty).
    @property
    def is_file(self) -> bool:
        return self.type in FILE_TYPES or self.id.endswith("Url")

    @property
    def url_field(self) -> str:
        """The Run parameter that carries the file's URL (a combinefileinput takes URLs in itself)."""
        if self.type == "combinefileinput" or self.id.endswith("Url"):
            return self.id
        return f"{self.id}Url"

    @property
    def file_part(self) -> str:
        """The multipart part that carries the file's bytes."""
        return self.url_field.removesuffix("Url")


class PriceTier(_Strict):
    """One `dynamicprice` rule as Wiro publishes it: the price applies when every `inputs` value matches."""

    model_config = ConfigDict(
        extra="ignore",
        frozen=True,
        validate_by_name=True,
        serialize_by_alias=True,
        coerce_numbers_to_str=True,
        allow_inf_nan=False,  # a NaN or an infinity in a price is no price (the quote becomes unknown)
    )

    inputs: dict[str, str] = Field(default_factory=dict[str, str])
    price: float = Field(ge=0)
    method: str = Field(default="cpr", alias="priceMethod")
    extra: float | None = Field(default=None, ge=0, alias="priceExtra")
    per_input: float | None = Field(default=None, ge=0, alias="priceInput")


class Source(_Strict):
    kind: Literal["page", "tool_detail"]
    dialect: Literal["tool", "model", "detail"]
    url: str = ""


class InputCuration(_Strict):
    """Hand corrections of one input; a field left unset keeps the imported fact."""

    required: bool | None = None
    help: str | None = None
    label: str | None = None


class ConstraintSpec(_Strict):
    """Values that only go together: when every `when` field has one of its values, each `allowed`
    field must have one of its values (Wiro's defaults count for fields left out)."""

    when: dict[str, tuple[str, ...]]
    allowed: dict[str, tuple[str, ...]]
    why: str = ""


class Curation(_Strict):
    description: str | None = None
    # The one example shown to agents, when the imported ones mislead (an edit instruction on a
    # text-to-image model, say).
    example: dict[str, Any] | None = None
    media: Media | None = None
    inputs: dict[str, InputCuration] = Field(default_factory=dict[str, InputCuration])
    constraints: tuple[ConstraintSpec, ...] = ()
    note: str = ""


class ModelSpec(_Strict):
    spec_version: Literal[1] = SPEC_VERSION
    owner: str = Field(pattern=SLUG_PART)
    project: str = Field(pattern=SLUG_PART)
    title: str
    description: str = ""
    categories: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    cover: str = ""
    media: Media
    inputs: tuple[Input, ...]
    examples: tuple[dict[str, Any], ...] = ()
    prices: tuple[PriceTier, ...] = ()
    # Wiro's `approximatelycost` for a model billed per second: its average run time times its rate.
    approximate_cost: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    source: Source
    curation: Curation = Field(default_factory=Curation)

    @property
    def slug(self) -> str:
        return f"{self.owner}/{self.project}"

    @property
    def effective_media(self) -> Media:
        return self.curation.media or self.media

    @property
    def realtime(self) -> bool:
        """A model that needs a live audio channel once started (never run through a tool call)."""
        return self.slug.lower() in REALTIME_SLUGS or any("realtime" in c.lower() for c in self.categories)

    @property
    def effective_description(self) -> str:
        return self.curation.description or self.description

    def imported_part(self) -> dict[str, Any]:
        """The facts the importer owns, as JSON data (everything but the curation)."""
        return self.model_dump(mode="json", exclude={"curation"})
