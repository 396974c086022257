"""Offline validation of preset files: every problem in every file, each at its key or value.

Nothing is sent anywhere. Checks, in one pass over each file:

1. YAML itself (:mod:`.files`): syntax, duplicate keys, non-UTF-8 bytes, unsafe tags, empty files;
2. the JSON Schema (``schemas/preset-file.schema.json``): shape, required fields, unknown fields
   (with a "did you mean"), presettype, preset name, cross-field rules such as "shortSide needs
   as: 1" (``x-presetsync-rule`` in the schema); jsonschema's errors are translated into short
   messages at the offending key or value;
3. every catalog field's value, read as the service reads it (:mod:`.normalize`): bitrate
   spellings, numeric strings, ranges after unit parsing (``ab: 5k`` is below 20000), enums;
4. across files: a preset name defined twice (both places are reported).

Fields a configuration allows with ``extra_fields`` are taken out before the schema check and
are otherwise not checked.
"""

from __future__ import annotations

import difflib
import functools
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import jsonschema

from .catalog import (
    ITEMS,
    FieldSpec,
    PresetTypeSpec,
    dotted,
    generic_path,
    preset_file_schema,
    presettype_spec,
    presettypes,
    resolve,
)
from .files import PRESET_SUFFIXES, Positions, YamlDocument, discover, load_yaml
from .model import DesiredPreset, Problem
from .normalize import parse_bitrate, parse_number

if TYPE_CHECKING:
    from ..config import Config

# --------------------------------------------------------------------------------------------
# Small helpers shared with config.py


def type_phrase(value: Any) -> str:
    """How a YAML value is called in messages: ``a mapping``, ``an integer (5)``..."""
    if value is None:
        return "an empty value (null)"
    if isinstance(value, bool):
        return f"a boolean ({'true' if value else 'false'})"
    if isinstance(value, int):
        return f"an integer ({value})"
    if isinstance(value, float):
        return f"a number ({value:g})"
    if isinstance(value, str):
        return f"a string ({_short(value)})"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__  # pragma: no cover - the loader builds only the types above


_TYPE_WORDS = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "empty",
}


