"""Normalisation, in one place: what the service treats as equal becomes equal.

Both sides of a plan go through here: the desired presets (as written in files) and the live
ones (as GetPresetList/GetPresetDetail echo them), so a plan right after an apply is empty.
Everything is driven by the per-presettype field table of :mod:`.catalog`.

The canonical form
------------------
* Bitrates (kind ``bitrate``: ``ab``, ``vb``) become an ``int`` of bit/s. Suffixes ``k``/``kb``
  (x1000) and ``m``/``mb`` (x1000000) in any case, decimals allowed:
  ``"64k" == "64kb" == "64000" == 64000`` and ``"1.25M" == 1250000``.
* Numeric fields (kinds ``integer``/``number``) become numbers whatever the wire type:
  ``"25" == 25 == 25.0``, ``"640" == 640``; a whole number is an ``int``, otherwise a ``float``.
  Keywords a field allows (``rotate: auto``) stay strings.
* Strings are compared as they are: no case folding (``mp4`` != ``MP4``).
* **Defaults are dropped.** A field equal to its documented default (``intelligentSwitch`` 0,
  ``AUDIO.an`` 0, ``AUDIO.acodec`` aac, ``VIDEO.vcodec`` h264, ``VIDEO.as`` 0, and the inferred
  ``VIDEO.vn`` 0) is removed, and so is a catalog sub-object (``AUDIO``, ``VIDEO``) that becomes
  empty. ``null`` and ``""`` in a catalog field count as absent. So absent == default == written
  default, and the canonical form holds only what differs from the service's behaviour by default.
* Keys are in a stable order: catalog fields in schema order, then any others sorted.
* Description: ``""`` and ``None`` are both "no description" and the key is omitted.

Totality: live data may hold anything. Unknown fields, values that do not parse (``vb: "fast"``),
booleans, nulls in unknown places, a ``param`` that is not a mapping: all are kept as they are
(deep-copied), never an exception. A ``param`` given as JSON text of an object is decoded first.
Extra fields allowed by the configuration (``extra_fields``) get the generic rule only: numeric
strings become numbers.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, NamedTuple, Union, overload

from ..inputs.positions import ITEMS
from .catalog import FieldSpec, PresetTypeSpec, presettype_spec

_BITRATE = re.compile(r"([0-9]+(?:\.[0-9]+)?|\.[0-9]+)([kKmM][bB]?)?")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_MULTIPLIER = {"": 1, "k": 1000, "kb": 1000, "m": 1_000_000, "mb": 1_000_000}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def canonical_number(value: int | float | Decimal) -> int | float:
    """A whole number as ``int``, anything else as ``float``."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def parse_bitrate(value: Any, *, lenient: bool = False) -> int | None:
    """Bits per second from ``64000``, ``"64000"``, ``"64k"``, ``"64KB"``, ``"1.25M"``; ``None`` if
    *value* is not a bitrate or not a whole number of bit/s. *lenient* ignores surrounding spaces."""
    if _is_number(value):
        if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
            return None
        return int(value)
    if not isinstance(value, str):
        return None
    text = value.strip() if lenient else value
    match = _BITRATE.fullmatch(text)
    if match is None:
        return None
    try:
        amount = Decimal(match.group(1)) * _MULTIPLIER[(match.group(2) or "").lower()]
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
        return None
    if amount != amount.to_integral_value():
        return None
    return int(amount)


@overload
def parse_number(value: Any, *, integer: Literal[True], lenient: bool = True) -> int | None: ...
@overload
def parse_number(value: Any, *, integer: bool = False, lenient: bool = True) -> int | float | None: ...
def parse_number(value: Any, *, integer: bool = False, lenient: bool = True) -> int | float | None:
    """A number from a number or a numeric string (``"25"``, ``"29.97"``); ``None`` otherwise.

    With *integer*, only whole numbers count (``"44100.0"`` is 44100 when *lenient*, else ``None``).
    Booleans, NaN and infinities are not numbers here.
    """
    if _is_number(value):
        if isinstance(value, float) and not math.isfinite(value):
            return None
        number: int | float = canonical_number(value)
    elif isinstance(value, str):
        text = value.strip() if lenient else value
        if not _DECIMAL.fullmatch(text) or (not lenient and integer and not text.lstrip("+-").isdigit()):
            return None
        try:
            number = canonical_number(Decimal(text))
        except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
            return None
    else:
        return None
    if integer and not isinstance(number, int):
        return None
    return number


def _same(a: object, b: object) -> bool:
    """Equality that does not take ``True`` for ``1``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _copy(value: Any) -> Any:
    """A deep copy (scalars are their own copy)."""
    return value if type(value) in _SCALARS else copy.deepcopy(value)


def normalize_value(spec: FieldSpec, value: Any) -> Any:
    """The canonical form of one catalog field's value; anything unreadable is returned as is."""
    if spec.kind != "string" and type(value) in _SCALARS:
        # a type is hashable; mypy does not see it through lru_cache's Hashable
        return _normalize_scalar(spec.kind, spec.keywords, type(value), value)  # type: ignore[arg-type]
    return _normalize(spec.kind, spec.keywords, value)


