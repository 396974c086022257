"""The schema errors of preset files in the words of a preset file: unknown fields with a
"did you mean" (or the presettype they belong to), misspelt preset keys, unknown presettypes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..inputs.documents import YamlDocument
from ..inputs.positions import ITEMS, YamlPath, dotted
from ..inputs.problems import Problem
from ..inputs.schema_messages import (
    SchemaError,
    SchemaErrorTranslator,
    did_you_mean,
    one_of,
    short_value,
    suggest,
    type_phrase,
    value_at,
)
from .catalog import FieldSpec, generic_path, presettype_spec, presettypes

_PRESET_KEY_ALIASES = {
    "name": "preset",
    "type": "presettype",
    "params": "param",
    "parameters": "param",
    "desc": "description",
}


def _preset_base(path: YamlPath, multi: bool) -> tuple[YamlPath, YamlPath] | None:
    """Split a document path into (preset base, path inside the preset)."""
    if not multi:
        return (), path
    if len(path) >= 2 and path[0] == "presets" and isinstance(path[1], int):
        return path[:2], path[2:]
    return None


class _PresetTranslator(SchemaErrorTranslator):
    def __init__(self, doc: YamlDocument, multi: bool, root_schema: Mapping[str, Any], prefix: YamlPath = ()):
        super().__init__(doc, root_schema, prefix)
        self.multi = multi

    def _split(self, path: YamlPath) -> tuple[YamlPath | None, YamlPath]:
        split = _preset_base(path, self.multi)
        return (None, path) if split is None else split

    def presettype_at(self, base: YamlPath) -> str | None:
        item = value_at(self.doc.data, base)
        value = item.get("presettype") if isinstance(item, Mapping) else None
        return value if isinstance(value, str) else None

    def name(self, path: YamlPath) -> str:
        base, rel = self._split(path)
        if base is None:
            return "'presets'" if path == ("presets",) else ("the file" if not path else repr(dotted(path)))
        if not rel:
            return "a preset" if self.multi else "the file"
        if rel[0] == "param" and len(rel) > 1:
            return dotted(rel[1:])
        return repr(dotted(rel))

    def skip(self, path: YamlPath, error: SchemaError) -> bool:
        base, rel = self._split(path)
        if base is None or len(rel) < 2 or rel[0] != "param":
            return False
        spec = presettype_spec(self.presettype_at(base) or "")
        return spec is not None and generic_path(rel[1:]) in spec.fields

    def translate(self, error: SchemaError) -> list[Problem]:
        path = self.path(error)
        base, rel = self._split(path)
        if base is not None and rel == ("presettype",) and error.validator == "enum":
            value = error.instance
            message = f"unknown presettype {short_value(value)}: expected {one_of(presettypes())}"
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

    def missing(self, path: YamlPath, key: str) -> str:
        base, rel = self._split(path)
        if base is not None and not rel:
            item = value_at(self.doc.data, base)
            name = item.get("preset") if isinstance(item, Mapping) else None
            of = f" in preset {name!r}" if isinstance(name, str) else ""
            return f"missing required field {key!r}{of}"
        return f"{self.name(path)} is missing required field {key!r}"

    def unknown_key(self, path: YamlPath, key: str, error: SchemaError) -> str:
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

    def _unknown_param_field(self, base: YamlPath, obj: YamlPath, key: str, error: SchemaError) -> str:
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
            return f"{message}: it is a field of {one_of(others)}"
        return message


def _fields(presettype: str) -> Iterable[FieldSpec]:
    spec = presettype_spec(presettype)
    return spec.fields.values() if spec is not None else ()
