"""Yes/no checks compiled from JSON Schemas (draft 2020-12), without jsonschema.

A preset file of 10,000 presets is checked 10,000 times against the same few schemas, and almost
always passes. jsonschema spends most of that time on machinery a yes/no answer does not need
(an error iterator, a new validator per descent), so :func:`compile_check` turns a schema into
nested closures that answer exactly what ``jsonschema.Draft202012Validator(schema).is_valid``
answers, for the keywords listed in ``SUPPORTED`` and JSON-like values (strings, ints, floats,
booleans, null, lists, dicts with string keys: what the YAML loader and JSON give). Keys that
start with ``x-`` are annotations, as jsonschema ignores them. A schema using anything else
(``$ref``, ``contains``...) gives ``None``: :class:`QuickCheck`, what callers use, then asks
jsonschema. Why something is invalid is still jsonschema's job (its errors become messages in
:mod:`.schema_messages`).
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .schema_messages import SchemaValidator

#: A compiled check: is this (JSON-like) value valid?
Check = Callable[[object], bool]

_OBJECT_KEYWORDS = frozenset(
    {"required", "properties", "patternProperties", "additionalProperties", "dependentSchemas", "dependentRequired"}
)
_ARRAY_KEYWORDS = frozenset({"items", "minItems", "maxItems", "uniqueItems"})
_STRING_KEYWORDS = frozenset({"pattern", "minLength", "maxLength"})
_NUMBER_KEYWORDS = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})
_ANY_KEYWORDS = frozenset({"type", "enum", "const", "allOf", "anyOf", "oneOf", "not", "if", "then", "else"})
#: ``$schema`` names the dialect; ``format`` asserts nothing in draft 2020-12 by default; the
#: others are annotations.
_IGNORED = frozenset({"$schema", "format", "title", "description", "default", "examples", "$comment", "deprecated"})
SUPPORTED = _OBJECT_KEYWORDS | _ARRAY_KEYWORDS | _STRING_KEYWORDS | _NUMBER_KEYWORDS | _ANY_KEYWORDS | _IGNORED

_SCALAR_TYPES = (str, int, float, bool, type(None))


def accept(instance: object) -> bool:
    """The check of ``true`` and ``{}``."""
    return True


def refuse(instance: object) -> bool:
    """The check of ``false``."""
    return False


def _is_integer(value: object) -> bool:
    # as jsonschema: a bool is not an integer, a float with no fraction is
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


_TYPES: dict[str, Check] = {
    "object": lambda value: isinstance(value, dict),
    "array": lambda value: isinstance(value, list),
    "string": lambda value: isinstance(value, str),
    "integer": _is_integer,
    "number": _is_number,
    "boolean": lambda value: isinstance(value, bool),
    "null": lambda value: value is None,
}


def _same(expected: object, value: object) -> bool:
    """jsonschema's equality for a scalar *expected*: ``1 == 1.0``, but ``True != 1``."""
    if expected is value:
        return True
    if isinstance(expected, str) or isinstance(value, str):
        return expected == value
    if isinstance(expected, bool) or isinstance(value, bool):
        return False  # not the same object: True and False are the only bools
    return expected == value


def _equal(one: object, two: object) -> bool:
    """jsonschema's equality of any two JSON-like values, for ``uniqueItems``: lists and
    mappings compared item by item, ``1 == 1.0``, but ``True != 1``."""
    if isinstance(one, list) and isinstance(two, list):
        return len(one) == len(two) and all(_equal(a, b) for a, b in zip(one, two))
    if isinstance(one, dict) and isinstance(two, dict):
        return one.keys() == two.keys() and all(_equal(value, two[key]) for key, value in one.items())
    if isinstance(one, (list, dict)) or isinstance(two, (list, dict)):
        return False
    return _same(one, two)


def _unique(items: list[object]) -> bool:
    if all(isinstance(item, str) for item in items):
        return len(set(items)) == len(items)  # the common case: a list of names
    return not any(_equal(items[i], items[j]) for i in range(len(items)) for j in range(i))


def _known(key: object) -> bool:
    return isinstance(key, str) and (key in SUPPORTED or key.startswith("x-"))


def compile_check(schema: object) -> Check | None:
    """A check answering what jsonschema's ``is_valid`` answers for *schema*; ``None`` when the
    schema uses a keyword this module does not compile (or has a form it does not expect)."""
    if schema is True:
        return accept
    if schema is False:
        return refuse
    if not isinstance(schema, Mapping) or not all(_known(key) for key in schema):
        return None
    schema = {key: value for key, value in schema.items() if not key.startswith("x-")}
    if not any(key not in _IGNORED for key in schema):
        return accept
    try:
        return _compile(schema)
    except _Unsupported:
        return None