def _short(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def suggest(word: str, candidates: Iterable[str]) -> str | None:
    """The closest candidate to *word* (case-insensitive), or ``None``."""
    candidates = list(dict.fromkeys(c for c in candidates if c))
    lowered = {c.lower(): c for c in candidates}
    if word.lower() in lowered and lowered[word.lower()] != word:
        return lowered[word.lower()]
    close = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[close[0]] if close else None


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    best = suggest(word, candidates)
    return f"; did you mean {best!r}?" if best else ""


def _one_of(values: Sequence[Any]) -> str:
    shown = [str(v) for v in values]
    if len(shown) == 2:
        return f"{shown[0]} or {shown[1]}"
    return ", ".join(shown[:-1]) + f" or {shown[-1]}" if len(shown) > 1 else "".join(shown)


def _schema_at(root: Mapping[str, Any], schema_path: Iterable[Any]) -> list[Mapping[str, Any]]:
    """The chain of (sub)schemas along a jsonschema error's ``absolute_schema_path``.

    Local ``$ref``s are followed whether or not the path names them (jsonschema versions differ).
    """

    def deref(node: Any) -> Any:
        target: Any = root
        for piece in node["$ref"][2:].split("/"):
            target = target[piece]
        return target

    chain = [root]
    node: Any = root
    for part in schema_path:
        if isinstance(node, Mapping) and part == "$ref" and "$ref" in node:
            node = deref(node)
            chain.append(node)
            continue
        while isinstance(node, Mapping) and part not in node and "$ref" in node:
            node = deref(node)
            chain.append(node)
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
        if isinstance(node, Mapping):
            chain.append(node)
    while isinstance(node, Mapping) and "$ref" in node:
        node = deref(node)
        chain.append(node)
    return chain


class SchemaErrorTranslator:
    """Turns jsonschema errors into short Problems at the offending key or value.

    Subclasses name things (``name``) and explain unknown keys (``unknown_key``).
    """

    def __init__(self, doc: YamlDocument, root_schema: Mapping[str, Any], prefix: tuple = ()):
        self.doc = doc
        self.root = root_schema
        self.prefix = prefix  # the path of the validated instance in the document

    # hooks -----------------------------------------------------------------------------
    def name(self, path: tuple) -> str:
        return repr(dotted(path)) if path else "the file"

    def unknown_key(self, path: tuple, key: str, error: jsonschema.ValidationError) -> str:
        known = list(error.schema.get("properties", {}))
        where = f" in {dotted(path)}" if path else ""
        return f"unknown key {key!r}{where}{did_you_mean(key, known)}"

    def missing(self, path: tuple, key: str) -> str:
        where = f"{dotted(path)} is missing" if path else "missing"
        return f"{where} required key {key!r}"

    def skip(self, path: tuple, error: jsonschema.ValidationError) -> bool:
        return False

    # translation ---------------------------------------------------------------------------
    def path(self, error: jsonschema.ValidationError) -> tuple:
        """Where *error* is in the document."""
        return (*self.prefix, *error.absolute_path)

    def translate(self, error: jsonschema.ValidationError) -> list[Problem]:
        path = self.path(error)
        if self.doc.is_bad(path):
            return []
        chain = _schema_at(self.root, error.absolute_schema_path)
        rule = next((s["x-presetsync-rule"] for s in reversed(chain) if "x-presetsync-rule" in s), None)
        if rule is not None:
            return self._rule(path, rule)
        if self.skip(path, error):
            return []
        v = error.validator
        instance = error.instance
        if v == "additionalProperties" and isinstance(instance, Mapping):
            props = error.schema.get("properties", {})
            patterns = list(error.schema.get("patternProperties", {}))
            return [
                self.doc.problem((*path, key), self.unknown_key(path, key, error), key=True)
                for key in instance
                if key not in props and not any(re.search(p, key) for p in patterns)
            ]
        if v == "required" and isinstance(instance, Mapping):
            return [
                self.doc.problem(path, self.missing(path, key), key=True)
                for key in error.validator_value
                if key not in instance
            ]
        custom = next((s for s in reversed(chain) if "x-presetsync-error" in s), None)
        if v == "type":
            expected = error.validator_value
            expected = [expected] if isinstance(expected, str) else expected
            words = _one_of([_TYPE_WORDS.get(t, t) for t in expected])
            message = f"{self.name(path)} must be {words}, not {type_phrase(instance)}"
        elif custom is not None:
            title = custom.get("title")
            what = f"invalid {title[0].lower()}{title[1:]}" if title else f"{self.name(path)} is not valid:"
            message = f"{what} {_short(instance)}: {custom['x-presetsync-error']}"
        elif v == "enum":
            options = list(error.validator_value)
            message = f"{self.name(path)} must be one of {_one_of(options)}, not {_short(instance)}"
            if isinstance(instance, str):
                message += did_you_mean(instance, [str(o) for o in options])
        elif v == "const":
            message = f"{self.name(path)} must be {error.validator_value!r}, not {_short(instance)}"
        elif v in ("minimum", "exclusiveMinimum"):
            message = f"{self.name(path)} {instance!r} is too small: the minimum is {error.validator_value}"
        elif v in ("maximum", "exclusiveMaximum"):
            message = f"{self.name(path)} {instance!r} is too large: the maximum is {error.validator_value}"
        elif v == "minItems":
            message = f"{self.name(path)} must have at least {error.validator_value} item(s)"
        elif v == "minLength" and error.validator_value == 1:
            message = f"{self.name(path)} must not be empty"
        elif v == "uniqueItems":
            message = f"{self.name(path)} lists the same item twice"
        else:
            message = f"{self.name(path)}: {error.message}"
        return [self.doc.problem(path, message)]

    def _rule(self, path: tuple, rule: Mapping[str, Any]) -> list[Problem]:
        at = rule.get("at")
        for cut in range(len(path), -1, -1):
            target = _get(self.doc.data, path[:cut])
            if isinstance(target, Mapping) and at in target:
                where = (*path[:cut], at)
                return [self.doc.problem(where, f"{self.name(where)} {rule['message']}", key=True)]
        return [self.doc.problem(path, f"{self.name(path)}: {rule['message']}")]

    def problems(self, errors: Iterable[jsonschema.ValidationError]) -> list[Problem]:
        out: list[Problem] = []
        for error in errors:
            out.extend(self.translate(error))
        return list(dict.fromkeys(out))


_MISSING = object()


def _get(data: Any, path: Sequence[Any]) -> Any:
    for part in path:
        if (isinstance(data, Mapping) and part in data) or (
            isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data)
        ):
            data = data[part]
        else:
            return _MISSING
    return data


