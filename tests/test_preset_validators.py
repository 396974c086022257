"""One validator per presettype (issue 12): the same problems as the whole-file schema, and the
quick yes/no check refuses exactly the presets the full report has something to say about."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import jsonschema
import pytest

from presetsync.inputs.documents import YamlDocument, load_yaml
from presetsync.inputs.schemas import preset_file_schema
from presetsync.presets.catalog import presettypes
from presetsync.presets.preset_messages import _PresetTranslator
from presetsync.presets.validators import _file_validators, preset_validators

FIXTURES = Path(__file__).resolve().parent / "fixtures"
EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "presets"
FILES = sorted(
    path
    for folder in (FIXTURES / "bad", FIXTURES / "good", EXAMPLES)
    for path in folder.rglob("*")
    if path.suffix in (".yaml", ".yml")
)


def _preset_docs() -> Iterator[tuple[Path, YamlDocument]]:
    for path in FILES:
        doc = load_yaml(path)
        if isinstance(doc.data, Mapping):
            yield path, doc


def _items(doc: YamlDocument) -> list[tuple[tuple, object]]:
    data = doc.data
    if "presets" not in data:
        return [((), data)]
    items = data["presets"] if isinstance(data["presets"], list) else []
    return [(("presets", index), item) for index, item in enumerate(items)]


def _type_of(item: object) -> str | None:
    presettype = item.get("presettype") if isinstance(item, Mapping) else None
    return presettype if presettype in presettypes() else None


@pytest.mark.parametrize(("path", "doc"), list(_preset_docs()), ids=lambda x: getattr(x, "name", ""))
def test_per_presettype_validators_report_what_the_whole_file_schema_reports(path, doc):
    multi = "presets" in doc.data
    root = preset_file_schema()
    whole = jsonschema.Draft202012Validator(
        {"$schema": root["$schema"], "$defs": root["$defs"], "$ref": f"#/$defs/{'presetsFile' if multi else 'preset'}"}
    )
    before = set(_PresetTranslator(doc, multi, whole.schema).problems(whole.iter_errors(doc.data)))
    # the file's own shape, then its items one by one, each with its presettype's validator
    after = set()
    if multi:
        shell = _file_validators().full
        after |= set(_PresetTranslator(doc, multi, shell.schema).problems(shell.iter_errors(doc.data)))
    for base, item in _items(doc):
        full = preset_validators(_type_of(item)).full
        after |= set(_PresetTranslator(doc, multi, full.schema, prefix=base).problems(full.iter_errors(item)))
    assert after == before


@pytest.mark.parametrize(("path", "doc"), list(_preset_docs()), ids=lambda x: getattr(x, "name", ""))
def test_the_quick_check_refuses_exactly_what_the_full_report_explains(path, doc):
    multi = "presets" in doc.data
    for base, item in _items(doc):
        validators = preset_validators(_type_of(item))
        translator = _PresetTranslator(doc, multi, validators.full.schema, prefix=base)
        explained = translator.problems(validators.full.iter_errors(item))
        if validators.quick.is_valid(item):
            assert explained == [], base
        else:  # a value the loader refused (a !!python tag, say) is None here, and reported already
            assert explained or any(bad[: len(base)] == base for bad in doc.bad_paths), base


def test_each_presettype_is_checked_against_its_own_parameters_only():
    avop = preset_validators("avop").full.schema
    assert [branch["properties"]["param"]["$ref"] for branch in avop["allOf"]] == ["#/$defs/avopParam"]
    assert "allOf" not in preset_validators(None).full.schema  # no presettype: no parameters to check
    item = {"preset": "p1", "presettype": "avop", "param": {"f": "mp4", "IMAGE": []}}
    assert not preset_validators("avop").quick.is_valid(item)  # IMAGE is avlogo's, not avop's
    item["presettype"] = "avlogo"
    assert not preset_validators("avlogo").quick.is_valid({**item, "param": {"f": "mp4"}})


# Loads and checks the files given, then says how many problems it found and whether it
# imported jsonschema.
PROBE = """
import sys
from presetsync.presets.validate import load_presets
result = load_presets(sys.argv[1:])
print(len(result.problems), "jsonschema" in sys.modules)
"""


def test_jsonschema_is_imported_only_for_a_file_with_schema_problems(tmp_path: Path):
    """The quick checks are compiled: valid files cost no jsonschema import (about 70 ms)."""
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text("presets:\n  - preset: web_720p\n    presettype: avop\n    param: {f: mp4, VIDEO: {vb: 2m}}\n")
    bad.write_text("presets:\n  - preset: web_720p\n    presettype: avop\n    param: {f: mp4, VIDEO: {vbx: 2m}}\n")

    def probe(path: Path) -> str:
        run = subprocess.run([sys.executable, "-c", PROBE, str(path)], capture_output=True, text=True, check=True)
        return run.stdout.strip()

    assert probe(good) == "0 False"
    assert probe(bad) == "1 True"
