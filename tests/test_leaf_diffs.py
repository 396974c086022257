"""Leaf-level diffs: a plan names each changed leaf, in the text, JSON and Markdown renderers.

A field changed, added or removed anywhere inside ``param`` (a nested object, a list item) is
one change at that leaf's dotted path (``param.VIDEO.height``, ``param.IMAGE[1].offsetX``),
never the whole object around it. The property test draws valid presets from the catalog (the
schema), creates them in the local service, writes the same preset with one leaf changed, added
or removed to a file, and checks that the plan of that file names exactly that leaf.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import string
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from presetsync.inputs.positions import ITEMS
from presetsync.local.server import LocalService
from presetsync.presets.catalog import FieldSpec, catalog
from presetsync.presets.live import fetch_live
from presetsync.presets.normalize import normalize_value
from presetsync.presets.plan import ABSENT, CREATE, UPDATE, FieldChange, Plan, build_plan, field_changes
from presetsync.presets.render import render_json, render_markdown, render_text
from presetsync.presets.validate import load_presets

NAMES = (f"leaf_{i}" for i in itertools.count())


# --- the plan of one preset, through the local service and a preset file -----------------------


def plan_of(live_body: dict | None, file_preset: dict) -> Plan:
    """The plan of *file_preset* (written to a YAML file) against *live_body* (created in the
    local service first; None: not there)."""
    if live_body is not None:
        CLIENT.preset(live_body)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "presets.yaml"
        path.write_text(yaml.safe_dump({"presets": [file_preset]}, sort_keys=False), encoding="utf-8")
        loaded = load_presets([path])
    assert loaded.problems == [], [str(p) for p in loaded.problems]
    return build_plan(loaded.presets, fetch_live(CLIENT), targets=[file_preset["preset"]])


LINE = re.compile(r"([~+-]) (\S+): ")


def text_paths(plan: Plan) -> list[tuple[str, str]]:
    """(symbol, path) of each line under the change headings of the text form."""
    out = []
    for line in render_text(plan).splitlines():
        if line.startswith("    "):
            m = LINE.match(line[4:])
            assert m, line
            out.append(m.groups())
    return out


def json_fields(plan: Plan) -> list[dict]:
    (change,) = json.loads(render_json(plan))["changes"]
    return change["fields"]


def markdown_lines(plan: Plan) -> list[tuple[str, str]]:
    """(symbol, path) of each line of the ``diff`` blocks of the Markdown form."""
    out, inside = [], False
    for line in render_markdown(plan).splitlines():
        if line.startswith("```"):
            inside = line == "```diff"
        elif inside:
            m = LINE.match(line)
            assert m, line
            out.append(m.groups())
    return out


def markdown_expected(symbol: str, path: str) -> list[tuple[str, str]]:
    """The Markdown diff shows a changed leaf as its old line then its new one."""
    return [("-", path), ("+", path)] if symbol == "~" else [(symbol, path)]


# --- examples ----------------------------------------------------------------------------------


def test_a_leaf_added_where_its_object_was_not_is_that_leaf():
    name = next(NAMES)
    live = {"preset": name, "presettype": "avop", "param": {"f": "mp4", "AUDIO": {"ab": "64k"}}}
    wanted = copy.deepcopy(live)
    wanted["param"]["VIDEO"] = {"height": 480}
    plan = plan_of(live, wanted)
    assert [c.action for c in plan.changes] == [UPDATE]
    assert text_paths(plan) == [("+", "param.VIDEO.height")]
    assert json_fields(plan) == [{"path": "param.VIDEO.height", "after": 480}]
    assert markdown_lines(plan) == [("+", "param.VIDEO.height")]
    assert f"| ~ update | `{name}` | avop | 1 |" in render_markdown(plan)  # the table's field count

    other = next(NAMES)  # the other way round: VIDEO's only leaf removed
    removed = plan_of({**wanted, "preset": other}, {**live, "preset": other})
    assert text_paths(removed) == [("-", "param.VIDEO.height")]
    assert json_fields(removed) == [{"path": "param.VIDEO.height", "before": 480}]


def test_an_object_whose_keys_mostly_differ_is_shown_leaf_by_leaf():
    """deepdiff's default (threshold_to_diff_deeper) showed the whole VIDEO object here."""
    name = next(NAMES)
    live = {
        "preset": name,
        "presettype": "avop",
        "param": {"f": "mp4", "VIDEO": {"vb": "1m", "width": 854, "height": 480}},
    }
    wanted = copy.deepcopy(live)
    wanted["param"]["VIDEO"] = {"vr": 25, "height": 480}
    plan = plan_of(live, wanted)
    assert text_paths(plan) == [("-", "param.VIDEO.vb"), ("+", "param.VIDEO.vr"), ("-", "param.VIDEO.width")]
    assert json_fields(plan) == [
        {"path": "param.VIDEO.vb", "before": 1000000},
        {"path": "param.VIDEO.vr", "after": 25},
        {"path": "param.VIDEO.width", "before": 854},
    ]
    assert markdown_lines(plan) == text_paths(plan)


