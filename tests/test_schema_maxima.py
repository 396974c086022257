"""The schema's ranges come from the catalog (offline-api-params.md) and bound every number;
the local service's value rules (presetsync/local/params.py) and the schema agree (issue 11
point 7, issue 14 point 4)."""

from __future__ import annotations

import json

import jsonschema
import pytest

from presetsync.cli import main
from presetsync.inputs import schemas
from presetsync.local.params import AVOP_RULES, MAX_PIXELS
from presetsync.presets import catalog

HUGE = 99999999999999999999999


def test_the_local_services_avop_rules_and_the_schema_agree():
    fields = catalog.presettype_spec("avop").fields
    assert set(AVOP_RULES) == set(fields), "the same avop fields on both sides"
    for path, rule in AVOP_RULES.items():
        spec = fields[path]
        where = ".".join(path)
        assert (rule.minimum, rule.maximum) == (spec.minimum, spec.maximum), where
        assert rule.allowed == spec.enum, where
        assert rule.keywords == spec.keywords, where
        # each side accepts what the other accepts, at and beyond its limits
        for value in (spec.minimum, spec.maximum):
            if value is not None:
                assert rule.accepts(value), (where, value)
        if spec.maximum is not None:
            assert not rule.accepts(spec.maximum + 1), where
        for value in spec.enum or ():
            assert rule.accepts(value), (where, value)


def test_the_catalogs_documented_ranges_are_kept():
    table = {f.name: f for f in catalog.presettype_spec("avop").fields.values()}
    assert (table["AUDIO.ab"].minimum, table["AUDIO.ab"].maximum) == (20000, 320000)
    assert (table["AUDIO.ar"].minimum, table["AUDIO.ar"].maximum) == (8000, 96000)
    assert (table["VIDEO.vr"].minimum, table["VIDEO.vr"].maximum) == (1, 60)
    assert (table["VIDEO.vb"].minimum, table["VIDEO.vb"].maximum) == (100000, 10000000)
    assert (table["VIDEO.rotate"].minimum, table["VIDEO.rotate"].maximum) == (0, 360)
    for name in ("VIDEO.width", "VIDEO.height", "VIDEO.shortSide"):
        assert table[name].maximum == MAX_PIXELS and "maximum" in table[name].inferred, name


def test_every_integer_and_bitrate_in_the_catalog_has_a_maximum():
    unbounded = [
        (presettype, spec.name)
        for presettype, types in catalog.catalog().items()
        for spec in types.fields.values()
        if spec.kind in ("integer", "bitrate") and spec.enum is None and spec.maximum is None
    ]
    assert unbounded == []
    sizes = [
        spec.maximum
        for types in catalog.catalog().values()
        for spec in types.fields.values()
        if spec.path[-1] in ("width", "height", "shortSide")
    ]
    assert len(sizes) == 12 and set(sizes) == {MAX_PIXELS}


@pytest.mark.parametrize(
    ("presettype", "param", "field"),
    [
        ("avop", {"VIDEO": {"height": HUGE}}, "VIDEO.height"),
        ("avop", {"VIDEO": {"width": MAX_PIXELS + 1}}, "VIDEO.width"),
        ("avop", {"VIDEO": {"as": 1, "shortSide": HUGE}}, "VIDEO.shortSide"),
        ("avop", {"VIDEO": {"vb": "11m"}}, "VIDEO.vb"),
        ("avop", {"AUDIO": {"ab": 320001}}, "AUDIO.ab"),
        ("avop", {"VIDEO": {"vr": 61}}, "VIDEO.vr"),
        ("avm3u8", {"hls_time": HUGE}, "hls_time"),
        ("avm3u8", {"AUDIO": {"channels": 9}}, "AUDIO.channels"),
        ("avsnapshot", {"height": HUGE}, "height"),
        ("avsample", {"interval": HUGE}, "interval"),
    ],
)
def test_values_over_a_maximum_are_refused_with_file_and_line(tmp_path, capsys, presettype, param, field):
    document = {"presets": [{"preset": "p1", "presettype": presettype, "param": param}]}
    path = tmp_path / "p.yaml"
    path.write_text(json.dumps(document, indent=1), encoding="utf-8")  # JSON is YAML

    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert "p.yaml:" in out and f"{field} " in out and "out of range" in out, out
    leaf = param
    for key in field.split("."):
        leaf = leaf[key]
    if not isinstance(leaf, str):  # a JSON Schema maximum bounds numbers, not "11m"
        editor = jsonschema.Draft202012Validator(schemas.preset_file_schema())
        assert list(editor.iter_errors(document)) != [], "editors see it too"


def test_values_at_a_maximum_are_accepted(tmp_path, capsys):
    param = {"VIDEO": {"width": MAX_PIXELS, "height": MAX_PIXELS, "vb": "10m", "vr": 60}, "AUDIO": {"ab": "320k"}}
    path = tmp_path / "p.yaml"
    path.write_text(json.dumps({"presets": [{"preset": "p1", "presettype": "avop", "param": param}]}))
    assert main(["validate", str(path)]) == 0, capsys.readouterr().out


def test_the_local_service_refuses_the_same_huge_height(client):
    from presetsync.errors import ApiError

    with pytest.raises(ApiError) as info:
        client.preset({"preset": "p1", "presettype": "avop", "param": {"VIDEO": {"height": HUGE}}})
    assert info.value.err_num == 1001 and "param.VIDEO.height must be a height in pixels from 1 to 8192" in str(
        info.value
    )
