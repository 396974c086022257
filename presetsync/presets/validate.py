"""Offline validation of preset files: every problem in every file, each at its key or value.

Nothing is sent anywhere. Checks, in one pass over each file:

1. YAML itself (:mod:`presetsync.inputs.documents`): syntax, duplicate keys, non-UTF-8 bytes, unsafe tags, empty files;
2. the JSON Schema (``schemas/preset-file.schema.json``): shape, required fields, unknown fields
   (with a "did you mean"), presettype, preset name, cross-field rules such as "shortSide needs
   as: 1" (``x-presetsync-rule`` in the schema), compiled in :mod:`.validators`; jsonschema's
   errors become short messages at the offending key or value (:mod:`.preset_messages`);
3. every catalog field's value, read as the service reads it (:mod:`.normalize`): bitrate
   spellings, numeric strings, ranges after unit parsing (``ab: 5k`` is below 20000), enums;
4. across files: a preset name defined twice (both places are reported).

Fields a configuration allows with ``extra_fields`` are taken out before the schema check and
are otherwise not checked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..inputs.discovery import PRESET_SUFFIXES, discover
from ..inputs.documents import YamlDocument, load_yaml
from ..inputs.positions import ITEMS, Positions, YamlPath, dotted
from ..inputs.problems import Problem
from ..inputs.schema_messages import did_you_mean, one_of, short_value, type_phrase
from .catalog import FieldSpec, PresetTypeSpec, presettype_spec
from .model import DesiredPreset, is_manifest
from .normalize import parse_bitrate, parse_number
from .preset_messages import _PresetTranslator
from .validators import _SCALARS, _file_validators, _Validators, preset_validators

if TYPE_CHECKING:
    from ..config import Config


def _catalog_values(
    spec: PresetTypeSpec, obj: Mapping[str, Any], path: YamlPath = (), generic: tuple[str, ...] = ()
) -> Iterable[tuple[YamlPath, FieldSpec, Any]]:
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
            return f"{name} {value!r} is not one of {one_of(spec.enum)}{did_you_mean(value, spec.enum)}"
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
    parsed: float | None
    if spec.kind == "bitrate":
        parsed = parse_bitrate(value)
        if parsed is None:
            return f"{name} {value!r} is not a whole number of bit/s"
    else:
        parsed = parse_number(value, integer=spec.kind == "integer")
        if parsed is None:
            kind = "a whole number" if spec.kind == "integer" else "a finite number"
            return f"{name} must be {kind}, not {short_value(value)}"
    if spec.enum is not None and parsed not in spec.enum:
        return f"{name} must be {one_of(spec.enum)}, not {short_value(value)}"
    lo, hi = spec.minimum, spec.maximum
    if (lo is not None and parsed < lo) or (hi is not None and parsed > hi):
        return _range_message(name, _shown(value, parsed), lo, hi)
    return None


# (id(spec), type, value) -> spec, for the values check_field accepts
_ACCEPTED: dict[tuple[int, type, Any], FieldSpec] = {}


def _field_problem(spec: FieldSpec, path: YamlPath, value: Any) -> str | None:
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

    def strip(node: Any, parts: tuple[str, ...], path: YamlPath) -> Any:
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
    bases: list[YamlPath]
    if multi:
        items = data["presets"] if isinstance(data["presets"], list) else []
        bases = [("presets", index) for index in range(len(items))]
    else:
        items, bases = [data], [()]

    # Quick yes/no checks first; the schema's full error report only for what they refuse.
    refused: list[tuple[_Validators, YamlPath, Any]] = []
    if multi and not _file_validators().quick.is_valid(data):
        refused.append((_file_validators(), (), data))
    fields: list[tuple[YamlPath, str]] = []  # (path, message) of catalog field values
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
    wanted: dict[int, tuple[Positions, list[YamlPath]]] = {}
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
    :func:`.model.is_manifest`) are appended to it, loaded, instead of being checked as preset
    files.
    """
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