class _Unsupported(Exception):
    """A keyword's value has a form compile_check leaves to jsonschema."""


def _sub(schema: object) -> Check:
    check = compile_check(schema)
    if check is None:
        raise _Unsupported
    return check


def _subs(schemas: object) -> list[Check]:
    if not isinstance(schemas, list) or not schemas:
        raise _Unsupported
    return [_sub(schema) for schema in schemas]


def _scalars(values: object) -> tuple[object, ...]:
    if not isinstance(values, list) or not all(isinstance(value, _SCALAR_TYPES) for value in values):
        raise _Unsupported  # enums of lists or mappings: jsonschema compares them deeply
    return tuple(values)


def _count(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise _Unsupported
    return value


def _compile(schema: Mapping[str, object]) -> Check:
    """The checks of one schema object, each for the kind of value its keyword looks at."""
    general = _general_checks(schema)
    keywords = schema.keys()
    # The usual shapes, in one call: {"type": "object", "properties": ...}, {"type": "string"}...
    if len(general) == 1 and "type" in schema:
        only = schema["type"]
        if only == "object" and _OBJECT_KEYWORDS & keywords:
            return _object_check(schema, others=False)
        if only == "string" and _STRING_KEYWORDS & keywords:
            return _string_check(schema, others=False)
        if only == "array" and _ARRAY_KEYWORDS & keywords:
            return _array_check(schema, others=False)
    if len(general) == 1 and not (_OBJECT_KEYWORDS | _ARRAY_KEYWORDS | _STRING_KEYWORDS | _NUMBER_KEYWORDS) & keywords:
        return general[0]
    kinds: list[Check] = []
    if _OBJECT_KEYWORDS & keywords:
        kinds.append(_object_check(schema, others=True))
    if _ARRAY_KEYWORDS & keywords:
        kinds.append(_array_check(schema, others=True))
    if _STRING_KEYWORDS & keywords:
        kinds.append(_string_check(schema, others=True))
    if _NUMBER_KEYWORDS & keywords:
        kinds.append(_number_check(schema))
    checks = general + kinds
    return lambda instance: all(check(instance) for check in checks)


def _general_checks(schema: Mapping[str, object]) -> list[Check]:
    """type, enum, const, the combinators and if/then/else, in the order they are cheapest."""
    checks: list[Check] = []
    if "type" in schema:
        names = schema["type"]
        names = [names] if isinstance(names, str) else names
        if not isinstance(names, list) or not names or not all(name in _TYPES for name in names):
            raise _Unsupported
        tests = [_TYPES[name] for name in names]
        checks.append(tests[0] if len(tests) == 1 else lambda value: any(test(value) for test in tests))
    if "const" in schema:
        (expected,) = _scalars([schema["const"]])
        checks.append(lambda value: _same(expected, value))
    if "enum" in schema:
        options = _scalars(schema["enum"])
        checks.append(lambda value: any(_same(option, value) for option in options))
    if "allOf" in schema:
        every = _subs(schema["allOf"])
        checks.append(lambda value: all(check(value) for check in every))
    if "anyOf" in schema:
        some = _subs(schema["anyOf"])
        checks.append(lambda value: any(check(value) for check in some))
    if "oneOf" in schema:
        alternatives = _subs(schema["oneOf"])
        checks.append(lambda value: sum(1 for check in alternatives if check(value)) == 1)
    if "not" in schema:
        negated = _sub(schema["not"])
        checks.append(lambda value: not negated(value))
    if "if" in schema:
        condition = _sub(schema["if"])
        then = _sub(schema.get("then", True))
        otherwise = _sub(schema.get("else", True))
        checks.append(lambda value: then(value) if condition(value) else otherwise(value))
    return checks


def _object_check(schema: Mapping[str, object], *, others: bool) -> Check:
    """The object keywords' check; *others* is its answer for what is not an object."""
    required = schema.get("required", [])
    properties = schema.get("properties", {})
    patterns = schema.get("patternProperties", {})
    dependent = schema.get("dependentSchemas", {})
    dependent_required = schema.get("dependentRequired", {})
    if not isinstance(required, list) or not all(isinstance(name, str) for name in required):
        raise _Unsupported
    if not all(isinstance(m, Mapping) for m in (properties, patterns, dependent, dependent_required)):
        raise _Unsupported
    assert isinstance(properties, Mapping) and isinstance(patterns, Mapping)
    assert isinstance(dependent, Mapping) and isinstance(dependent_required, Mapping)
    named = {name: _sub(sub) for name, sub in properties.items()}
    by_pattern = [(re.compile(pattern), _sub(sub)) for pattern, sub in patterns.items()]
    # jsonschema takes a key as additional when it matches none of the patterns joined by "|"
    joined = re.compile("|".join(patterns)) if patterns else None
    additional = _sub(schema["additionalProperties"]) if "additionalProperties" in schema else None
    if additional is accept:
        additional = None
    needed = tuple(required)
    depends = [(name, _sub(sub)) for name, sub in dependent.items()]
    for names in dependent_required.values():
        if not isinstance(names, list):
            raise _Unsupported
    depends_on = [(name, tuple(names)) for name, names in dependent_required.items()]

    def check(instance: object) -> bool:
        if not isinstance(instance, dict):
            return others
        for name in needed:
            if name not in instance:
                return False
        for key, value in instance.items():
            each = named.get(key)
            if each is None and not (joined is not None and isinstance(key, str) and joined.search(key)):
                each = additional  # neither named nor matched by a pattern
            if each is not None and each is not accept and not each(value):
                return False
            if by_pattern and isinstance(key, str):
                for regex, sub in by_pattern:
                    if regex.search(key) and not sub(value):
                        return False
        for name, sub in depends:
            if name in instance and not sub(instance):
                return False
        for name, names in depends_on:
            if name in instance and not all(other in instance for other in names):
                return False
        return True

    return check


def _array_check(schema: Mapping[str, object], *, others: bool) -> Check:
    """The array keywords' check; *others* is its answer for what is not an array."""
    items = _sub(schema["items"]) if "items" in schema else accept
    least = _count(schema.get("minItems", 0))
    most = _count(schema["maxItems"]) if "maxItems" in schema else None
    unique = schema.get("uniqueItems", False)
    if not isinstance(unique, bool):
        raise _Unsupported

    def check(instance: object) -> bool:
        if not isinstance(instance, list):
            return others
        if len(instance) < least or (most is not None and len(instance) > most):
            return False
        if unique and not _unique(instance):
            return False
        return items is accept or all(items(item) for item in instance)

    return check


def _string_check(schema: Mapping[str, object], *, others: bool) -> Check:
    """The string keywords' check; *others* is its answer for what is not a string."""
    pattern = schema.get("pattern")
    if pattern is not None and not isinstance(pattern, str):
        raise _Unsupported
    regex = re.compile(pattern) if pattern is not None else None
    least = _count(schema.get("minLength", 0))
    most = _count(schema["maxLength"]) if "maxLength" in schema else None

    def check(instance: object) -> bool:
        if not isinstance(instance, str):
            return others
        if len(instance) < least or (most is not None and len(instance) > most):
            return False
        return regex is None or regex.search(instance) is not None

    return check


def _number_check(schema: Mapping[str, object]) -> Check:
    """The number keywords' check (true for what is not a number)."""
    bounds: list[tuple[str, float]] = []
    for keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        if keyword in schema:
            bound = schema[keyword]
            if not isinstance(bound, (int, float)) or isinstance(bound, bool):
                raise _Unsupported
            bounds.append((keyword, bound))

    def check(instance: object) -> bool:
        if not isinstance(instance, (int, float)) or isinstance(instance, bool):
            return True
        for keyword, bound in bounds:
            if keyword == "minimum" and instance < bound:
                return False
            if keyword == "maximum" and instance > bound:
                return False
            if keyword == "exclusiveMinimum" and instance <= bound:
                return False
            if keyword == "exclusiveMaximum" and instance >= bound:
                return False
        return True

    return check


class QuickCheck:
    """A yes/no check of *schema*: compiled, or jsonschema's when the schema uses a keyword
    :func:`compile_check` leaves to it."""

    def __init__(self, schema: dict[str, Any]):
        self.schema = schema
        compiled = compile_check(schema)
        self.compiled = compiled is not None
        self.is_valid: Check = compiled if compiled is not None else self._jsonschema
        self._validator: SchemaValidator | None = None

    def _jsonschema(self, instance: object) -> bool:
        if self._validator is None:
            import jsonschema

            self._validator = jsonschema.Draft202012Validator(self.schema)
        return self._validator.is_valid(instance)
