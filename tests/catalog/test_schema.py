from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import REPO
from wiro_mcp.catalog.load import CatalogEntry, build_catalog, load_catalog, parse_spec
from wiro_mcp.catalog.schema import tool_name
from wiro_mcp.errors import SpecError

SNAPSHOT = Path(__file__).resolve().parent.parent / "snapshots" / "tool_schemas.json"


@pytest.mark.parametrize(
    ("owner", "project", "name"),
    [
        ("Wan-AI", "Wan2.2-TI2V-5B-Image-to-Video-Fast", "wan_ai_wan2_2_ti2v_5b_image_to_video_fast"),
        ("Runway", "image-to-video-gen4-turbo", "runway_image_to_video_gen4_turbo"),
        ("reve", "generate", "reve_generate"),
    ],
)
def test_tool_names_follow_the_rule(owner: str, project: str, name: str) -> None:
    assert tool_name(owner, project) == name


def test_every_catalog_file_is_named_after_its_tool(catalog: dict[str, CatalogEntry]) -> None:
    for name, entry in catalog.items():
        assert name == tool_name(entry.spec.owner, entry.spec.project)
        assert Path(entry.origin).stem == name


def test_schemas_match_the_snapshot(catalog: dict[str, CatalogEntry]) -> None:
    current = {name: e.input_schema for name, e in sorted(catalog.items())}
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(json.dumps(current, indent=2, ensure_ascii=False) + "\n")
    assert current == json.loads(SNAPSHOT.read_text())


def test_every_option_on_the_pages_is_an_enum_value(catalog: dict[str, CatalogEntry]) -> None:
    for entry in catalog.values():
        props = entry.input_schema["properties"]
        for item in entry.spec.inputs:
            if item.type == "select":
                assert {o.value for o in item.options} <= set(props[item.id]["enum"])
    runway = catalog["runway_image_to_image_gen4_image"].input_schema["properties"]
    assert len(runway["ratio"]["enum"]) == 16
    pixverse = catalog["pixverse_image_to_video_v4"].input_schema["properties"]
    assert pixverse["quality"]["enum"] == ["360p", "540p", "720p", "1080p"]
    assert "360p = 360p(Turbo)" in pixverse["quality"]["description"]


def test_odd_defaults_are_kept_only_where_valid(catalog: dict[str, CatalogEntry]) -> None:
    runway = catalog["runway_image_to_image_gen4_image"].input_schema["properties"]
    assert runway["seed"]["type"] == "number" and "default" not in runway["seed"]  # page says `false`
    pixverse = catalog["pixverse_image_to_video_v4"].input_schema["properties"]
    assert pixverse["Watermark"]["default"] == "false"
    assert pixverse["style"]["enum"][0] == "" and "default" not in pixverse["style"]
    wan = catalog["wan_ai_wan2_2_ti2v_5b_image_to_video_fast"].input_schema["properties"]
    assert wan["aspectRatio"]["default"] == "Default"
    assert wan["seed"] == {
        "type": "string",
        "description": "Seed to control the randomness of the generated video.",
        "default": "42",
    }


def test_placeholder_texts_never_reach_the_agent(catalog: dict[str, CatalogEntry]) -> None:
    text = json.dumps([e.input_schema for e in catalog.values()])
    assert "-help" not in text
    assert "input-image-url" not in text


def test_image_references_are_explained(catalog: dict[str, CatalogEntry]) -> None:
    prompt = catalog["runway_image_to_image_gen4_image"].input_schema["properties"]["prompt"]["description"]
    assert "@image1 = inputImageUrl" in prompt and "@image3 = inputImage3Url" in prompt


def test_schema_is_closed_and_has_examples(catalog: dict[str, CatalogEntry]) -> None:
    for entry in catalog.values():
        assert entry.input_schema["additionalProperties"] is False
        assert entry.input_schema["examples"], entry.name
        assert "task_wait" not in entry.description  # the MCP layer adds it (tasks and catalog name no tool)


def test_descriptions_start_with_what_an_agent_chooses_by(catalog: dict[str, CatalogEntry]) -> None:
    first = {name: e.description.splitlines()[0] for name, e in catalog.items()}
    # Aspect ratios in one vocabulary over every model (each model's own values stay in its enum).
    assert first["reve_generate"].startswith("text → image · vertical|horizontal|square ·")
    assert "16:9" in first["wan_ai_wan2_2_ti2v_5b_image_to_video_fast"]  # "Default" is no orientation
    turbo = first["runway_image_to_video_gen4_turbo"]
    assert turbo.startswith("text+image → video") and "5|10 s" in turbo and "needs a start image" in turbo
    assert all(line.endswith(("price unknown", "per run")) for line in first.values())


def test_the_one_example_never_misleads(catalog: dict[str, CatalogEntry]) -> None:
    # reve's page example (and default prompt) is an edit instruction, on a text-to-image model.
    reve = catalog["reve_generate"]
    assert reve.spec.inputs[0].default.startswith("Make the shirt")
    (example,) = reve.input_schema["examples"]
    assert "Make the shirt" not in example["prompt"]
    assert all(len(e.input_schema["examples"]) == 1 for e in catalog.values())


def test_a_name_clash_is_an_error(tmp_path: Path) -> None:
    original = REPO / "tools" / "reve_generate.json"
    clash = tmp_path / "reve_copy.json"
    clash.write_text(original.read_text().replace('"owner": "reve"', '"owner": "Reve"'))
    with pytest.raises(SpecError, match="clashes with"):
        build_catalog([original, clash])


def test_a_malformed_spec_names_the_file_and_the_field() -> None:
    data = json.loads((REPO / "tools" / "reve_generate.json").read_text())
    data["inputs"][1]["type"] = "slider"
    data["surprise"] = 1
    with pytest.raises(SpecError) as caught:
        parse_spec(json.dumps(data), "tools/broken.json")
    message = str(caught.value)
    assert message.startswith("tools/broken.json:")
    assert "field inputs.1.type" in message and "field surprise" in message


def test_bad_json_is_reported_with_its_position() -> None:
    with pytest.raises(SpecError, match=r"x.json: not valid JSON \(line 1"):
        parse_spec("{", "x.json")


def test_extra_folder_and_allow_list(tmp_path: Path) -> None:
    data = json.loads((REPO / "tools" / "reve_generate.json").read_text())
    data["owner"], data["project"] = "acme", "painter"
    (tmp_path / "acme.json").write_text(json.dumps(data))
    names = load_catalog([tmp_path], allow=["acme_*", "reve_*"])
    assert sorted(names) == ["acme_painter", "reve_generate"]


def test_a_malformed_file_stops_the_server_at_start(tmp_path: Path) -> None:
    import subprocess
    import sys

    (tmp_path / "bad.json").write_text('{"owner": "x"}')
    done = subprocess.run(
        [sys.executable, "-m", "wiro_mcp", "tools", "--catalog-dir", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "bad.json" in done.stderr and "field project" in done.stderr


def test_a_spec_may_not_take_a_name_of_the_servers_own_tools(tmp_path: Path) -> None:
    original = REPO / "tools" / "reve_generate.json"
    taken = tmp_path / "task_status.json"
    taken.write_text(
        original.read_text()
        .replace('"owner": "reve"', '"owner": "task"')
        .replace('"project": "generate"', '"project": "status"')
    )
    with pytest.raises(SpecError, match="taken by one of the server's own tools"):
        build_catalog([taken], reserved={"task_status"})