def test_a_whole_object_added_or_removed_is_listed_leaf_by_leaf():
    name = next(NAMES)
    live = {"preset": name, "presettype": "avop", "param": {"f": "mp4", "AUDIO": {"ab": "64k", "ar": 44100}}}
    wanted = {"preset": name, "presettype": "avop", "param": {"f": "mp4", "VIDEO": {"vb": "1m", "width": 640}}}
    plan = plan_of(live, wanted)
    assert text_paths(plan) == [
        ("-", "param.AUDIO.ab"),
        ("-", "param.AUDIO.ar"),
        ("+", "param.VIDEO.vb"),
        ("+", "param.VIDEO.width"),
    ]
    assert [f["path"] for f in json_fields(plan)] == [p for _, p in text_paths(plan)]


def test_list_items_are_addressed_by_index():
    name = next(NAMES)
    logos = [{"logoUrl": "https://example.com/a.png", "offsetX": 10}, {"logoUrl": "https://example.com/b.png"}]
    live = {"preset": name, "presettype": "avlogo", "param": {"IMAGE": logos}}
    wanted = copy.deepcopy(live)
    wanted["param"]["IMAGE"][1]["offsetX"] = 20
    wanted["param"]["IMAGE"].append({"logoUrl": "https://example.com/c.png", "offsetY": 5})
    plan = plan_of(live, wanted)
    assert json_fields(plan) == [
        {"path": "param.IMAGE[1].offsetX", "after": 20},
        {"path": "param.IMAGE[2].logoUrl", "after": "https://example.com/c.png"},
        {"path": "param.IMAGE[2].offsetY", "after": 5},
    ]
    assert text_paths(plan) == [("+", f["path"]) for f in json_fields(plan)]

    created = plan_of(None, {**wanted, "preset": next(NAMES)})
    assert [c.action for c in created.changes] == [CREATE]
    assert [p for _, p in text_paths(created)][:3] == [
        "param.IMAGE[0].logoUrl",
        "param.IMAGE[0].offsetX",
        "param.IMAGE[1].logoUrl",
    ]


def test_field_changes_compares_any_shapes_leaf_by_leaf():
    """Live data may hold anything: shapes that differ are still compared leaf by leaf."""

    def changes(before: dict, after: dict) -> list[tuple[str, Any, Any]]:
        return [(f.path, f.before, f.after) for f in field_changes(before, after)]

    assert changes({"param": {"X": {"a": 1, "b": 2}}}, {"param": {"X": 5}}) == [
        ("param.X", ABSENT, 5),
        ("param.X.a", 1, ABSENT),
        ("param.X.b", 2, ABSENT),
    ]
    assert changes({"param": {"X": {}}}, {"param": {"X": {"a": 1}}}) == [("param.X.a", ABSENT, 1)]
    assert changes({"param": {"X": {}}}, {"param": {"X": []}}) == [("param.X", {}, [])]
    assert changes({"param": {"L": [1, 2, 3]}}, {"param": {"L": [1]}}) == [
        ("param.L[1]", 2, ABSENT),
        ("param.L[2]", 3, ABSENT),
    ]
    # list indexes in numeric order, not text order; dict keys named like numbers stay keys
    assert [p for p, _, _ in changes({"param": {"L": []}}, {"param": {"L": list(range(11))}})][-2:] == [
        "param.L[9]",
        "param.L[10]",
    ]
    assert changes({"param": {"M": {"0": "x"}}}, {"param": {"M": ["x"]}}) == [
        ("param.M.0", "x", ABSENT),
        ("param.M[0]", ABSENT, "x"),
    ]
    assert changes({"presettype": "a", "param": {}}, {"presettype": "b", "param": {}}) == [("presettype", "a", "b")]
    assert field_changes({"param": {"a": [1]}}, {"param": {"a": [1]}}) == ()
    assert field_changes({"p": 1}, {"p": 2}) == (FieldChange("p", 1, 2),)


