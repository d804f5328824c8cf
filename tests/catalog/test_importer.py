from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PAGES, REPO
from wiro_mcp.catalog.importer import import_page, import_tool_detail
from wiro_mcp.catalog.load import load_spec_file
from wiro_mcp.catalog.schema import tool_name
from wiro_mcp.errors import SpecError

PAGE_FILES = sorted(PAGES.glob("0*.txt"))


def as_multiline(flat: str) -> str:
    """The same page as ordinary multi-line markdown: headings, list items and keys on their own lines."""
    text = re.sub(r" (#{2,3} )", r"\n\n\1", flat)
    text = re.sub(r" (Tool|Model) (name|description|cover|categories|tags):", r"\n\1 \2:", text)
    text = re.sub(r" (Run Task Endpoint|Get Task Detail Endpoint)", r"\n\1", text)
    text = re.sub(r" - name: ", r"\n- name: ", text)
    text = re.sub(r" (label|help|type|default|options): ", r"\n  \1: ", text)
    text = re.sub(r" - value: ", r"\n    - value: ", text)
    text = re.sub(r" ```", "\n```\n", text)
    return text


def test_every_bundled_model_has_its_page_fixture() -> None:
    imported = {
        tool_name(s.owner, s.project) for s in (import_page(p.read_text(), p.name) for p in PAGE_FILES)
    }
    assert imported == {p.stem for p in (REPO / "tools").glob("*.json")}


@pytest.mark.parametrize("page", PAGE_FILES, ids=lambda p: p.name[:3])
@pytest.mark.parametrize("form", ["flattened", "multi-line"])
def test_import_reproduces_the_imported_part_of_the_catalog_file(page: Path, form: str) -> None:
    text = page.read_text(encoding="utf-8")
    if form == "multi-line":
        text = as_multiline(text)
        assert text.count("\n") > 30
    spec = import_page(text, page.name)
    bundled = load_spec_file(REPO / "tools" / f"{tool_name(spec.owner, spec.project)}.json")
    assert spec.imported_part() == bundled.imported_part()


def test_reve_endpoint_slug_wins_over_the_page_title() -> None:
    spec = import_page((PAGES / "004_fc3d0069ecbfbac6.txt").read_text(), "reve")
    assert (spec.owner, spec.project, spec.title) == ("reve", "generate", "reve/Generate")
    assert spec.source.dialect == "model"


def test_examples_name_file_inputs_by_their_url_field() -> None:
    spec = import_page((PAGES / "001_c65683358ea8b2d8.txt").read_text(), "p")
    assert all("inputImage" not in e for e in spec.examples)
    assert all(str(e["inputImageUrl"]).startswith("https://") for e in spec.examples)


@pytest.mark.parametrize(
    ("page", "message"),
    [
        ("just some text", "no '## Basic tool info' section"),
        ("## Basic tool info Tool name: a/b Tool description: x", "Run Task Endpoint"),
        (
            "## Basic tool info Tool name: a/b Run Task Endpoint (POST): https://api.wiro.ai/v1/Run/a/b",
            "no '## Tool Inputs:' or '## Model Inputs:' section",
        ),
        (
            "## Basic tool info Tool name: a/b Run Task Endpoint (POST): https://x/v1/Run/a/b ## Tool Inputs: - name: x label: X",
            "input 'x' has no type",
        ),
        (
            "## Basic tool info Tool name: a/b Run Task Endpoint (POST): https://x/v1/Run/a/b ## Tool Inputs: - name: r label: R help: h type: select default: 1",
            "select input 'r' lists no options",
        ),
        (
            "## Basic tool info Tool name: a/b Run Task Endpoint (POST): https://x/v1/Run/a/b ## Tool Inputs: - name: r label: R help: h type: slider default: 1",
            "unsupported type 'slider'",
        ),
    ],
)
def test_unreadable_pages_say_what_is_missing(page: str, message: str) -> None:
    with pytest.raises(SpecError, match=re.escape(message)):
        import_page(page, "bad.txt")


def test_tool_detail_answer_imports() -> None:
    answer = {
        "result": True,
        "tool": [
            {
                "title": "Flux",
                "slugowner": "black-forest-labs",
                "slugproject": "flux-dev",
                "categories": '["text-to-image"]',
                "dynamicprice": '[{"inputs": {}, "price": 0.000585, "priceMethod": "cps"}]',
                "approximatelycost": "0.003510",
                "parameters": [
                    {
                        "title": "Inputs",
                        "items": [
                            {"id": "inputImage", "type": "fileinput", "label": "Image", "required": "true"},
                            {"id": "steps", "type": "range", "min": "1", "max": "50", "default": "28"},
                            {
                                "id": "size",
                                "type": "select",
                                "options": [{"label": "Square", "value": "1:1"}],
                            },
                        ],
                    }
                ],
            }
        ],
    }
    spec = import_tool_detail(answer)
    assert spec.slug == "black-forest-labs/flux-dev"
    assert [(i.id, i.type, i.required) for i in spec.inputs] == [
        ("inputImage", "fileinput", True),
        ("steps", "range", False),
        ("size", "select", False),
    ]
    assert spec.inputs[1].min == 1 and spec.inputs[1].max == 50 and spec.inputs[1].default == 28
    assert spec.prices[0].method == "cps" and spec.approximate_cost == 0.00351


def test_reimport_keeps_hand_curation(tmp_path: Path) -> None:
    target = tmp_path / "pixverse_image_to_video_v4.json"
    target.write_text((REPO / "tools" / target.name).read_text())
    page = PAGES / "002_498ee004dcda7d96.txt"
    done = subprocess.run(
        [sys.executable, "-m", "wiro_mcp", "import", str(page), "--into", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "curation kept" in done.stderr
    data = json.loads(target.read_text())
    assert data["curation"]["inputs"]["inputImageUrl"]["required"] is True


def test_import_of_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "wiro_mcp", "import", str(tmp_path / "nope.txt")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "nope.txt: cannot read" in done.stderr


def test_a_default_no_json_can_carry_is_no_default() -> None:
    """Python's JSON reader takes `Infinity` and `NaN`: a Tool/Detail with one as a default (or inside
    one) gets no default, so its schema stays JSON and nothing odd is sent to Run."""
    answer = json.loads(
        '{"cleanslugowner": "acme", "cleanslugproject": "gen", "parameters": [{"items": ['
        '{"id": "strength", "type": "number", "default": Infinity},'
        '{"id": "scale", "type": "range", "default": "-inf"},'
        '{"id": "sizes", "type": "text", "default": [1, NaN]},'
        '{"id": "steps", "type": "number", "default": 30}]}]}'
    )
    spec = import_tool_detail(answer)
    defaults = {i.id: i.default for i in spec.inputs}
    assert defaults == {"strength": None, "scale": None, "sizes": None, "steps": 30}
