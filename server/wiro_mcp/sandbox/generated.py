"""A generated catalog for the emulator (`wiro-mcp sandbox --extra-models N`): models of the kinds
Wiro hosts, with realistic parameter groups and `dynamicprice` tiers, so that discovery and scale
can be tried offline. The same N always gives the same models."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from wiro_mcp.catalog.spec import Input, ModelSpec, Option, PriceTier, Source

OWNERS = ("acme", "nova-labs", "pixelforge", "lumen", "orbit-ai", "kinetic", "vocalis", "mosaic")
ADJECTIVES = ("swift", "prime", "ultra", "lite", "pro", "turbo", "studio", "max", "air", "core")
SAMPLE = "https://cdn.wiro.ai/uploads/sampleinputs/"
Built = tuple[tuple[Input, ...], tuple[PriceTier, ...], dict[str, Any]]


def _select(name: str, values: list[str], default: str, label: str = "") -> Input:
    return Input(
        id=name,
        type="select",
        label=label or name,
        default=default,
        options=tuple(Option(value=v, label=v) for v in values),
    )


def _prompt(required: bool = True, help_text: str = "What to generate.") -> Input:
    return Input(id="prompt", type="textarea", label="Prompt", help=help_text, required=required)


def _seed() -> Input:
    return Input(id="seed", type="number", label="Seed", help="Fixed seed for repeatable results.")


def _file(name: str, help_text: str, kind: str = "fileinput", required: bool = True) -> Input:
    return Input(id=name, type=kind, label=name, help=help_text, required=required)  # pyright: ignore[reportArgumentType]


def _text_to_image(rng: random.Random) -> Built:
    inputs = (
        _prompt(),
        Input(id="negativePrompt", type="textarea", label="Negative prompt", help="What to leave out."),
        Input(id="width", type="range", label="Width", default=1024, min=256, max=2048, step=64),
        Input(id="height", type="range", label="Height", default=1024, min=256, max=2048, step=64),
        _select("outputFormat", ["png", "jpeg", "webp"], "png", "Output format"),
        _seed(),
    )
    base = round(rng.choice((0.01, 0.02, 0.03, 0.04)), 2)
    prices = (PriceTier(price=base, priceMethod="cp-pixel", priceExtra=base / 2),)
    return inputs, prices, {"prompt": "A lighthouse on a cliff at dusk, oil painting"}


def _video(rng: random.Random, from_image: bool) -> Built:
    durations = rng.choice((["5", "10"], ["4", "6", "8"], ["5"]))
    resolutions = ["480p", "720p", "1080p"]
    inputs: tuple[Input, ...] = (
        *((_file("inputImage", "First frame of the video."),) if from_image else ()),
        _prompt(required=not from_image, help_text="The motion and scene to generate."),
        _select("duration", durations, durations[0], "Duration (seconds)"),
        _select("resolution", resolutions, "720p", "Resolution"),
        _select("aspectRatio", ["16:9", "9:16", "1:1"], "16:9", "Aspect ratio"),
        Input(id="generateAudio", type="checkbox", label="Generate audio", default=False),
        _seed(),
    )
    rate = rng.choice((0.01, 0.02, 0.05))
    factor = {"480p": 1.0, "720p": 2.0, "1080p": 4.5}
    prices = tuple(
        PriceTier(inputs={"resolution": r, "duration": d}, price=round(rate * factor[r] * int(d), 4))
        for d in durations
        for r in resolutions
    )
    example: dict[str, Any] = {"prompt": "Waves roll onto a beach, slow pan"}
    if from_image:
        example["inputImage"] = SAMPLE + "sandbox-frame.png"
    return inputs, prices, example


def _image_to_image(rng: random.Random) -> Built:
    inputs = (
        _file("inputImage", "The image to edit."),
        _prompt(help_text="The change to make."),
        Input(id="strength", type="range", label="Strength", default=0.7, min=0, max=1, step=0.05),
        Input(id="enhance", type="checkbox", label="Enhance details", default=True),
    )
    prices = (PriceTier(price=round(rng.choice((0.02, 0.03, 0.05)), 2)),)
    return inputs, prices, {"inputImage": SAMPLE + "sandbox-photo.jpg", "prompt": "Make it snow"}


def _try_on(rng: random.Random) -> Built:
    inputs = (
        _file("inputImageHuman", "A photo of the person."),
        _file("inputImageClothes", "Up to 3 garments.", kind="combinefileinput"),
    )
    prices = tuple(
        PriceTier(inputs={"inputImageClothes": f"QUANTITY:{n}"}, price=round(0.05 * n, 2)) for n in (1, 2, 3)
    )
    example = {"inputImageHuman": SAMPLE + "human.jpg", "inputImageClothes": [SAMPLE + "shirt.jpg"]}
    return inputs, prices, example


def _speech(rng: random.Random) -> Built:
    inputs = (
        Input(id="prompt", type="textarea", label="Text", help="The text to speak.", required=True),
        _select("voice", ["alloy", "verse", "sage"], "alloy", "Voice"),
        Input(id="speed", type="range", label="Speed", default=1, min=0.5, max=2, step=0.1),
    )
    prices = (PriceTier(price=0.00002, priceMethod="cp-promptlength"),)
    return inputs, prices, {"prompt": "Hello from the sandbox."}


def _documents(rng: random.Random) -> Built:
    inputs = (
        _prompt(help_text="The question about the documents."),
        _file("inputDocumentMultiple", "Documents to read.", kind="multifileinput", required=False),
    )
    prices = (PriceTier(price=0.000002, priceMethod="cpt"),)
    return inputs, prices, {"prompt": "Summarise the attached report."}


def _chat(rng: random.Random) -> Built:
    inputs = (
        _prompt(help_text="The message to the model."),
        Input(
            id="system_prompt", type="textarea", label="System prompt", help="How the model should behave."
        ),
        Input(
            id="session_id",
            type="text",
            label="Session id",
            help="UUID of the conversation; reuse it to go on.",
        ),
        Input(id="user_id", type="text", label="User id", help="UUID of the user."),
        Input(id="temperature", type="range", label="Temperature", default=0.7, min=0, max=2, step=0.1),
    )
    prices = (PriceTier(price=round(rng.choice((0.000001, 0.000002, 0.000004)), 6), priceMethod="cpt"),)
    return inputs, prices, {"prompt": "What is quantum computing, in two sentences?"}


def _music(rng: random.Random) -> Built:
    inputs = (
        _prompt(help_text="The style, instruments and mood."),
        _select("duration", ["10", "30", "60"], "30", "Duration (seconds)"),
    )
    prices = tuple(
        PriceTier(inputs={"duration": d}, price=round(0.002 * int(d), 3)) for d in ("10", "30", "60")
    )
    return inputs, prices, {"prompt": "Calm lo-fi piano with soft rain"}


def _transcribe(rng: random.Random) -> Built:
    inputs = (
        _file("inputAudio", "The recording to transcribe."),
        _select("language", ["auto", "en", "tr", "de"], "auto", "Language"),
    )
    prices = (PriceTier(price=0.006, priceMethod="cps"),)
    return inputs, prices, {"inputAudio": SAMPLE + "sandbox-speech.wav"}


def _to_3d(rng: random.Random) -> Built:
    inputs = (
        _file("inputImage", "A photo of the object."),
        # Required, with a published default: Wiro needs it sent, the agent need not give it.
        Input(
            id="outputFormat",
            type="select",
            label="Output format",
            default="glb",
            required=True,
            options=(Option(value="glb", label="glb"), Option(value="obj", label="obj")),
        ),
        Input(
            id="textureSize", type="range", label="Texture size", default=1024, min=512, max=2048, step=512
        ),
    )
    prices = (PriceTier(price=round(rng.choice((0.05, 0.1)), 2)),)
    return inputs, prices, {"inputImage": SAMPLE + "sandbox-chair.png"}


def _realtime(rng: random.Random) -> Built:
    inputs = (
        _select("voice", ["marin", "cedar"], "marin", "Voice"),
        Input(
            id="system_instructions", type="textarea", label="Instructions", help="How the assistant behaves."
        ),
    )
    prices = (PriceTier(price=0.0001, priceMethod="cps"),)
    return inputs, prices, {"voice": "marin"}


def _text_to_video(rng: random.Random) -> Built:
    return _video(rng, False)


def _image_to_video(rng: random.Random) -> Built:
    return _video(rng, True)


KINDS: tuple[tuple[str, str, str, Callable[[random.Random], Built]], ...] = (
    ("text-to-image", "image", "Text to Image", _text_to_image),
    ("text-to-video", "video", "Text to Video", _text_to_video),
    ("image-to-video", "video", "Image to Video", _image_to_video),
    ("image-to-image", "image", "Image Editing", _image_to_image),
    ("virtual-try-on", "image", "Virtual Try-On", _try_on),
    ("text-to-speech", "audio", "Text to Speech", _speech),
    ("llm", "text", "Document Chat", _documents),
    ("chat", "text", "Chat", _chat),
    ("text-to-music", "audio", "Music", _music),
    ("speech-to-text", "text", "Speech to Text", _transcribe),
    ("image-to-3d", "3d", "Image to 3D", _to_3d),
    ("realtime-voice", "audio", "Realtime Voice", _realtime),
)


def _odd_slug(n: int, owner: str, project: str) -> tuple[str, str, tuple[str, str]]:
    """Some slugs as odd as Wiro's real catalog has them: the clean slug (what Run takes) and the
    slug as listed (`slugowner`/`slugproject`), with spaces, dots, capitals, a leading space, or a
    name too long for a tool name."""
    match n % 15:
        case 3:  # listed with spaces, like "Virtual Try-On"
            return owner, project, (owner, project.replace("-", " ").title())
        case 7:  # capitals and dots in the clean slug itself
            odd = f"{project.title()}.V2.{n % 10}"
            return owner, odd, (owner, odd)
        case 11:  # a leading space in the listed owner
            return owner, project, (f" {owner}", project)
        case 14:  # longer than a tool name may be
            long = f"{project}-" + "extended-context-edition-" * 3 + "final"
            return owner, long, (owner, long)
        case _:
            return owner, project, (owner, project)


def generated_models(count: int, seed: int = 7) -> list[tuple[ModelSpec, tuple[str, str]]]:
    """Specs, each with its slug as Wiro's listing shows it."""
    rng = random.Random(seed)
    models: list[tuple[ModelSpec, tuple[str, str]]] = []
    for n in range(count):
        category, media, words, build = KINDS[n % len(KINDS)]
        owner, project, listed = _odd_slug(
            n,
            OWNERS[(n // len(KINDS)) % len(OWNERS)],
            f"{category}-{ADJECTIVES[n % len(ADJECTIVES)]}-{n + 1}",
        )
        adjective = ADJECTIVES[n % len(ADJECTIVES)]
        inputs, prices, example = build(rng)
        spec = ModelSpec(
            owner=owner,
            project=project,
            title=f"{owner.replace('-', ' ').title()} {words} {adjective.title()} {n + 1}",
            description=f"Sandbox {words.lower()} model number {n + 1} by {owner}, generated for trying the catalog.",
            categories=("sandbox", category),
            media=media,  # pyright: ignore[reportArgumentType]
            inputs=inputs,
            examples=(example,),
            prices=prices,
            source=Source(kind="tool_detail", dialect="detail"),
        )
        models.append((spec, listed))
    return models


def generated_specs(count: int, seed: int = 7) -> list[ModelSpec]:
    return [spec for spec, _ in generated_models(count, seed)]