@functools.lru_cache(maxsize=4096)
def _normalize_scalar(kind: str, keywords: tuple[str, ...], value_type: type, value: Any) -> Any:
    """:func:`_normalize` of a scalar, cached: presets repeat their values (*value_type* keeps
    ``1``, ``1.0`` and ``True`` apart)."""
    return _normalize(kind, keywords, value)


def _normalize(kind: str, keywords: tuple[str, ...], value: Any) -> Any:
    if kind == "bitrate":
        parsed = parse_bitrate(value, lenient=True)
        return parsed if parsed is not None else _copy(value)
    if kind in ("integer", "number"):
        if isinstance(value, str) and value.strip() in keywords:
            return value.strip()
        number = parse_number(value, integer=kind == "integer", lenient=True)
        return number if number is not None else _copy(value)
    return _copy(value)


def _generic_value(value: Any) -> Any:
    """Extra fields: numeric strings become numbers, everything else stays (recursively)."""
    if isinstance(value, Mapping):
        return {k: _generic_value(v) for k, v in _sorted_items(value, ())}
    if isinstance(value, list):
        return [_generic_value(v) for v in value]
    number = parse_number(value, lenient=True)
    return number if number is not None and not isinstance(value, bool) else _copy(value)


def _key_order(item: tuple[Any, Any]) -> tuple[str, str]:
    """How keys outside the catalog are sorted (whatever their type)."""
    return str(type(item[0])), str(item[0])


def _sorted_items(obj: Mapping[Any, Any], known: Iterable[str]) -> list[tuple[Any, Any]]:
    known = tuple(known)
    first = [(k, obj[k]) for k in known if k in obj]
    if len(first) == len(obj):
        return first  # catalog keys only, the usual case: nothing to sort
    return first + sorted(((k, v) for k, v in obj.items() if k not in known), key=_key_order)


ExtraFields = Union[Iterable[str], Mapping[str, Iterable[str]], None]


def extra_fields_for(presettype: str, extra_fields: ExtraFields) -> tuple[str, ...]:
    """The dotted extra field paths for *presettype*, from either a plain list of paths or the
    configuration's mapping ``{presettype: [paths]}``."""
    if not extra_fields:
        return ()
    if isinstance(extra_fields, Mapping):
        return tuple(extra_fields.get(presettype, ()) or ())
    if isinstance(extra_fields, str):
        return (extra_fields,)
    return tuple(extra_fields)


def _extra_paths(extra_fields: Iterable[str]) -> set[tuple[str, ...]]:
    out = set()
    for entry in extra_fields:
        parts = tuple(p for p in str(entry).replace("[]", "").split(".") if p)
        if parts:
            out.add(parts)
    return out


_NO_DEFAULT = object()  # a field without a documented default
_STRINGS_KEPT = 4096  # distinct string values a field remembers the canonical form of


class _FieldRule:
    """One catalog field's normalisation, with its normalised default (if it has one) and the
    canonical form of the strings seen so far: presets repeat their values (``"128k"``)."""

    __slots__ = ("default", "keywords", "kind", "spec", "strings")

    def __init__(self, spec: FieldSpec):
        self.spec, self.kind, self.keywords = spec, spec.kind, spec.keywords
        self.default: object = normalize_value(spec, spec.default) if spec.has_default else _NO_DEFAULT
        self.strings: dict[str, object] = {}

    def normalize(self, value: object) -> object:
        kind = type(value)
        if kind is int:
            return value  # an int is its own canonical form, whatever the field's kind
        if kind is str:
            assert isinstance(value, str)
            norm = self.strings.get(value, _NO_DEFAULT)
            if norm is _NO_DEFAULT:
                norm = _normalize(self.kind, self.keywords, value)
                if len(self.strings) < _STRINGS_KEPT:
                    self.strings[value] = norm
            return norm
        return normalize_value(self.spec, value)


class _Child(NamedTuple):
    """A catalog object (or list of objects) below another: its generic path."""

    path: tuple[str, ...]
    is_array: bool


class _ObjectRule:
    """What the keys of the catalog object at one generic path are: its properties in schema
    order, and the field or object each catalog key names."""

    __slots__ = ("entries", "properties")

    def __init__(self, spec: PresetTypeSpec, generic: tuple[str, ...]):
        known = spec.objects.get(generic)
        self.properties: tuple[str, ...] = known.properties if known is not None else ()
        self.entries: dict[str, _FieldRule | _Child] = {}
        depth = len(generic) + 1
        for path, field in spec.fields.items():
            if len(path) == depth and path[:-1] == generic:
                self.entries[path[-1]] = _FieldRule(field)
        for path, obj in spec.objects.items():
            if len(path) == depth and path[:-1] == generic:
                self.entries[path[-1]] = _Child(path, obj.is_array)