# --------------------------------------------------------------------------------------------
# Validators, compiled once from schemas/preset-file.schema.json

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
    quick check descends into fewer subschemas (each descent costs jsonschema a new validator):

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


@dataclass(frozen=True)
class _Validators:
    """``quick`` says whether an instance is fine; ``full`` (with every annotation, for the
    messages) says what is wrong, and runs only for instances ``quick`` refuses."""

    quick: Any
    full: jsonschema.Draft202012Validator


_SCALARS = frozenset({str, int, float, bool, type(None)})
# (id(subschema), a mapping of scalars as (key, type, value) items) -> subschema, for mappings a
# subschema of a quick validator accepted; the entry keeps its subschema alive, so its id stays its own.
_ACCEPTED_MAPPINGS: dict[tuple, Any] = {}


def _properties(validator: Any, properties: Mapping[str, Any], instance: Any, schema: Any) -> Iterable[Any]:
    """jsonschema's ``properties`` for the quick validators: no descent into ``true`` (which accepts
    anything), nor again into a mapping of scalars the same subschema accepted before (presets
    repeat their AUDIO and VIDEO settings)."""
    if not validator.is_type(instance, "object"):
        return
    for name, subschema in properties.items():
        if subschema is True or name not in instance:
            continue
        value = instance[name]
        key = None
        if type(value) is dict and all(type(item) in _SCALARS for item in value.values()):
            key = (id(subschema), tuple((k, type(item), item) for k, item in value.items()))
            if _ACCEPTED_MAPPINGS.get(key) is subschema:
                continue
        failed = False
        for error in validator.descend(value, subschema, path=name, schema_path=name):
            failed = True
            yield error
        if key is not None and not failed and len(_ACCEPTED_MAPPINGS) < 8192:
            _ACCEPTED_MAPPINGS[key] = subschema


_QuickValidator = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"properties": _properties})


def _compile(schema: Mapping[str, Any], known: Mapping[str, Any] | None = None) -> _Validators:
    """The validators of *schema*; the quick one takes the properties in *known* as checked."""
    root = preset_file_schema()
    full = {"$schema": root["$schema"], "$defs": root["$defs"], **schema}
    quick = {"$schema": root["$schema"], **_quick(schema, root)}
    if known:
        quick["properties"] = {**quick["properties"], **dict.fromkeys(known, True)}
    return _Validators(_QuickValidator(quick), jsonschema.Draft202012Validator(full))


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


# --------------------------------------------------------------------------------------------
# Preset files

_PRESET_KEY_ALIASES = {
    "name": "preset",
    "type": "presettype",
    "params": "param",
    "parameters": "param",
    "desc": "description",
}


def _preset_base(path: tuple, multi: bool) -> tuple[tuple, tuple] | None:
    """Split a document path into (preset base, path inside the preset)."""
    if not multi:
        return (), path
    if len(path) >= 2 and path[0] == "presets" and isinstance(path[1], int):
        return path[:2], path[2:]
    return None


