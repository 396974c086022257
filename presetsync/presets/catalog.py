"""The parameter catalog, read from the JSON Schemas: the schema is the single source of truth.

``schemas/preset-file.schema.json`` dispatches ``param`` on ``presettype`` with one
``if``/``then`` per type (``$defs/preset/allOf``). Every leaf field there carries a custom
annotation that editors ignore and this module turns into a :class:`FieldSpec`::

    "x-presetsync": {"kind": "bitrate" | "integer" | "number" | "string",
                     "wire": "string" | "integer" | "number",
                     "documented": true | false,
                     "inferred": ["default", "minimum", ...],   # optional: facts not documented
                     "keywords": ["auto"]}                       # optional: words a numeric field allows

The rest comes from the standard keywords of the same property: ``default``, ``minimum``,
``maximum``, ``enum``, ``pattern``, ``title``, ``description``. A param object may list known
but undocumented fields under ``"x-presetsync-extras"`` (dotted path -> note), used to explain
"unknown field" problems.

The schema files are read by :mod:`presetsync.inputs.schemas`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..inputs.positions import ITEMS, dotted
from ..inputs.schemas import preset_file_schema

KINDS = ("bitrate", "integer", "number", "string")


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()  # a field without a default


def resolve(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    """Follow local ``$ref``s (``#/$defs/...``) until a schema without one."""
    seen = 0
    while "$ref" in schema:
        ref = schema["$ref"]
        if not ref.startswith("#/"):
            raise ValueError(f"only local $ref is supported, not {ref!r}")
        target: Any = root
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        schema = target
        seen += 1
        if seen > 50:
            raise ValueError(f"$ref loop at {ref!r}")
    return schema


@dataclass(frozen=True)
class FieldSpec:
    """One leaf field of a presettype's param, e.g. ``("AUDIO", "ab")``."""

    path: tuple[str, ...]
    kind: str
    wire: str
    documented: bool
    default: Any = MISSING  # a JSON value from the schema, or MISSING
    minimum: float | None = None
    maximum: float | None = None
    enum: tuple[Any, ...] | None = None
    keywords: tuple[str, ...] = ()
    pattern: str | None = None
    inferred: frozenset[str] = frozenset()
    title: str = ""
    description: str = ""

    @property
    def name(self) -> str:
        """Dotted name relative to param: ``AUDIO.ab``, ``IMAGE[].logoUrl``."""
        return dotted(self.path)

    @property
    def has_default(self) -> bool:
        return self.default is not MISSING


@dataclass(frozen=True)
class ObjectSpec:
    """An object (or array of objects) inside param; ``()`` is param itself."""

    path: tuple[str, ...]
    properties: tuple[str, ...]
    is_array: bool = False
    required: tuple[str, ...] = ()


@dataclass(frozen=True)
class PresetTypeSpec:
    name: str
    title: str
    description: str
    fields: dict[tuple[str, ...], FieldSpec] = field(compare=False)
    objects: dict[tuple[str, ...], ObjectSpec] = field(compare=False)
    known_extras: dict[str, str] = field(compare=False, default_factory=dict)

    def field(self, ref: str | tuple[str, ...]) -> FieldSpec | None:
        """The spec of a field by dotted name or path (list indexes count as ``*``)."""
        path = tuple(ref.split(".")) if isinstance(ref, str) else ref
        return self.fields.get(generic_path(path))

    def defaults(self) -> dict[tuple[str, ...], Any]:
        return {path: spec.default for path, spec in self.fields.items() if spec.has_default}


def generic_path(path: tuple[str | int, ...]) -> tuple[str, ...]:
    """A concrete path (with list indexes) as a catalog path (with ``*``)."""
    return tuple(ITEMS if isinstance(part, int) else part for part in path)


def _field_spec(path: tuple[str, ...], prop: Mapping[str, Any]) -> FieldSpec:
    ann = prop["x-presetsync"]
    if ann.get("kind") not in KINDS:
        raise ValueError(f"{dotted(path)}: x-presetsync kind must be one of {KINDS}, not {ann.get('kind')!r}")
    return FieldSpec(
        path=path,
        kind=ann["kind"],
        wire=ann.get("wire", "string"),
        documented=bool(ann.get("documented", False)),
        default=prop.get("default", MISSING),
        minimum=prop.get("minimum"),
        maximum=prop.get("maximum"),
        enum=tuple(prop["enum"]) if "enum" in prop else None,
        keywords=tuple(ann.get("keywords", ())),
        pattern=prop.get("pattern"),
        inferred=frozenset(ann.get("inferred", ())),
        title=prop.get("title", ""),
        description=prop.get("description", ""),
    )


def _walk_object(
    schema: Mapping[str, Any],
    root: Mapping[str, Any],
    path: tuple[str, ...],
    fields: dict[tuple[str, ...], FieldSpec],
    objects: dict[tuple[str, ...], ObjectSpec],
    is_array: bool = False,
) -> None:
    props = schema.get("properties", {})
    objects[path] = ObjectSpec(path, tuple(props), is_array=is_array, required=tuple(schema.get("required", ())))
    for name, raw in props.items():
        prop = resolve(raw, root)
        sub = (*path, name)
        if "x-presetsync" in prop:
            fields[sub] = _field_spec(sub, prop)
        elif prop.get("type") == "object":
            _walk_object(prop, root, sub, fields, objects)
        elif prop.get("type") == "array" and isinstance(prop.get("items"), Mapping):
            items = resolve(prop["items"], root)
            objects[sub] = ObjectSpec(sub, (), is_array=True)
            _walk_object(items, root, (*sub, ITEMS), fields, objects, is_array=False)
        else:
            raise ValueError(f"{dotted(sub)}: a leaf field needs an x-presetsync annotation")


@functools.cache
def catalog() -> dict[str, PresetTypeSpec]:
    """presettype -> its spec, in the schema's order."""
    root = preset_file_schema()
    defs = root["$defs"]
    order = list(defs["presettype"]["enum"])
    params: dict[str, Mapping[str, Any]] = {}
    for branch in defs["preset"]["allOf"]:
        name = branch["if"]["properties"]["presettype"]["const"]
        params[name] = resolve(branch["then"]["properties"]["param"], root)
    if set(params) != set(order):
        raise ValueError(f"presettype enum {order} does not match the param branches {sorted(params)}")
    out = {}
    for name in order:
        schema = params[name]
        fields: dict[tuple[str, ...], FieldSpec] = {}
        objects: dict[tuple[str, ...], ObjectSpec] = {}
        _walk_object(schema, root, (), fields, objects)
        out[name] = PresetTypeSpec(
            name=name,
            title=schema.get("title", name),
            description=schema.get("description", ""),
            fields=fields,
            objects=objects,
            known_extras=dict(schema.get("x-presetsync-extras", {})),
        )
    return out


def presettypes() -> tuple[str, ...]:
    return tuple(catalog())


def presettype_spec(name: str) -> PresetTypeSpec | None:
    return catalog().get(name)


def field_table(presettype: str) -> dict[tuple[str, ...], FieldSpec]:
    """The leaf fields of a presettype by path (empty for an unknown presettype)."""
    spec = catalog().get(presettype)
    return spec.fields if spec is not None else {}