class _Normalizer:
    """Normalises the params of one presettype with one set of extra fields; made once for each
    (see :func:`_normalizer`), with the rules of each catalog object made on first use."""

    def __init__(self, spec: PresetTypeSpec, extra_fields: Iterable[str]):
        self.spec = spec
        self.extras = _extra_paths(extra_fields)
        self.rules: dict[tuple[str, ...], _ObjectRule] = {}

    def is_extra(self, generic: tuple[str, ...]) -> bool:
        if not self.extras:
            return False
        plain = tuple(p for p in generic if p != ITEMS)
        return any(plain[: len(extra)] == extra for extra in self.extras)

    def obj(self, generic: tuple[str, ...], value: Mapping[Any, Any]) -> dict[Any, Any]:
        """The canonical form of the mapping *value* at the catalog path *generic* (``*`` for list
        items): its catalog keys in schema order, then any others sorted."""
        rule = self.rules.get(generic)
        if rule is None:
            rule = self.rules[generic] = _ObjectRule(self.spec, generic)
        entries = rule.entries
        out: dict[Any, Any] = {}
        written = 0
        for key in rule.properties:
            if key not in value:
                continue
            written += 1
            item = value[key]
            entry = entries.get(key)
            if type(entry) is _FieldRule:  # the usual case, inline
                if item is None or item == "":
                    continue  # null / "" == absent
                norm = entry.normalize(item)
                default = entry.default
                if default is _NO_DEFAULT or norm != default or not _same(norm, default):
                    out[key] = norm
            else:
                self._put(out, generic, key, item, entry)
        if written != len(value):
            known = rule.properties
            rest = sorted(((k, v) for k, v in value.items() if k not in known), key=_key_order)
            for key, item in rest:
                self._put(out, generic, key, item, entries.get(key) if isinstance(key, str) else None)
        return out

    def _put(
        self, out: dict[Any, Any], generic: tuple[str, ...], key: Any, item: Any, entry: _FieldRule | _Child | None
    ) -> None:
        """Adds the canonical form of *item* at *key* to *out*, unless it is absent there."""
        if type(entry) is _FieldRule:
            if item is None or item == "":
                return
            norm = entry.normalize(item)
            if entry.default is _NO_DEFAULT or not _same(norm, entry.default):
                out[key] = norm
        elif type(entry) is _Child:
            if entry.is_array and isinstance(item, list):
                items = (*entry.path, ITEMS)
                out[key] = [
                    self.obj(items, element) if isinstance(element, Mapping) else _copy(element) for element in item
                ]
            elif isinstance(item, Mapping):
                norm = self.obj(entry.path, item)
                if norm:
                    out[key] = norm  # a catalog sub-object left empty == absent
            elif item is not None:
                out[key] = _copy(item)
        elif isinstance(key, str) and self.is_extra((*generic, key)):
            out[key] = _generic_value(item)
        else:
            out[key] = _copy(item)


_NORMALIZERS: dict[tuple[int, tuple[str, ...]], tuple[PresetTypeSpec, _Normalizer]] = {}


def _normalizer(spec: PresetTypeSpec, extra_fields: tuple[str, ...]) -> _Normalizer:
    """The normaliser of *spec* with *extra_fields*, made once (the entry keeps the spec alive,
    so its id stays its own)."""
    key = (id(spec), extra_fields)
    entry = _NORMALIZERS.get(key)
    if entry is None or entry[0] is not spec:
        if len(_NORMALIZERS) > 256:
            _NORMALIZERS.clear()
        entry = _NORMALIZERS[key] = (spec, _Normalizer(spec, extra_fields))
    return entry[1]


def normalize_param(presettype: str, param: Any, extra_fields: ExtraFields = ()) -> Any:
    """The canonical form of a preset's param (see the module docstring).

    Returns a dict when *param* is a mapping (or JSON text of one, or ``None``: ``{}``);
    anything else is returned unchanged (deep-copied). An unknown presettype keeps the
    mapping as it is, keys sorted. *extra_fields* are the dotted paths (``VIDEO.gop``) the
    configuration allows for this presettype, or the whole ``{presettype: [paths]}`` mapping.
    """
    if param is None:
        return {}
    if isinstance(param, str):
        try:
            decoded = json.loads(param)
        except ValueError:
            return param
        if not isinstance(decoded, dict):
            return param
        param = decoded
    if not isinstance(param, Mapping):
        return copy.deepcopy(param)
    spec = presettype_spec(presettype) if isinstance(presettype, str) else None
    if spec is None:
        return {k: copy.deepcopy(v) for k, v in _sorted_items(param, ())}
    return _normalizer(spec, extra_fields_for(presettype, extra_fields)).obj((), param)


#: A preset in canonical form: ``{"preset", "presettype", ["description"], "param"}``, JSON data.
NormalizedPreset = dict[str, Any]


def normalize_preset(
    name: str, presettype: str, description: str | None, param: Any, extra_fields: ExtraFields = ()
) -> NormalizedPreset:
    """The canonical form of a whole preset: ``{"preset", "presettype", ["description"], "param"}``.

    An empty description is the same as none: the key is then left out.
    """
    out: NormalizedPreset = {"preset": name, "presettype": presettype}
    if description not in (None, ""):
        out["description"] = description
    out["param"] = normalize_param(presettype, param, extra_fields)
    return out