# --- property: one random leaf edit, named exactly -------------------------------------------


def _choices(spec: FieldSpec) -> list | None:
    """The values of an enum field but its default (a default is dropped by normalisation)."""
    if spec.enum is None:
        return None
    return [v for v in spec.enum if not (spec.has_default and v == spec.default)]


def _value(spec: FieldSpec) -> st.SearchStrategy:
    """A valid value of *spec*, never its default (bitrates in a few spellings)."""
    choices = _choices(spec)
    if choices is not None:
        return st.sampled_from(choices)
    low = int(spec.minimum) if spec.minimum is not None else -1000
    high = int(spec.maximum) if spec.maximum is not None else 1000
    if spec.kind == "bitrate":
        return st.integers(low // 1000 + 1, high // 1000).flatmap(
            lambda k: st.sampled_from([k * 1000, f"{k}k", str(k * 1000)])
        )
    if spec.kind == "integer":
        numbers = st.integers(low, high)
        return st.one_of(numbers, st.sampled_from(spec.keywords)) if spec.keywords else numbers
    if spec.kind == "number":
        return st.integers(low * 10, high * 10).map(lambda n: n // 10 if n % 10 == 0 else n / 10)
    text = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=8)
    return text.map(lambda s: f"https://example.com/{s}.png") if spec.path[-1] == "logoUrl" else text


DESCRIPTIONS = st.text(string.ascii_letters, min_size=1, max_size=20)


def _generic(path: tuple) -> tuple:
    return tuple(ITEMS if isinstance(p, int) else p for p in path)


def _get(tree: Any, path: tuple) -> Any:
    for part in path:
        tree = tree[part]
    return tree


def _has(tree: Any, path: tuple) -> bool:
    try:
        _get(tree, path)
    except (KeyError, IndexError, TypeError):
        return False
    return True


def _leaf_paths(tree: Any, path: tuple = ()) -> list[tuple]:
    if isinstance(tree, dict):
        return [leaf for key, value in tree.items() for leaf in _leaf_paths(value, (*path, key))]
    if isinstance(tree, list):
        return [leaf for i, value in enumerate(tree) for leaf in _leaf_paths(value, (*path, i))]
    return [path]


@st.composite
def valid_param(draw, presettype: str) -> dict:
    """A param of *presettype* that the schema accepts: catalog fields with valid values."""
    spec = catalog()[presettype]
    param: dict = {}
    for path, field in spec.fields.items():
        if ITEMS not in path and draw(st.booleans()):
            holder = param.setdefault(path[0], {}) if len(path) == 2 else param
            holder[path[-1]] = draw(_value(field))
    for path, obj in spec.objects.items():
        if obj.is_array and draw(st.booleans()):
            item = spec.objects[(*path, ITEMS)]
            param[path[-1]] = [
                {
                    key: draw(_value(spec.fields[(*path, ITEMS, key)]))
                    for key in item.properties
                    if key in item.required or draw(st.booleans())
                }
                for _ in range(draw(st.integers(1, 3)))
            ]
    if "shortSide" in param.get("VIDEO", {}):
        param["VIDEO"]["as"] = 1  # the schema's rule: shortSide is only valid with as: 1
    return param