class _PresetTranslator(SchemaErrorTranslator):
    def __init__(self, doc: YamlDocument, multi: bool, root_schema: Mapping[str, Any], prefix: tuple = ()):
        super().__init__(doc, root_schema, prefix)
        self.multi = multi

    def _split(self, path: tuple) -> tuple[tuple | None, tuple]:
        split = _preset_base(path, self.multi)
        return (None, path) if split is None else split

    def presettype_at(self, base: tuple) -> str | None:
        item = _get(self.doc.data, base)
        value = item.get("presettype") if isinstance(item, Mapping) else None
        return value if isinstance(value, str) else None

    def name(self, path: tuple) -> str:
        base, rel = self._split(path)
        if base is None:
            return "'presets'" if path == ("presets",) else ("the file" if not path else repr(dotted(path)))
        if not rel:
            return "a preset" if self.multi else "the file"
        if rel[0] == "param" and len(rel) > 1:
            return dotted(rel[1:])
        return repr(dotted(rel))

    def skip(self, path: tuple, error: jsonschema.ValidationError) -> bool:
        base, rel = self._split(path)
        if base is None or len(rel) < 2 or rel[0] != "param":
            return False
        spec = presettype_spec(self.presettype_at(base) or "")
        return spec is not None and generic_path(rel[1:]) in spec.fields

    def translate(self, error: jsonschema.ValidationError) -> list[Problem]:
        path = self.path(error)
        base, rel = self._split(path)
        if base is not None and rel == ("presettype",) and error.validator == "enum":
            value = error.instance
            message = f"unknown presettype {_short(value)}: expected {_one_of(presettypes())}"
            if isinstance(value, str):
                message += did_you_mean(value, presettypes())
            return [self.doc.problem(path, message)]
        if base is not None and rel == ("preset",) and error.validator == "type" and isinstance(error.instance, list):
            return [self.doc.problem(path, "'preset' must be a string (a list of presets goes under 'presets:')")]
        if base is not None and rel == ("preset",) and error.validator == "type" and isinstance(error.instance, int):
            return [
                self.doc.problem(
                    path, f"'preset' must be a string, not {type_phrase(error.instance)}: quote it, '{error.instance}'"
                )
            ]
        if self.multi and len(path) == 2 and path[0] == "presets" and error.validator == "type":
            return [
                self.doc.problem(
                    path, f"each item of 'presets' must be a preset mapping, not {type_phrase(error.instance)}"
                )
            ]
        if path == ("presets",) and error.validator == "type":
            return [self.doc.problem(path, f"'presets' must be a list of presets, not {type_phrase(error.instance)}")]
        return super().translate(error)

    def missing(self, path: tuple, key: str) -> str:
        base, rel = self._split(path)
        if base is not None and not rel:
            item = _get(self.doc.data, base)
            name = item.get("preset") if isinstance(item, Mapping) else None
            of = f" in preset {name!r}" if isinstance(name, str) else ""
            return f"missing required field {key!r}{of}"
        return f"{self.name(path)} is missing required field {key!r}"

    def unknown_key(self, path: tuple, key: str, error: jsonschema.ValidationError) -> str:
        base, rel = self._split(path)
        if base is None:
            return (
                f"unknown top-level key {key!r}: a preset file holds 'presets: [...]' "
                f"(keys starting with x- are ignored){did_you_mean(key, ['presets'])}"
            )
        if not rel:
            known = list(error.schema.get("properties", {}))
            hint = _PRESET_KEY_ALIASES.get(key.lower())
            tail = f"; did you mean {hint!r}?" if hint else did_you_mean(key, known)
            return f"unknown field {key!r} in preset{tail}"
        if rel[0] == "param":
            return self._unknown_param_field(base, rel[1:], key, error)
        return super().unknown_key(path, key, error)

    def _unknown_param_field(self, base: tuple, obj: tuple, key: str, error: jsonschema.ValidationError) -> str:
        presettype = self.presettype_at(base) or "?"
        spec = presettype_spec(presettype)
        full = dotted((*obj, key))
        message = f"unknown field {full!r} for {presettype}"
        if spec is None:
            return message
        plain = ".".join(str(p) for p in (*generic_path(obj), key) if p != ITEMS)
        if plain in spec.known_extras:
            return (
                f"{message}: {spec.known_extras[plain]}; to send it anyway, allow it in presetsync.yaml "
                f"with 'extra_fields: {{{presettype}: [{plain}]}}'"
            )
        siblings = list(error.schema.get("properties", {}))
        best = suggest(key, siblings)
        if best:
            return f"{message}; did you mean {best!r}?"
        elsewhere = [f.name for f in spec.fields.values() if f.path[-1].lower() == key.lower()]
        elsewhere += [dotted(p) for p in spec.objects if p and p[-1].lower() == key.lower()]
        if elsewhere:
            return f"{message}; did you mean {elsewhere[0]!r}?"
        others = [t for t in presettypes() if t != presettype and any(f.path[-1] == key for f in _fields(t))]
        if others:
            return f"{message}: it is a field of {_one_of(others)}"
        return message


def _fields(presettype: str) -> Iterable[FieldSpec]:
    spec = presettype_spec(presettype)
    return spec.fields.values() if spec is not None else ()


def _catalog_values(
    spec: PresetTypeSpec, obj: Mapping[str, Any], path: tuple = (), generic: tuple = ()
) -> Iterable[tuple[tuple, FieldSpec, Any]]:
    """(concrete path, field spec, value) for every catalog field written in *obj* (a param)."""
    for key, value in obj.items():
        sub, sub_generic = (*path, key), (*generic, key)
        field = spec.fields.get(sub_generic)
        if field is not None:
            yield sub, field, value
            continue
        known = spec.objects.get(sub_generic)
        if known is None:
            continue
        if known.is_array:
            if isinstance(value, list):
                for index, item in enumerate(value):
                    if isinstance(item, Mapping):
                        yield from _catalog_values(spec, item, (*sub, index), (*sub_generic, ITEMS))
        elif isinstance(value, Mapping):
            yield from _catalog_values(spec, value, sub, sub_generic)


