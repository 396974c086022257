"""The JSON Schema validators of preset files, made once from
``schemas/preset-file.schema.json``: a quick yes/no check compiled per presettype, and a full
jsonschema validator (with every annotation, for the messages) that runs only for what the quick
one refuses.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from ..inputs.schema_check import QuickCheck
from ..inputs.schema_messages import SchemaValidator
from ..inputs.schemas import preset_file_schema
from .catalog import resolve

_ANNOTATIONS = frozenset({"title", "description", "examples", "default", "$comment", "deprecated"})
_SUBSCHEMA_MAPS = frozenset({"properties", "patternProperties", "dependentSchemas"})
_SUBSCHEMA = frozenset(
    {"items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames"}
    | {"unevaluatedItems", "unevaluatedProperties"}
)
_SUBSCHEMA_LISTS = frozenset({"allOf", "anyOf", "oneOf", "prefixItems"})


def _quick(schema: Any, root: Mapping[str, Any], depth: int = 0) -> Any:
    """*schema* for a yes/no check only: ``$ref`` inlined, annotations dropped, and every catalog
    leaf field (``x-presetsync``) accepted as it is, since :func:`check_field` checks those values
    and their schema errors are never reported (see ``_PresetTranslator.skip``)."""
    if not isinstance(schema, Mapping):
        return schema
    if depth > 50:
        raise ValueError("the preset-file schema nests too deep (a $ref loop?)")
    schema = resolve(schema, root)
    if "x-presetsync" in schema:
        return True
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _ANNOTATIONS or key.startswith("x-") or key == "$defs":
            continue
        if key in _SUBSCHEMA_MAPS:
            value = {name: _quick(sub, root, depth + 1) for name, sub in value.items()}
        elif key in _SUBSCHEMA:
            value = _quick(value, root, depth + 1)
        elif key in _SUBSCHEMA_LISTS:
            value = [_quick(sub, root, depth + 1) for sub in value]
        out[key] = value
    return _fold_all_of(out)


# Keywords that only look at objects, and keywords whose meaning depends on others beside them.
_OBJECT_ONLY = frozenset(
    {"required", "properties", "patternProperties", "additionalProperties", "dependentRequired"}
    | {"dependentSchemas", "minProperties", "maxProperties", "propertyNames"}
)
_COUPLED = frozenset(
    {"properties", "patternProperties", "additionalProperties", "unevaluatedProperties", "items"}
    | {"prefixItems", "unevaluatedItems", "if", "then", "else", "$ref", "$dynamicRef"}
)


def _union(a: Any, b: Any) -> Any:
    """One schema accepting what both *a* and *b* accept, when that is simply their keywords
    together; ``None`` otherwise."""
    if not isinstance(a, Mapping) or not isinstance(b, Mapping):
        return None
    if any(key in a and a[key] != b[key] for key in b):
        return None
    if any(key in _COUPLED for key in a) and any(key in _COUPLED and key not in a for key in b):
        return None
    return {**a, **b}


def _fold_all_of(schema: dict[str, Any]) -> dict[str, Any]:
    """*schema* with its ``allOf`` items folded into it where that keeps its meaning, so that a
    quick check descends into fewer subschemas (each one a call, or a new jsonschema validator):

    * ``{"properties": {name: S}}`` for names *schema* already has: S joins their schema;
    * ``{"if": {"required": [name]}, "then": T}`` (T looking at objects only) becomes
      ``dependentSchemas`` (T applies when *name* is present), as the schema's rules are written.
    """
    items = schema.get("allOf")
    if not isinstance(items, list):
        return schema
    out = {key: value for key, value in schema.items() if key != "allOf"}
    rest = []
    for item in items:
        if not isinstance(item, Mapping):
            rest.append(item)
            continue
        condition = item.get("if")
        then = item.get("then")
        if (
            set(item) == {"if", "then"}
            and isinstance(condition, Mapping)
            and set(condition) == {"required"}
            and len(condition["required"]) == 1
            and isinstance(then, Mapping)
            and set(then) <= _OBJECT_ONLY
            and condition["required"][0] not in out.get("dependentSchemas", {})
        ):
            out["dependentSchemas"] = {**out.get("dependentSchemas", {}), condition["required"][0]: then}
            continue
        if set(item) == {"properties"} and isinstance(out.get("properties"), Mapping):
            joined = {name: _union(out["properties"].get(name), sub) for name, sub in item["properties"].items()}
            if all(value is not None for value in joined.values()):
                out["properties"] = {**out["properties"], **joined}
                continue
        rest.append(item)
    if rest:
        out["allOf"] = rest
    return out


class _Validators:
    """``quick`` says whether an instance is fine; ``full`` (with every annotation, for the
    messages) says what is wrong, and runs only for instances ``quick`` refuses.

    ``quick`` is compiled (:mod:`presetsync.inputs.schema_check`); jsonschema is imported and
    ``full`` built only when an instance is refused, so a valid file never loads jsonschema.
    """

    def __init__(self, quick_schema: dict[str, Any], full_schema: dict[str, Any]):
        self.quick = QuickCheck(quick_schema)
        self.full_schema = full_schema

    @functools.cached_property
    def full(self) -> SchemaValidator:
        import jsonschema

        validator: SchemaValidator = jsonschema.Draft202012Validator(self.full_schema)
        return validator


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _compile(schema: Mapping[str, Any], known: Mapping[str, Any] | None = None) -> _Validators:
    """The validators of *schema*; the quick one takes the properties in *known* as checked."""
    root = preset_file_schema()
    full = {"$schema": root["$schema"], "$defs": root["$defs"], **schema}
    quick = {"$schema": root["$schema"], **_quick(schema, root)}
    if known:
        quick["properties"] = {**quick["properties"], **dict.fromkeys(known, True)}
    return _Validators(quick, full)


@functools.cache
def preset_validators(presettype: str | None) -> _Validators:
    """The validators of one preset of *presettype* (``None``: a missing or unknown presettype).

    ``$defs/preset`` dispatches ``param`` with one ``if``/``then`` per presettype; here only the
    ``then`` of *presettype* is kept (the other ``if``s cannot match), so a preset is checked
    against its own type's parameters only.
    """
    preset = preset_file_schema()["$defs"]["preset"]
    branches = [
        b["then"] for b in preset.get("allOf", ()) if b["if"]["properties"]["presettype"]["const"] == presettype
    ]
    schema = {key: value for key, value in preset.items() if key != "allOf"}
    if not branches:
        return _compile(schema)
    schema["allOf"] = branches
    return _compile(schema, known={"presettype": presettype})  # it is this one: the quick check skips it


@functools.cache
def _file_validators() -> _Validators:
    """The shape of a ``presets: [...]`` file, its items left to :func:`preset_validators`."""
    shell = dict(preset_file_schema()["$defs"]["presetsFile"])
    properties = dict(shell["properties"])
    properties["presets"] = {key: value for key, value in properties["presets"].items() if key != "items"}
    shell["properties"] = properties
    return _compile(shell)
