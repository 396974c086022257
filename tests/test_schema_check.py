"""The compiled yes/no checks (issue 12) answer exactly what jsonschema's ``is_valid`` answers,
for the preset schemas presetsync compiles and for every keyword the compiler knows; a schema
with a keyword it does not know is left to jsonschema."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from presetsync.inputs.schema_check import QuickCheck, compile_check
from presetsync.inputs.schemas import config_schema
from presetsync.presets.catalog import presettypes
from presetsync.presets.validators import _file_validators, preset_validators

KEYS = ["preset", "presettype", "description", "param", "presets", "x-note", "f", "AUDIO", "VIDEO", "IMAGE"]
KEYS += ["ab", "acodec", "vb", "vr", "width", "as", "shortSide", "logoUrl", "interval", "name", "a", "b"]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from([0.0, 1.0, 1.5, -2.0, 2**40]),
    st.sampled_from(["", "x", "web_720p", "avop", "avlogo", "mp4", "64k", "a b", "x-y", "1"]),
    st.sampled_from([*presettypes(), "AVOP"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)),
    max_leaves=12,
)


def _preset(param: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Preset-like mappings: mostly the right keys, sometimes a wrong or missing one."""
    return st.fixed_dictionaries(
        {},
        optional={
            "preset": st.one_of(st.sampled_from(["web_720p", "x", "a b"]), SCALARS),
            "presettype": st.one_of(st.sampled_from(presettypes()), SCALARS),
            "description": SCALARS,
            "param": param,
            "name": SCALARS,
        },
    )


PARAMS = st.one_of(
    VALUES,
    st.fixed_dictionaries(
        {},
        optional={
            "f": SCALARS,
            "AUDIO": st.one_of(VALUES, st.dictionaries(st.sampled_from(["ab", "acodec", "ar", "an", "x"]), SCALARS)),
            "VIDEO": st.one_of(
                VALUES, st.dictionaries(st.sampled_from(["vb", "vr", "as", "shortSide", "vn", "x"]), SCALARS)
            ),
            "IMAGE": st.lists(st.dictionaries(st.sampled_from(["logoUrl", "offsetX", "x"]), SCALARS), max_size=2),
            "interval": SCALARS,
            "width": SCALARS,
        },
    ),
)
INSTANCES = st.one_of(VALUES, _preset(PARAMS), st.fixed_dictionaries({"presets": st.lists(_preset(PARAMS))}))

QUICK = [preset_validators(name).quick for name in (*presettypes(), None)] + [_file_validators().quick]
JSONSCHEMA = [jsonschema.Draft202012Validator(quick.schema) for quick in QUICK]


def test_every_preset_schema_is_compiled():
    assert all(quick.compiled for quick in QUICK)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instance=INSTANCES)
def test_the_compiled_preset_checks_agree_with_jsonschema(instance: Any):
    for quick, validator in zip(QUICK, JSONSCHEMA):
        assert quick.is_valid(instance) == validator.is_valid(instance), quick.schema


# One schema per keyword the compiler knows (and a few together), each against every value.
SCHEMAS: list[Any] = [
    True,
    False,
    {},
    {"type": "object"},
    {"type": ["string", "null"]},
    {"type": "integer"},
    {"type": "number"},
    {"type": "boolean"},
    {"type": "array"},
    {"const": 1},
    {"const": True},
    {"const": "x"},
    {"const": None},
    {"enum": [0, "1", None, False]},
    {"enum": []},
    {"required": ["a", "b"]},
    {"properties": {"a": {"type": "string"}, "b": False}},
    {"patternProperties": {"^x-": {"type": "string"}, "e": {"type": "integer"}}, "additionalProperties": False},
    {"properties": {"a": True}, "additionalProperties": {"type": "integer"}},
    {"dependentSchemas": {"a": {"required": ["b"]}}},
    {"dependentRequired": {"a": ["b", "f"]}},
    {"items": {"type": "integer"}, "minItems": 1, "maxItems": 2},
    {"items": False},
    {"uniqueItems": True},
    {"uniqueItems": False, "items": {"type": "string"}},
    {"type": "array", "uniqueItems": True, "items": {"type": "string"}, "x-presetsync-error": "an annotation"},
    {"pattern": "^[a-z]+$", "minLength": 2, "maxLength": 3},
    {"minimum": 0, "maximum": 1.5},
    {"exclusiveMinimum": 0, "exclusiveMaximum": 2},
    {"allOf": [{"type": "object"}, {"required": ["a"]}]},
    {"anyOf": [{"type": "string"}, {"type": "integer"}]},
    {"oneOf": [{"type": "number"}, {"type": "integer"}]},
    {"not": {"type": "null"}},
    {"if": {"required": ["a"]}, "then": {"required": ["b"]}, "else": {"type": "array"}},
    {"then": {"type": "string"}},  # no "if": nothing to do
    {"format": "email", "title": "annotations only", "$schema": "https://json-schema.org/draft/2020-12/schema"},
]


COMPILED = [(schema, compile_check(schema), jsonschema.Draft202012Validator(schema)) for schema in SCHEMAS]


def test_each_keyword_is_compiled():
    assert [schema for schema, check, _ in COMPILED if check is None] == []


@settings(max_examples=300, deadline=None)
@given(instance=VALUES)
def test_each_keyword_agrees_with_jsonschema(instance: Any):
    for schema, check, validator in COMPILED:
        assert check is not None and check(instance) == validator.is_valid(instance), schema


SAMPLES: list[Any] = [[1, 1], [1, 2], {"a": [1]}, {"a": ["s"]}, [1], 0]


@pytest.mark.parametrize(
    "schema",
    [
        {"$ref": "#/$defs/x", "$defs": {"x": {"type": "array"}}},
        {"properties": {"a": {"contains": {"type": "string"}}}},  # however deep
        {"enum": [[1], {"a": 1}]},  # compared deeply by jsonschema
    ],
)
def test_what_the_compiler_does_not_know_is_left_to_jsonschema(schema: Any):
    assert compile_check(schema) is None
    quick = QuickCheck(schema)
    assert not quick.compiled
    answers = [quick.is_valid(instance) for instance in SAMPLES]
    assert answers == [jsonschema.Draft202012Validator(schema).is_valid(instance) for instance in SAMPLES]
    assert True in answers and False in answers  # the instances tell the schemas apart


@pytest.mark.parametrize("schema", [{"type": "decimal"}, {"minimum": "0"}, {"required": "a"}, {"items": [{}]}, "x"])
def test_schemas_of_unexpected_forms_are_not_compiled(schema: Any):
    assert compile_check(schema) is None


@pytest.mark.parametrize(
    "instance",
    [
        ["a", "a"],
        ["a", "b"],
        [1, 1.0],
        [1, True],
        [0, False, None],
        [[1], [1.0]],
        [[1], [True]],
        [{"a": 1}, {"a": 1.0}],
        [{"a": 1}, {"a": True}],
        [{"a": 1}, {"b": 1}],
        [None, None],
    ],
)
def test_unique_items_are_told_apart_as_jsonschema_does(instance: Any):
    schema = {"uniqueItems": True}
    check = compile_check(schema)
    assert check is not None
    assert check(instance) == jsonschema.Draft202012Validator(schema).is_valid(instance)


def test_the_configuration_schema_is_compiled():
    assert compile_check(config_schema()) is not None
