"""The local service's tables (presetsync/local/params.py) and the preset file schema agree
(issue 11 point 7): the presettypes, the preset name rule, and the types the service echoes a
param's fields in. Its avop value rules are compared in tests/test_schema_maxima.py."""

from __future__ import annotations

from presetsync.inputs import schemas
from presetsync.local.params import INT_FIELDS, PRESET_NAME, PRESET_TYPES, STRING_FIELDS, echo_param
from presetsync.presets import catalog
from presetsync.presets.catalog import FieldSpec

ITEMS = "*"


def schema_fields() -> list[FieldSpec]:
    return [spec for types in catalog.catalog().values() for spec in types.fields.values()]


def test_the_presettypes_and_the_name_rule_are_the_schemas():
    assert catalog.presettypes() == PRESET_TYPES
    assert f"^{PRESET_NAME.pattern}$" == schemas.preset_file_schema()["$defs"]["presetName"]["pattern"]


def test_the_echoed_field_types_are_the_schemas_wire_types():
    wires: dict[str, set[str]] = {}
    for spec in schema_fields():
        wires.setdefault(spec.path[-1], set()).add(spec.wire)
    assert all(len(kinds) == 1 for kinds in wires.values()), "the service echoes by field name, whatever the type"
    wire = {name: kinds.pop() for name, kinds in wires.items()}
    assert not STRING_FIELDS & INT_FIELDS

    documented = {spec.path[-1] for spec in schema_fields() if spec.documented and spec.wire == "string"}
    assert documented == STRING_FIELDS, "the documented string fields (offline-api-params.md §6.1)"
    numbers_as_text = {spec.path[-1] for spec in schema_fields() if spec.wire == "string" and spec.kind != "string"}
    assert numbers_as_text <= STRING_FIELDS

    assert {name for name, kind in wire.items() if kind == "integer"} <= INT_FIELDS
    assert not INT_FIELDS & {name for name, kind in wire.items() if kind != "integer"}
    sdk_only = {path.rsplit(".", 1)[-1] for types in catalog.catalog().values() for path in types.known_extras}
    assert INT_FIELDS - set(wire) == sdk_only - set(wire), "the other integers are the SDK's, which the schema knows"


def _param_of(presettype: str, value: object) -> tuple[dict[str, object], list[FieldSpec]]:
    """A param of *presettype* with *value* in every field outside lists, and those fields."""
    param: dict[str, object] = {}
    specs = [s for s in catalog.presettype_spec(presettype).fields.values() if ITEMS not in s.path]
    for spec in specs:
        node = param
        for key in spec.path[:-1]:
            node = node.setdefault(key, {})
        node[spec.path[-1]] = value
    return param, specs


def test_the_service_echoes_each_field_of_the_schema_in_its_wire_type():
    for presettype in catalog.presettypes():
        for sent in (7, "7"):
            param, specs = _param_of(presettype, sent)
            echoed = echo_param(param)
            for spec in specs:
                value = echoed
                for key in spec.path:
                    value = value[key]
                expected = {"string": "7", "integer": 7}.get(spec.wire, sent)
                assert value == expected and type(value) is type(expected), (presettype, spec.name, sent, value)
