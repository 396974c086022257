"""The JSON Schemas: valid, documented for editors, and the catalog built from them matches the
API reference (ranges, defaults, wire types, documented vs inferred)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from presetsync.inputs import schemas
from presetsync.inputs.documents import load_yaml
from presetsync.presets import catalog

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "schemas"
EXAMPLES = ROOT / "examples"
GOOD = Path(__file__).resolve().parent / "fixtures" / "good"


def _raw(name: str) -> dict:
    return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))


def _properties(node: Any, path: str = "") -> Iterator[tuple[str, dict]]:
    """Every (path, schema) under a ``properties`` keyword, anywhere in the schema."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                for name, prop in value.items():
                    yield f"{path}/{name}", prop
                    yield from _properties(prop, f"{path}/{name}")
            else:
                yield from _properties(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _properties(item, f"{path}/{index}")


@pytest.mark.parametrize("name", ["preset-file.schema.json", "config.schema.json"])
def test_schema_is_valid_draft_2020_12(name: str):
    schema = _raw(name)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("name", ["preset-file.schema.json", "config.schema.json"])
def test_every_property_has_a_title_and_a_description_for_editors(name: str):
    missing = []
    root = _raw(name)
    for path, prop in _properties(root):
        target = catalog.resolve(prop, root)
        # the rule branches (if/then) only restate a property; they need no help text
        if "/if/" in path or "/then/" in path:
            continue
        if not target.get("title") or not target.get("description"):
            missing.append(path)
    assert missing == []


def test_schemas_load_through_the_package_or_the_source_tree():
    assert schemas.preset_file_schema() == _raw("preset-file.schema.json")
    assert schemas.config_schema() == _raw("config.schema.json")


def test_every_param_leaf_is_annotated_for_the_catalog():
    root = _raw("preset-file.schema.json")
    for name, spec in catalog.catalog().items():
        for field in spec.fields.values():
            assert field.kind in catalog.KINDS, (name, field.name)
            assert field.wire in ("string", "integer", "number"), (name, field.name)
            assert field.title and field.description, (name, field.name)
    # and catalog() refuses a leaf without annotation
    broken = json.loads(json.dumps(root))
    del broken["$defs"]["avopParam"]["properties"]["f"]["x-presetsync"]
    with pytest.raises(ValueError, match="x-presetsync"):
        catalog._walk_object(broken["$defs"]["avopParam"], broken, (), {}, {})


def test_presettypes_come_from_the_schema():
    assert catalog.presettypes() == ("avop", "avlogo", "avm3u8", "avsample", "avsnapshot", "avinfo")
    assert catalog.field_table("avinfo") == {}
    assert catalog.field_table("nonsense") == {}
    assert catalog.presettype_spec("nonsense") is None


def test_avop_catalog_matches_the_api_reference():
    avop = catalog.presettype_spec("avop")
    table = {f.name: f for f in avop.fields.values()}
    assert set(table) == {
        "f",
        "intelligentSwitch",
        "AUDIO.acodec",
        "AUDIO.ab",
        "AUDIO.ar",
        "AUDIO.an",
        "VIDEO.vcodec",
        "VIDEO.vb",
        "VIDEO.vr",
        "VIDEO.width",
        "VIDEO.height",
        "VIDEO.as",
        "VIDEO.shortSide",
        "VIDEO.rotate",
        "VIDEO.vn",
    }
    # section 2.1: documented ranges
    ranges = {name: (f.minimum, f.maximum) for name, f in table.items()}
    assert ranges["AUDIO.ab"] == (20000, 320000)
    assert ranges["AUDIO.ar"] == (8000, 96000)
    assert ranges["VIDEO.vr"] == (1, 60)
    assert ranges["VIDEO.vb"] == (100000, 10000000)
    assert ranges["VIDEO.rotate"] == (0, 360)
    assert table["VIDEO.rotate"].keywords == ("auto",)
    # section 6.2 #5: documented defaults (vn 0 is inferred and says so)
    assert avop.defaults() == {
        ("intelligentSwitch",): 0,
        ("AUDIO", "acodec"): "aac",
        ("AUDIO", "an"): 0,
        ("VIDEO", "vcodec"): "h264",
        ("VIDEO", "as"): 0,
        ("VIDEO", "vn"): 0,
    }
    assert "default" in table["VIDEO.vn"].inferred and not table["VIDEO.vn"].documented
    # section 6.1: documented wire types
    strings = {"f", "AUDIO.ab", "AUDIO.ar", "AUDIO.acodec", "VIDEO.vr", "VIDEO.vb", "VIDEO.vcodec", "VIDEO.rotate"}
    assert {n for n, f in table.items() if f.wire == "string"} == strings
    assert {n for n, f in table.items() if not f.documented} == {"VIDEO.vn"}
    assert {n for n, f in table.items() if f.kind == "bitrate"} == {"AUDIO.ab", "VIDEO.vb"}
    assert table["AUDIO.acodec"].enum == ("aac", "mp3", "copy")
    assert table["VIDEO.vcodec"].enum == ("h264", "h265", "copy")
    assert table["intelligentSwitch"].enum == (0, 1, 2)
    # SDK-only fields are not in the catalog but are known, to explain "unknown field"
    assert set(avop.known_extras) == {"clearmeta", "AUDIO.channels", "VIDEO.gop", "VIDEO.orientationAdapt"}


def test_sdk_derived_presettypes_are_marked_undocumented():
    for name in ("avlogo", "avm3u8", "avsample", "avsnapshot"):
        fields = catalog.presettype_spec(name).fields.values()
        assert fields and not any(f.documented for f in fields), name
    assert catalog.presettype_spec("avlogo").field("IMAGE.*.offsetX").kind == "number"
    assert catalog.presettype_spec("avlogo").field(("IMAGE", 0, "logoUrl")).kind == "string"


@pytest.mark.parametrize("value", ["64k", "128kb", "1.25M", "5m", "500000", "64K", "64KB", "10mb"])
def test_bitrate_pattern_accepts_the_documented_spellings(value: str):
    pattern = catalog.presettype_spec("avop").field("AUDIO.ab").pattern
    assert re.search(pattern, value)


@pytest.mark.parametrize("value", ["64 k", "k64", "64kbps", "1.5g", "-64k", "64k ", ""])
def test_bitrate_pattern_refuses_other_spellings(value: str):
    pattern = catalog.presettype_spec("avop").field("VIDEO.vb").pattern
    assert not re.search(pattern, value)


def _editor_validator() -> jsonschema.Draft202012Validator:
    """The whole schema, as an editor (yaml-language-server) uses it."""
    return jsonschema.Draft202012Validator(_raw("preset-file.schema.json"))


@pytest.mark.parametrize(
    "path", sorted((EXAMPLES / "presets").glob("*.yaml")) + sorted(GOOD.glob("*.y*ml")), ids=lambda p: p.name
)
def test_good_files_pass_the_schema_as_editors_see_it(path: Path):
    doc = load_yaml(path)
    assert doc.problems == []
    assert list(_editor_validator().iter_errors(doc.data)) == []


@pytest.mark.parametrize(
    "document",
    [
        {"preset": "web_720p", "presettype": "avop", "param": {"VIDEO": {"vbb": "1m"}}},
        {"preset": "web_720p", "presettype": "avopp", "param": {}},
        {"preset": "web-720p", "presettype": "avop", "param": {}},
        {"preset": "web_720p", "presettype": "avop", "param": {"VIDEO": {"shortSide": 360}}},
        {"preset": "web_720p", "presettype": "avop", "param": {"VIDEO": {"vb": "1 m"}}},
        {"preset": "web_720p", "presettype": "avop", "param": {"VIDEO": {"vr": 61}}},
        {"preset": "web_720p", "presettype": "avinfo", "param": {"f": "mp4"}},
        {"presets": [{"preset": "web_720p", "presettype": "avop"}]},
        {"presets": [], "extra": 1},
    ],
)
def test_bad_documents_fail_the_schema_as_editors_see_it(document: dict):
    assert list(_editor_validator().iter_errors(document)) != []


def test_examples_point_editors_at_the_schemas():
    for path in [*sorted((EXAMPLES / "presets").glob("*.yaml")), EXAMPLES / "presetsync.yaml"]:
        first = path.read_text(encoding="utf-8").splitlines()[0]
        match = re.fullmatch(r"# yaml-language-server: \$schema=(\S+)", first)
        assert match, path
        assert (path.parent / match.group(1)).resolve().is_file(), path


def test_config_schema_knows_the_same_presettypes():
    schema = _raw("config.schema.json")
    assert tuple(schema["properties"]["extra_fields"]["properties"]) == catalog.presettypes()


def test_example_config_passes_the_config_schema():
    doc = load_yaml(EXAMPLES / "presetsync.yaml")
    assert list(jsonschema.Draft202012Validator(_raw("config.schema.json")).iter_errors(doc.data)) == []
