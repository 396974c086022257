"""The event-based loader (issue 12): positions beyond the first two levels are read again only
when asked for, and then equal what a full read gives; merges and aliases keep their positions."""

from __future__ import annotations

import pytest

from presetsync.inputs.documents import parse_yaml

DOCS = [
    "presets:\n  - preset: a\n    param:\n      VIDEO: {vb: 1m, vr: 25}\n      AUDIO:\n        ab: 64k\n",
    "x-base: &b {ab: 64k, ar: 44100}\npresets:\n  - preset: a\n    param:\n      AUDIO:\n        <<: *b\n"
    "        ar: 48000\n      IMAGE: [{logoUrl: u}, {logoUrl: v}]\n",
    "a: &l [{k: 1}, {m: 2}]\nb:\n  <<: *l\n  n: 3\nc: [[[1, {d: [e]}]]]\n",
]


def _every_path(doc) -> set[tuple]:
    return set(doc.positions.keys) | set(doc.positions.values)  # reads every position


@pytest.mark.parametrize("text", DOCS)
def test_positions_read_on_demand_equal_those_of_a_full_read(text):
    full = parse_yaml(text, "f.yaml")
    for path in _every_path(full):
        for key in (False, True):
            assert parse_yaml(text, "f.yaml").positions.find(path, key=key) == full.positions.find(path, key=key)


def test_a_load_records_only_the_first_two_levels_until_asked():
    doc = parse_yaml(DOCS[0], "f.yaml")
    assert doc.positions.find(("presets", 0)) == (2, 5)
    known = set(doc.positions._keys) | set(doc.positions._values)
    assert known == {(), ("presets",), ("presets", 0)}
    assert doc.positions.find(("presets", 0, "param", "AUDIO", "ab"), key=True) == (6, 9)


def test_merging_an_alias_of_a_list_keeps_the_positions_of_its_mappings():
    doc = parse_yaml(DOCS[2], "f.yaml")
    assert doc.problems == []
    assert doc.data["b"] == {"n": 3, "k": 1, "m": 2}
    assert doc.positions.key(("b", "k")) == (1, 9)
    assert doc.positions.value(("b", "m")) == (1, 20)
    assert doc.positions.key(("b", "n")) == (4, 3)


def test_recursive_aliases_are_reported_where_the_value_starts():
    assert [str(p) for p in parse_yaml("a: &a [1, *a]\n", "f.yaml").problems] == [
        "f.yaml:1:4: recursive alias: a value cannot contain itself"
    ]
    assert [str(p) for p in parse_yaml("a: &a {b: 1, <<: *a}\n", "f.yaml").problems] == [
        "f.yaml:1:4: recursive alias: a mapping cannot merge itself"
    ]


def test_an_alias_of_a_refused_value_is_refused_without_a_second_report():
    doc = parse_yaml("a: &x !Ref foo\nb: *x\n", "f.yaml")
    assert [(p.line, p.col) for p in doc.problems] == [(1, 4)]
    assert doc.data == {"a": None, "b": None} and doc.is_bad(("b",))