def _shown(value: Any, parsed: Any) -> str:
    if isinstance(value, str) and str(parsed) != value:
        return f"{value} (= {parsed})"
    return str(value)


_KIND_WORDS = {"bitrate": "a bitrate such as 128k or 128000", "integer": "an integer", "number": "a number"}


def _range_message(name: str, shown: str, lo: float | None, hi: float | None) -> str:
    if lo is not None and hi is not None:
        return f"{name} {shown} is out of range: allowed are {lo} to {hi}"
    if lo is not None:
        return f"{name} {shown} is out of range: the minimum is {lo}"
    return f"{name} {shown} is out of range: the maximum is {hi}"


def check_field(spec: FieldSpec, name: str, value: Any) -> str | None:
    """What is wrong with one catalog field's value as written in a file, or ``None``.

    Strings of numeric fields must match the schema's ``pattern``; the value is then read as
    the service reads it (bitrate units, numeric strings) and checked against ``enum`` and
    ``minimum``/``maximum`` from the schema.
    """
    if value is None:
        return f"{name} has no value"
    if spec.kind == "string":
        if not isinstance(value, str):
            return f"{name} must be a string, not {type_phrase(value)}"
        if value == "":
            return f"{name} must not be empty"
        if spec.enum is not None and value not in spec.enum:
            return f"{name} {value!r} is not one of {_one_of(spec.enum)}{did_you_mean(value, spec.enum)}"
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return f"{name} must be {_KIND_WORDS[spec.kind]}, not {type_phrase(value)}"
    if isinstance(value, str):
        if spec.wire != "string":
            hint = " (write it without quotes)" if parse_number(value) is not None else ""
            return f"{name} must be {_KIND_WORDS[spec.kind]}, not {type_phrase(value)}{hint}"
        if value in spec.keywords:
            return None
        if spec.pattern and not re.search(spec.pattern, value):
            if spec.kind == "bitrate":
                return (
                    f"{name}: cannot read bitrate {value!r}: write a whole number of bit/s, optionally with a "
                    "k, kb, m or mb suffix (128k, 1.25M, 500000)"
                )
            kind = "a whole number" if spec.kind == "integer" else "a number"
            words = "".join(f" or '{k}'" for k in spec.keywords)
            return f"{name} must be {kind}{words}, not {value!r}"
    if spec.kind == "bitrate":
        parsed = parse_bitrate(value)
        if parsed is None:
            return f"{name} {value!r} is not a whole number of bit/s"
    else:
        parsed = parse_number(value, integer=spec.kind == "integer")
        if parsed is None:
            kind = "a whole number" if spec.kind == "integer" else "a finite number"
            return f"{name} must be {kind}, not {_short(value)}"
    if spec.enum is not None and parsed not in spec.enum:
        return f"{name} must be {_one_of(spec.enum)}, not {_short(value)}"
    lo, hi = spec.minimum, spec.maximum
    if (lo is not None and parsed < lo) or (hi is not None and parsed > hi):
        return _range_message(name, _shown(value, parsed), lo, hi)
    return None


_ACCEPTED: dict[tuple, FieldSpec] = {}  # (id(spec), type, value) -> spec, for values check_field accepts


def _field_problem(spec: FieldSpec, path: tuple, value: Any) -> str | None:
    """:func:`check_field` of the value at *path* (in param), remembering the scalar values it
    accepts: presets repeat their values. The entry keeps its spec alive, so its id stays its own."""
    if type(value) not in _SCALARS:
        return check_field(spec, dotted(path), value)
    key = (id(spec), type(value), value)
    if _ACCEPTED.get(key) is spec:
        return None
    message = check_field(spec, dotted(path), value)
    if message is None and len(_ACCEPTED) < 8192:
        _ACCEPTED[key] = spec
    return message


_REMOVE = object()


