"""What decides a choice between models, read from a listing row: what it takes and makes, the
durations, resolutions and orientations it publishes, and its cheapest and dearest price (for a
wanted duration or resolution too). Pure functions over Wiro's own facts: categories and
`dynamicprice` tiers (and a spec's inputs, where the model is known in full).

One vocabulary across models: an orientation (vertical, horizontal, square) is read from each
model's own values (`9:16`, `720:1280`, `portrait`…), so "vertical" finds both; arguments stay the
model's own."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from wiro_mcp.catalog.fields import file_media
from wiro_mcp.catalog.pricing import DURATION_FIELDS, cost_for
from wiro_mcp.catalog.spec import ModelSpec, PriceTier

Orientation = Literal["vertical", "horizontal", "square"]
ORIENTATIONS: tuple[Orientation, ...] = ("vertical", "horizontal", "square")
INPUT_KINDS = ("text", "image", "video", "audio", "document")
RESOLUTION_FIELDS = ("resolution", "quality", "outputResolution")
RATIO_FIELDS = ("aspectRatio", "aspect_ratio", "ratio", "size", "orientation")
_PAIR = re.compile(r"^\s*(\d{1,5})\s*[x:*×/]\s*(\d{1,5})\s*$")
_NAMED = {
    "portrait": "vertical",
    "vertical": "vertical",
    "tall": "vertical",
    "landscape": "horizontal",
    "horizontal": "horizontal",
    "wide": "horizontal",
    "square": "square",
}

# Task words an agent types, mapped onto the words Wiro's categories and titles use.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "tts": ("text-to-speech",),
    "voiceover": ("text-to-speech", "tts"),
    "voice-over": ("text-to-speech", "tts"),
    "narration": ("text-to-speech", "tts"),
    "narrate": ("text-to-speech", "tts"),
    "speak": ("text-to-speech", "tts"),
    "stt": ("speech-to-text", "transcri"),
    "transcribe": ("speech-to-text", "transcri"),
    "transcription": ("speech-to-text", "transcri"),
    "subtitles": ("speech-to-text", "transcri", "caption"),
    "upscale": ("upscal", "super-resolution"),
    "upscaler": ("upscal", "super-resolution"),
    "lipsync": ("lip-sync", "lipsync"),
    "chat": ("llm", "chat"),
    "llm": ("llm", "chat"),
    "song": ("music", "song"),
    "music": ("music", "song"),
    "3d": ("3d", "mesh", "glb"),
    "photo": ("image", "photo"),
    "picture": ("image", "picture"),
    "movie": ("video", "movie"),
}
# Words of a request that say nothing about the model ("make me a video of a cat": video).
STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "for",
        "to",
        "in",
        "on",
        "with",
        "and",
        "or",
        "me",
        "my",
        "i",
        "we",
        "you",
        "it",
        "this",
        "that",
        "please",
        "make",
        "create",
        "generate",
        "want",
        "need",
        "can",
        "could",
        "would",
        "some",
        "from",
        "into",
        "about",
        "using",
        "use",
        "model",
        "models",
    ]
)


def alternatives(word: str) -> tuple[str, ...]:
    """A query word and what it may be written as in Wiro's listing."""
    return (word, *SYNONYMS.get(word, ()))


def orientation_of(value: str) -> Orientation | None:
    """`9:16`, `720x1280`, `portrait` → vertical; `16:9` → horizontal; `1:1` → square; else None."""
    text = value.strip().lower()
    if text in _NAMED:
        return _NAMED[text]  # pyright: ignore[reportReturnType]
    match = _PAIR.match(text)
    if not match:
        return None
    width, height = int(match.group(1)), int(match.group(2))
    if not width or not height:
        return None
    return "square" if width == height else "vertical" if height > width else "horizontal"


def kind_of_category(category: str) -> tuple[str, str] | None:
    """`text-to-video` → (text, video): what a category means as input and output kinds."""
    if "-to-" not in category:
        return None
    made, _, out = category.lower().partition("-to-")
    return made, out


@dataclass(frozen=True)
class Offers:
    """What a model publishes that a choice turns on."""

    inputs: tuple[str, ...] = ()  # kinds it takes: text, image, video, audio, document
    durations: tuple[str, ...] = ()
    resolutions: tuple[str, ...] = ()
    ratios: tuple[str, ...] = ()

    @property
    def orientations(self) -> tuple[Orientation, ...]:
        found = {orientation_of(r) for r in self.ratios}
        return tuple(o for o in ORIENTATIONS if o in found)