def single_leaf_edits(preset: dict) -> list[tuple[str, tuple]]:
    """Every (kind, path) edit of one leaf that keeps *preset* valid: change or remove a leaf
    that is there, add a catalog field (at any list item) or a description that is not."""
    spec = catalog()[preset["presettype"]]
    param = preset["param"]
    shortside = "shortSide" in param.get("VIDEO", {})
    edits = []
    for path in _leaf_paths(param):
        if path == ("VIDEO", "as") and shortside:
            continue  # the schema's rule holds it at 1
        if path[-1] not in spec.objects[_generic(path[:-1])].required:
            edits.append(("remove", ("param", *path)))
        choices = _choices(spec.fields[_generic(path)])
        if choices is None or len(choices) > 1:
            edits.append(("change", ("param", *path)))
    for generic in spec.fields:
        if ITEMS in generic:
            at = generic.index(ITEMS)
            items = _get(param, generic[:at]) if _has(param, generic[:at]) else []
            paths = [(*generic[:at], i, *generic[at + 1 :]) for i in range(len(items))]
        else:
            paths = [generic] if generic != ("VIDEO", "shortSide") or param.get("VIDEO", {}).get("as") == 1 else []
        edits += [("add", ("param", *path)) for path in paths if not _has(param, path)]
    if "description" in preset:
        edits += [("remove", ("description",)), ("change", ("description",))]
    else:
        edits.append(("add", ("description",)))
    return edits


@st.composite
def preset_with_one_leaf_edit(draw):
    """(a valid preset, the same with one leaf changed, added or removed, the JSON field change
    the plan must show: path, before unless added, after unless removed; values normalised)."""
    presettype = draw(st.sampled_from(list(catalog())))
    live: dict = {"preset": "", "presettype": presettype, "param": draw(valid_param(presettype))}
    if draw(st.booleans()):
        live["description"] = draw(DESCRIPTIONS)
    kind, path = draw(st.sampled_from(single_leaf_edits(live)))

    field = catalog()[presettype].fields[_generic(path[1:])] if path[0] == "param" else None
    values, normal = (_value(field), partial(normalize_value, field)) if field else (DESCRIPTIONS, str)
    wanted = copy.deepcopy(live)
    holder = wanted
    for part in path[:-1]:
        holder = holder[part] if isinstance(holder, list) else holder.setdefault(part, {})
    expected: dict = {"path": _dotted(path)}
    if kind != "add":
        expected["before"] = normal(holder[path[-1]])
    if kind == "remove":
        del holder[path[-1]]  # a VIDEO or AUDIO left empty stays in the file: the same as none
    else:
        old = expected.get("before", ABSENT)
        holder[path[-1]] = draw(values.filter(lambda v: normal(v) != old))
        expected["after"] = normal(holder[path[-1]])
    return live, wanted, expected


def _dotted(path: tuple) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" if i else p for i, p in enumerate(path))


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(case=preset_with_one_leaf_edit())
def test_a_single_leaf_edit_is_named_exactly_in_every_renderer(case):
    live, wanted, expected = case
    live["preset"] = wanted["preset"] = next(NAMES)
    plan = plan_of(live, wanted)
    assert [c.action for c in plan.changes] == [UPDATE], (live, wanted)
    symbol = "+" if "before" not in expected else "-" if "after" not in expected else "~"
    assert json_fields(plan) == [expected]
    assert text_paths(plan) == [(symbol, expected["path"])]
    assert markdown_lines(plan) == markdown_expected(symbol, expected["path"])


SERVICE_DIR = tempfile.TemporaryDirectory()
SERVICE: LocalService | None = None
CLIENT: Any = None


def setup_module(module):
    global SERVICE, CLIENT
    SERVICE = LocalService(Path(SERVICE_DIR.name) / "leaf.sqlite", task_durations=(0, 0)).start()
    CLIENT = SERVICE.client()


def teardown_module(module):
    CLIENT.close()
    SERVICE.stop()
    SERVICE_DIR.cleanup()