def strip_extra_fields(param: Any, presettype: str, extra_fields: Iterable[str]) -> Any:
    """A copy of *param* without the fields the configuration allows beyond the catalog.

    Catalog fields are never stripped; a non-catalog container emptied by the stripping goes too.
    """
    spec = presettype_spec(presettype)
    if spec is None or not isinstance(param, Mapping):
        return param
    catalog_paths = {tuple(p for p in path if p != ITEMS) for path in (*spec.fields, *spec.objects)}

    def strip(node: Any, parts: tuple[str, ...], path: tuple) -> Any:
        if isinstance(node, list):
            return [strip(item, parts, (*path, ITEMS)) for item in node]
        if not isinstance(node, Mapping) or parts[0] not in node:
            return node
        key = parts[0]
        here = (*path, key)
        child = _REMOVE if len(parts) == 1 else strip(node[key], parts[1:], here)
        new = dict(node)
        plain = tuple(p for p in here if p != ITEMS)
        if child is _REMOVE or (child in ({}, []) and plain not in catalog_paths and node[key] not in ({}, [])):
            del new[key]
        else:
            new[key] = child
        return new

    for entry in extra_fields:
        parts = tuple(p for p in str(entry).replace("[]", "").split(".") if p)
        if parts and parts not in catalog_paths:
            param = strip(param, parts, ())
    return param


@dataclass
class LoadResult:
    """What :func:`load_presets` found. ``presets`` is meaningful only when ``problems`` is empty."""

    presets: list[DesiredPreset] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_document(
    doc: YamlDocument, extra_fields: Mapping[str, Sequence[str]] | None = None
) -> tuple[list[DesiredPreset], list[Problem]]:
    """Validate one loaded preset file; returns its presets and its problems (not the loader's)."""
    extra_fields = extra_fields or {}
    data = doc.data
    if data is None and (doc.empty or doc.is_bad(()) or doc.problems):
        return [], []
    if not isinstance(data, Mapping):
        hint = ": put the list under 'presets:'" if isinstance(data, list) else ""
        return [], [
            doc.problem(
                (),
                f"a preset file holds a mapping ('presets: [...]' or a single preset), not {type_phrase(data)}{hint}",
            )
        ]
    multi = "presets" in data
    bases: list[tuple]
    if multi:
        items = data["presets"] if isinstance(data["presets"], list) else []
        bases = [("presets", index) for index in range(len(items))]
    else:
        items, bases = [data], [()]

    # Quick yes/no checks first; the schema's full error report only for what they refuse.
    refused: list[tuple[_Validators, tuple, Any]] = []
    if multi and not _file_validators().quick.is_valid(data):
        refused.append((_file_validators(), (), data))
    fields: list[tuple[tuple, str]] = []  # (path, message) of catalog field values
    for base, item in zip(bases, items):
        presettype = item.get("presettype") if isinstance(item, Mapping) else None
        spec = presettype_spec(presettype) if isinstance(presettype, str) else None
        if spec is not None and "param" in item:
            extras = extra_fields.get(spec.name, ())
            if extras:
                item = {**item, "param": strip_extra_fields(item["param"], spec.name, extras)}
        validators = preset_validators(spec.name if spec is not None else None)
        if not validators.quick.is_valid(item):
            refused.append((validators, base, item))
        param = item.get("param") if isinstance(item, Mapping) else None
        if spec is not None and isinstance(param, Mapping):
            for concrete, fspec, value in _catalog_values(spec, param):
                message = _field_problem(fspec, concrete, value)
                where = (*base, "param", *concrete) if message else ()
                if message and not doc.is_bad(where):
                    fields.append((where, message))

    # positions of what is wrong: the presets the schema refuses, the fields (not the file's
    # top level, known already)
    doc.positions.want([base for _, base, _ in refused if base or not multi] + [where for where, _ in fields])
    problems = [doc.problem(where, message) for where, message in fields]
    for validators, base, instance in refused:
        translator = _PresetTranslator(doc, multi, validators.full.schema, prefix=base)
        problems += translator.problems(validators.full.iter_errors(instance))

    presets = []
    for base, item in zip(bases, items):
        if not isinstance(item, Mapping):
            continue
        name, presettype, description, param = (item.get(k) for k in ("preset", "presettype", "description", "param"))
        if isinstance(name, str) and isinstance(presettype, str) and isinstance(param, Mapping):
            line, _ = doc.positions.find(base)
            presets.append(
                DesiredPreset(
                    name=name,
                    presettype=presettype,
                    description=description if isinstance(description, str) else None,
                    param=param if type(param) is dict else dict(param),  # the loader's own dict
                    file=doc.file,
                    line=line,
                    positions=doc.positions,
                    base=base,
                )
            )
    return presets, problems


