"""Big preset files load (issue 12): one file of 10,000 presets and no aliases validates; a problem
deep inside it is still reported at its file:line:col; the alias guard counts only what aliases
add, and allows more in bigger documents."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from presetsync.cli import main
from presetsync.inputs import documents
from presetsync.inputs.documents import load_yaml, parse_yaml
from presetsync.inputs.nodes import ALIAS_FACTOR, MAX_ALIAS_VALUES
from presetsync.presets.validate import load_presets

COUNT = 10_000  # one file of this many presets validates
SMALLER = 2_000  # enough for positions read on demand


def _preset(i: int) -> dict:
    return {
        "preset": f"big_{i:05d}",
        "presettype": "avop",
        "description": f"preset {i}",
        "param": {
            "f": "mp4",
            "AUDIO": {"acodec": "aac", "ab": "128k", "ar": 44100},
            "VIDEO": {"vcodec": "h264", "vb": f"{500 + i % 4000}k", "vr": 25, "width": 1280, "height": 720},
        },
    }


def _write(path: Path, presets: list[dict]) -> str:
    text = yaml.dump({"presets": presets}, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), sort_keys=False)
    path.write_text(text)
    return text


def test_one_file_of_10000_presets_without_aliases_validates(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    _write(tmp_path / "big.yaml", [_preset(i) for i in range(COUNT)])
    assert main(["validate", "big.yaml"]) == 0
    assert capsys.readouterr().out == f"1 file, {COUNT} presets: ok\n"


@pytest.mark.parametrize("kept", [True, False], ids=["text-kept", "file-read-again"])
def test_problems_deep_inside_a_big_file_are_at_their_line_and_column(kept, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    if not kept:  # as for files over 1 MiB: positions are read from the file again when needed
        monkeypatch.setattr(documents, "_KEPT_TEXT", 0)
    presets = [_preset(i) for i in range(SMALLER)]
    presets[1_500]["param"]["VIDEO"]["vb"] = "99m"
    presets[1_800]["param"]["AUDIO"]["acodec"] = "aax"
    presets[-1]["preset"] = "big_00007"
    text = _write(tmp_path / "big.yaml", presets)
    lines = text.splitlines()

    def where(number: int, needle: str) -> str:
        """file:line:col of the first *needle* at or after line *number* (0-based)."""
        number = next(n for n in range(number, len(lines)) if needle in lines[n])
        return f"big.yaml:{number + 1}:{lines[number].index(needle) + 1}"

    first = lines.index("- preset: big_00007")
    second = lines.index("- preset: big_00007", first + 1)
    result = load_presets(["big.yaml"])
    assert [str(p) for p in result.problems] == [
        f"{where(first, 'big_00007')}: preset 'big_00007' is defined more than once: also at big.yaml:{second + 1}",
        f"{where(lines.index('- preset: big_01500'), '99m')}: VIDEO.vb 99m (= 99000000) is out of range: "
        "allowed are 100000 to 10000000",
        f"{where(lines.index('- preset: big_01800'), 'aax')}: AUDIO.acodec 'aax' is not one of aac, mp3 or copy; "
        "did you mean 'aac'?",
        f"{where(second, 'big_00007')}: preset 'big_00007' is defined more than once: also at big.yaml:{first + 1}",
    ]


def test_a_file_changed_after_loading_falls_back_to_the_positions_already_known(tmp_path, monkeypatch):
    monkeypatch.setattr(documents, "_KEPT_TEXT", 0)
    path = tmp_path / "web.yaml"
    path.write_text("presets:\n  - preset: a\n    param:\n      VIDEO: {vb: 1m}\n")
    doc = load_yaml(path)
    path.write_text("# edited meanwhile\n\n\n\n\n" + path.read_text())
    # the preset is where it was when loaded; what is below it was not read then: the preset stands in
    assert doc.positions.find(("presets", 0)) == (2, 5)
    assert doc.positions.find(("presets", 0, "param", "VIDEO", "vb")) == (2, 5)


def _written(text: str) -> int:
    """Nodes written in a YAML text: scalars, lists, mappings and aliases."""
    kinds = (yaml.ScalarEvent, yaml.SequenceStartEvent, yaml.MappingStartEvent, yaml.AliasEvent)
    return sum(isinstance(event, kinds) for event in yaml.parse(text))


def _aliases(copies: int, padding: int = 0) -> str:
    """An anchored list of 999 values (1,000 with the list), *copies* aliases of it (each adds
    999), and *padding* more written values."""
    return (
        f"base: &base [{', '.join(['x'] * 999)}]\n"
        f"copies: [{', '.join(['*base'] * copies)}]\n"
        f"padding: [{', '.join(['1'] * padding)}]\n"
    )


def test_the_alias_guard_counts_only_what_aliases_add():
    fits = MAX_ALIAS_VALUES // 999  # 200 aliases add 199,800 values
    doc = parse_yaml(_aliases(fits), "f.yaml")
    assert doc.problems == [] and len(doc.data["copies"]) == fits

    text = _aliases(fits + 1)
    doc = parse_yaml(text, "f.yaml")
    written = _written(text)
    limit = max(MAX_ALIAS_VALUES, ALIAS_FACTOR * written)
    assert doc.data is None
    assert [str(p) for p in doc.problems] == [
        f"f.yaml:1:1: the document expands to more than {written + limit} values through aliases "
        f"({written} written, at most {limit} more allowed); refused"
    ]
    assert (fits + 1) * 999 > limit >= fits * 999, "the message is true: the aliases add more than it allows"


def test_bigger_documents_may_alias_more():
    copies = 2 * MAX_ALIAS_VALUES // 999  # adds twice the fixed allowance
    refused = parse_yaml(_aliases(copies), "f.yaml")
    assert refused.data is None and "through aliases" in refused.problems[0].message
    padding = 2 * MAX_ALIAS_VALUES // ALIAS_FACTOR  # ten times this many written values allow it
    doc = parse_yaml(_aliases(copies, padding), "f.yaml")
    assert doc.problems == [] and len(doc.data["padding"]) == padding
