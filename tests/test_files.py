"""The YAML loader: plain data, positions of keys and values, and every problem at its place."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from presetsync.inputs.discovery import discover
from presetsync.inputs.documents import load_yaml, parse_yaml
from presetsync.inputs.positions import Positions
from presetsync.inputs.problems import Problem


def _problems(doc) -> list[str]:
    return [str(p) for p in doc.problems]


TEXT = """\
presets:
  - preset: web_720p
    param:
      VIDEO: {vb: 2m, vr: 25}
      AUDIO:
        ab: 64k
"""


def test_positions_of_keys_and_values_are_one_based():
    doc = parse_yaml(TEXT, "f.yaml")
    assert doc.problems == []
    pos = doc.positions
    assert pos.key(("presets",)) == (1, 1)
    assert pos.value(("presets", 0)) == (2, 5)
    assert pos.key(("presets", 0, "preset")) == (2, 5)
    assert pos.value(("presets", 0, "preset")) == (2, 13)
    assert pos.key(("presets", 0, "param", "VIDEO", "vb")) == (4, 15)
    assert pos.value(("presets", 0, "param", "VIDEO", "vb")) == (4, 19)
    assert pos.value(("presets", 0, "param", "VIDEO", "vr")) == (4, 27)
    assert pos.key(("presets", 0, "param", "AUDIO", "ab")) == (6, 9)
    assert pos.value(("presets", 0, "param", "AUDIO", "ab")) == (6, 13)


def test_every_key_and_value_has_a_position():
    doc = parse_yaml(TEXT, "f.yaml")

    def paths(data, prefix=()):
        yield prefix
        if isinstance(data, dict):
            for k, v in data.items():
                yield from paths(v, (*prefix, k))
        elif isinstance(data, list):
            for i, v in enumerate(data):
                yield from paths(v, (*prefix, i))

    for path in paths(doc.data):
        assert path in doc.positions.values
        if path and isinstance(path[-1], str):
            assert path in doc.positions.keys


def test_find_falls_back_to_the_nearest_ancestor_key():
    doc = parse_yaml(TEXT, "f.yaml")
    assert doc.positions.find(("presets", 0, "param", "VIDEO", "rotate")) == (4, 7)
    assert doc.positions.find(("presets", 0, "param", "VIDEO", "vb"), key=True) == (4, 15)
    assert doc.positions.find(("nothing", "here")) == (1, 1)
    assert Positions().find(("a",)) == (1, 1)


def test_data_is_plain_json_like():
    doc = parse_yaml("on: yes\n1: 2\nnull: ~\nwhen: 2016-08-16 11:13:29\nday: 2016-08-16\nf: 1.5\n", "f.yaml")
    assert doc.problems == []
    assert doc.data == {"on": True, "1": 2, "null": None, "when": "2016-08-16 11:13:29", "day": "2016-08-16", "f": 1.5}
    assert all(isinstance(k, str) for k in doc.data)


def test_duplicate_key_reports_the_second_and_names_the_first_line():
    doc = parse_yaml("a: 1\nb:\n  c: 1\n  d: 2\n  c: 3\n", "f.yaml")
    assert _problems(doc) == [
        "f.yaml:5:3: duplicate key 'c' in the same mapping (first defined at line 3); YAML keeps only one of them"
    ]
    assert doc.data == {"a": 1, "b": {"c": 3, "d": 2}}
    assert doc.positions.value(("b", "c")) == (5, 6)


def test_duplicate_keys_in_flow_mappings_and_same_names_in_different_mappings():
    doc = parse_yaml("a: {x: 1, x: 2}\nb: {x: 1}\nc: [{x: 1}, {x: 2}]\n", "f.yaml")
    assert _problems(doc) == [
        "f.yaml:1:11: duplicate key 'x' in the same mapping (first defined at line 1); YAML keeps only one of them"
    ]


@pytest.mark.parametrize(
    ("text", "where", "words"),
    [
        ("a: 1\n b: 2\n", "2:3", "mapping values are not allowed here"),
        ("a: [1, 2\nb: 3\n", "2:2", "expected ',' or ']'"),
        ("a: 'open\n", "2:1", "found unexpected end of stream"),
        ("a:\n\tb: 1\n", "2:1", "found character '\\t' that cannot start any token"),
        ("a: *nope\n", "1:4", "found undefined alias 'nope'"),
        ("- a\nb: 1\n", "2:1", "expected <block end>"),
    ],
)
def test_syntax_errors_are_reported_at_their_mark(text: str, where: str, words: str):
    doc = parse_yaml(text, "f.yaml")
    assert doc.data is None
    assert len(doc.problems) == 1
    assert str(doc.problems[0]).startswith(f"f.yaml:{where}: YAML syntax error: ")
    assert words in doc.problems[0].message


def test_non_utf8_bytes_are_reported_at_the_first_bad_byte():
    raw = "a: 1\nb: ünïcode ok\n".encode() + b"c: caf\xe9\n"
    doc = parse_yaml(raw, "f.yaml")
    assert _problems(doc) == ["f.yaml:3:7: the file is not UTF-8 text: byte 0xe9 cannot be decoded here"]
    assert doc.data is None


def test_column_of_a_bad_byte_counts_characters_not_bytes():
    doc = parse_yaml("k: 日本".encode() + b"\xff\n", "f.yaml")
    assert (doc.problems[0].line, doc.problems[0].col) == (1, 6)


def test_utf16_is_not_utf8():
    doc = parse_yaml("a: 1\n".encode("utf-16"), "f.yaml")
    assert (doc.problems[0].line, doc.problems[0].col) == (1, 1)
    assert "not UTF-8" in doc.problems[0].message


def test_a_utf8_byte_order_mark_is_accepted():
    doc = parse_yaml(b"\xef\xbb\xbfa: 1\n", "f.yaml")
    assert doc.problems == [] and doc.data == {"a": 1}
    assert doc.positions.key(("a",)) == (1, 1)


def test_control_characters_are_reported_at_their_position():
    doc = parse_yaml("a: 1\nb: x\x07y\n", "f.yaml")
    assert [(p.line, p.col) for p in doc.problems] == [(2, 5)]
    assert "U+0007" in doc.problems[0].message


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("a: !!python/object/apply:os.system ['touch /tmp/presetsync-pwned']\n", "!!python/object/apply:os.system"),
        ("a: !!python/object:builtins.dict {x: 1}\n", "!!python/object:builtins.dict"),
        ("a: !!python/name:os.system\n", "!!python/name:os.system"),
        ("a: !!python/tuple [1, 2]\n", "!!python/tuple"),
        ("a: !Ref other\n", "!Ref"),
        ("a: !!binary aGVsbG8=\n", "!!binary"),
        ("a: !!set {x, y}\n", "!!set"),
        ("a: !!omap [x: 1]\n", "!!omap"),
    ],
)
def test_tags_that_are_not_plain_data_are_refused(text: str, tag: str):
    doc = parse_yaml(text, "f.yaml")
    assert _problems(doc) == [
        f"f.yaml:1:4: tag {tag!r} is not allowed: only plain YAML data is read "
        "(strings, numbers, booleans, null, lists and mappings)"
    ]
    assert doc.data == {"a": None}
    assert doc.is_bad(("a",)) and doc.is_bad(("a", "x")) and not doc.is_bad(("b",))
    assert not Path("/tmp/presetsync-pwned").exists()


def test_refused_tags_on_keys_and_in_lists_are_all_reported():
    doc = parse_yaml("!Key k: 1\nl: [1, !x 2, !y 3]\nok: !!str 5\n", "f.yaml")
    assert [(p.line, p.col) for p in doc.problems] == [(1, 1), (2, 8), (2, 14)]
    assert doc.data == {"l": [1, None, None], "ok": "5"}


def test_explicit_plain_tags_are_fine_but_must_fit():
    doc = parse_yaml("a: !!str 64\nb: !!int '7'\nc: !!int seven\n", "f.yaml")
    assert doc.data == {"a": "64", "b": 7, "c": None}
    assert _problems(doc) == ["f.yaml:3:4: 'seven' is not a valid !!int value"]


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "  # indented comment\n\n# another\n"])
def test_empty_files_say_so(text: str):
    doc = parse_yaml(text, "f.yaml")
    assert doc.empty and doc.data is None
    assert _problems(doc) == ["f.yaml:1:1: the file is empty (no YAML document, only comments or blank lines)"]


def test_empty_files_may_be_allowed():
    doc = parse_yaml("# nothing\n", "f.yaml", allow_empty=True)
    assert doc.problems == [] and doc.data is None and doc.empty


def test_a_second_document_is_refused():
    doc = parse_yaml("a: 1\n---\nb: 2\n", "f.yaml")
    assert _problems(doc) == ["f.yaml:2:1: a file holds one YAML document, but a second one ('---') starts here"]


def test_anchors_aliases_and_merge_keys():
    text = "base: &b {ab: 64k, ar: 44100}\nx:\n  <<: *b\n  ar: 48000\ny: *b\n"
    doc = parse_yaml(text, "f.yaml")
    assert doc.problems == []
    assert doc.data["x"] == {"ar": 48000, "ab": "64k"}
    assert doc.data["y"] == {"ab": "64k", "ar": 44100}
    # explicit keys keep their own position; merged keys point at the anchored original
    assert doc.positions.key(("x", "ar")) == (4, 3)
    assert doc.positions.key(("x", "ab")) == (1, 11)
    assert doc.positions.value(("y",)) == (1, 7)


def test_merge_of_several_sources_prefers_the_first():
    text = "a: &a {k: 1}\nb: &b {k: 2, m: 3}\nc:\n  <<: [*a, *b]\n"
    assert parse_yaml(text, "f.yaml").data["c"] == {"k": 1, "m": 3}


def test_a_merge_of_a_scalar_is_reported():
    doc = parse_yaml("a: &a 5\nb:\n  <<: *a\n", "f.yaml")
    assert [p.message for p in doc.problems] == ["a merge key (<<) takes a mapping or a list of mappings"]


def test_recursive_aliases_are_refused():
    doc = parse_yaml("a: &a [1, *a]\n", "f.yaml")
    assert [p.message for p in doc.problems] == ["recursive alias: a value cannot contain itself"]
    assert doc.data == {"a": [1, None]}


def test_alias_bombs_are_refused_quickly():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    started = time.monotonic()
    doc = parse_yaml("\n".join(lines) + "\n", "f.yaml")
    assert time.monotonic() - started < 5
    assert doc.data is None
    assert "expands to more than" in doc.problems[0].message


def test_non_scalar_keys_are_reported():
    doc = parse_yaml("? [a, b]\n: 1\nc: 2\n", "f.yaml")
    assert doc.data == {"c": 2}
    assert _problems(doc) == ["f.yaml:1:3: a mapping key must be a plain string, not a list or a mapping"]


@pytest.mark.parametrize(
    "text",
    [
        "? [a, b]\n: {x: {y: 1}}\nc: 2\n",  # the dropped value holds mappings: no path to put them at
        "? {k: 1}\n: {x: [{y: 1}]}\nc: 2\n",
    ],
)
def test_the_value_of_a_non_scalar_key_is_dropped_however_deep(text: str):
    doc = parse_yaml(text, "f.yaml")
    assert doc.data == {"c": 2}
    assert _problems(doc) == ["f.yaml:1:3: a mapping key must be a plain string, not a list or a mapping"]


def test_load_yaml_reads_files_and_reports_unreadable_paths(tmp_path: Path):
    (tmp_path / "a.yaml").write_text("a: 1\n")
    assert load_yaml(tmp_path / "a.yaml").data == {"a": 1}
    assert load_yaml(tmp_path / "a.yaml", display="shown.yaml").file == "shown.yaml"
    missing = load_yaml(tmp_path / "b.yaml")
    assert [p.message for p in missing.problems] == ["no such file"]
    assert [p.message for p in load_yaml(tmp_path).problems] == ["is a directory, not a file"]


def test_problems_format_and_sort():
    problems = [Problem("b.yaml", 1, 1, "x"), Problem("a.yaml", 10, 2, "y"), Problem("a.yaml", 9, 5, "z")]
    assert [str(p) for p in sorted(problems)] == ["a.yaml:9:5: z", "a.yaml:10:2: y", "b.yaml:1:1: x"]
    assert str(Problem("a.yaml", 0, 0, "gone")) == "a.yaml: gone"
    assert str(Problem(Path("d/a.yaml"), 3, 0, "m")) == "d/a.yaml:3: m"


def test_discover_expands_directories_sorted_and_deduplicated(tmp_path: Path):
    for rel in ("b/2.yml", "b/1.yaml", "a.YAML", "c/.hidden.yaml", ".git/x.yaml", "c/readme.md", "c/d/e.yaml"):
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("a: 1\n")
    files, problems = discover([tmp_path, tmp_path / "b" / "1.yaml", tmp_path / "c" / "readme.md"])
    assert problems == []
    assert [f.relative_to(tmp_path).as_posix() for f in files] == [
        "a.YAML",
        "b/1.yaml",
        "b/2.yml",
        "c/d/e.yaml",
        "c/readme.md",
    ]


def test_discover_reports_missing_paths_and_empty_directories(tmp_path: Path):
    (tmp_path / "empty").mkdir()
    files, problems = discover([tmp_path / "nope", tmp_path / "empty"])
    assert files == []
    assert [p.message for p in problems] == [
        "no such file or directory",
        "no *.yaml or *.yml files in this directory",
    ]