def _values(tiers: Iterable[PriceTier], fields: Iterable[str]) -> tuple[str, ...]:
    names = {f.lower() for f in fields}
    seen: dict[str, None] = {}
    for tier in tiers:
        for key, value in tier.inputs.items():
            if key.lower() in names and not value.startswith("QUANTITY:"):
                seen[value] = None
    return _sorted(seen)


def _sorted(values: Iterable[str]) -> tuple[str, ...]:
    def key(value: str) -> tuple[float, str]:
        digits = re.match(r"^\d+(?:\.\d+)?", value)
        return (float(digits.group(0)) if digits else float("inf"), value)

    return tuple(sorted(dict.fromkeys(values), key=key))


def offers_from_tiers(categories: Iterable[str], tiers: tuple[PriceTier, ...]) -> Offers:
    """What a Tool/List row tells: input kinds from its categories, the rest from its price tiers."""
    kinds = [k[0] for c in categories if (k := kind_of_category(c)) and k[0] in INPUT_KINDS]
    return Offers(
        inputs=tuple(dict.fromkeys(kinds)),
        durations=_values(tiers, DURATION_FIELDS),
        resolutions=_values(tiers, RESOLUTION_FIELDS),
        ratios=_values(tiers, RATIO_FIELDS),
    )


def offers_from_spec(spec: ModelSpec) -> Offers:
    """What a model known in full publishes: its inputs' kinds and select values, over the tiers' own."""
    input_kinds = [
        "document" if kind == "file" else kind
        for i in spec.inputs
        if (
            kind := "text"
            if i.type in ("text", "textarea") and "prompt" in i.id.lower()
            else file_media(i.id)
            if i.is_file
            else ""
        )
    ]

    def options(fields: Iterable[str]) -> tuple[str, ...]:
        names = {f.lower() for f in fields}
        return _sorted(o.value for i in spec.inputs if i.id.lower() in names for o in i.options if o.value)

    tiers = offers_from_tiers(spec.categories, spec.prices)
    return Offers(
        inputs=tuple(dict.fromkeys(k for k in input_kinds if k in INPUT_KINDS)) or tiers.inputs,
        durations=options(DURATION_FIELDS) or tiers.durations,
        resolutions=options(RESOLUTION_FIELDS) or tiers.resolutions,
        ratios=options(RATIO_FIELDS) or tiers.ratios,
    )


@dataclass(frozen=True)
class Wanted:
    """What an agent asks of a model, beyond words: each None is "any"."""

    duration: str | None = None
    resolution: str | None = None
    orientation: Orientation | None = None

    def allows(self, offers: Offers) -> bool:
        """False only when the model publishes its values and none fits (unpublished is not refused)."""
        for wanted, published in ((self.duration, offers.durations), (self.resolution, offers.resolutions)):
            if wanted is not None and published and not any(_same_number(v, wanted) for v in published):
                return False
        return not (self.orientation and offers.ratios and self.orientation not in offers.orientations)

    def arguments(self) -> dict[str, Any]:
        """The wanted values under every field name a tier may use for them."""
        found: dict[str, Any] = {}
        if self.duration is not None:
            found.update(dict.fromkeys(DURATION_FIELDS, self.duration))
        if self.resolution is not None:
            found.update(dict.fromkeys(RESOLUTION_FIELDS, self.resolution))
        return found


def _same_number(value: str, wanted: str | None) -> bool:
    try:
        return float(value.rstrip("s")) == float(str(wanted).rstrip("s"))
    except ValueError:
        return value.lower() == str(wanted).lower()


def _fits(tier: PriceTier, wanted: Mapping[str, Any]) -> bool:
    for key, value in tier.inputs.items():
        if key in wanted and not _same_number(value, str(wanted[key])):
            return False
    return True


def price_span(tiers: tuple[PriceTier, ...], wanted: Wanted | None = None) -> tuple[float, float] | None:
    """The cheapest and dearest price of one run, over the tiers that fit what is wanted (each tier
    with its own inputs); None when a fitting tier cannot be priced before the run (billed per
    second, per token…), or none fits."""
    asked = wanted.arguments() if wanted else {}
    figures: list[float] = []
    for tier in tiers:
        if not _fits(tier, asked):
            continue
        quote = cost_for(tier, {**asked, **tier.inputs})
        if quote.high is None:
            return None
        figures.append(quote.high)
    return (min(figures), max(figures)) if figures else None


ANYTHING = Wanted()