def _duplicate_names(presets: Sequence[DesiredPreset]) -> list[Problem]:
    by_name: dict[str, list[DesiredPreset]] = {}
    for preset in presets:
        by_name.setdefault(preset.name, []).append(preset)
    repeated = [group for group in by_name.values() if len(group) > 1]
    # where the names are written: at most one more read of each file concerned
    wanted: dict[int, tuple[Positions, list[tuple]]] = {}
    for preset in (p for group in repeated for p in group if p.positions is not None):
        assert preset.positions is not None
        wanted.setdefault(id(preset.positions), (preset.positions, []))[1].append((*preset.base, "preset"))
    for positions, paths in wanted.values():
        positions.want(paths)
    problems = []
    for group in repeated:
        name = group[0].name
        places = [(p, p.positions.find((*p.base, "preset")) if p.positions else (p.line, 1)) for p in group]
        for preset, (line, col) in places:
            others = [f"{o.file}:{ol}" for o, (ol, _) in places if o is not preset]
            shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
            problems.append(
                Problem(preset.file, line, col, f"preset {name!r} is defined more than once: also at {shown}")
            )
    return problems


def load_presets(
    paths: Iterable[Path | str] | None = None,
    config: Config | None = None,
    *,
    manifests: list[tuple[Path, YamlDocument]] | None = None,
) -> LoadResult:
    """Load and validate every preset file under *paths* (default: the configuration's
    ``presets``, else ``./presets``). Collects every problem of every file; sends nothing.

    With a *manifests* list, task manifests found among the files (see
    :func:`presetsync.tasks.manifest.is_manifest`) are appended to it, loaded, instead of
    being checked as preset files.
    """
    if manifests is not None:
        from ..tasks.manifest import is_manifest
    paths = list(paths or ())
    if not paths:
        paths = config.preset_paths() if config is not None else [Path("presets")]
    extra_fields = dict(config.extra_fields) if config is not None else {}
    files, problems = discover(paths, suffixes=PRESET_SUFFIXES)
    result = LoadResult()
    for file in files:
        doc = load_yaml(file)
        if manifests is not None and is_manifest(doc.data):
            manifests.append((file, doc))
            continue
        result.files.append(file)
        problems.extend(doc.problems)
        presets, found = check_document(doc, extra_fields)
        problems.extend(found)
        result.presets.extend(presets)
    problems.extend(_duplicate_names(result.presets))
    result.problems = sorted(set(problems))
    return result


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def validate_paths(
    paths: Iterable[Path | str] | None = None,
    config: Config | None = None,
    *,
    out: TextIO | None = None,
    live_presets: Any = None,
) -> int:
    """What ``presetsync validate`` does: print every problem (one per line, sorted by file and
    line) and a one-line summary; return the exit code (0 ok, 1 problems).

    Task manifests among the files are checked too (:mod:`presetsync.tasks.check`): their
    presets must exist in the preset files or in the configured service, which is read (never
    written) only for names the files do not have; when it cannot be read, such names are
    warnings. *live_presets* (tests) replaces that read: a callable returning
    ``(names or None, why not)``.
    """
    out = out or sys.stdout
    manifest_docs: list[tuple[Path, YamlDocument]] = []
    result = load_presets(paths, config, manifests=manifest_docs)
    problems, warnings, manifest_tasks = list(result.problems), [], 0
    if manifest_docs:
        from ..tasks.check import check_manifest_docs

        report = check_manifest_docs(manifest_docs, result.presets, config, live_presets=live_presets)
        problems = sorted(set(problems + report.problems))
        warnings, manifest_tasks = report.warnings, report.tasks
    for problem in problems:
        print(problem, file=out)
    for warning in warnings:
        print(warning, file=out)
    if problems:
        files = len({p.file for p in problems})
        print(f"{_plural(len(problems), 'problem')} in {_plural(files, 'file')}", file=out)
        return 1
    summary = f"{_plural(len(result.files) + len(manifest_docs), 'file')}, {_plural(len(result.presets), 'preset')}"
    if manifest_docs:
        summary += f", {_plural(len(manifest_docs), 'manifest')} with {_plural(manifest_tasks, 'task')}"
    if warnings:
        summary += f" ({_plural(len(warnings), 'warning')})"
    print(f"{summary}: ok", file=out)
    return 0
