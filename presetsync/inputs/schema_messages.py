"""Short messages for input files: jsonschema's errors at the offending key or value, value
types in words, "did you mean" suggestions.

Generic: presetsync.yaml, preset files and task manifests all report their schema errors
through :class:`SchemaErrorTranslator` (subclassed where a file type names things its own way).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Protocol

from .documents import YamlDocument
from .positions import YamlPath, dotted
from .problems import Problem


class SchemaError(Protocol):
    """What this module reads of a ``SchemaError`` (jsonschema ships no types;
    it is imported only where a file is invalid)."""

    message: str
    validator: str
    validator_value: Any
    instance: Any
    schema: Mapping[str, Any]
    absolute_path: Sequence[str | int]
    absolute_schema_path: Sequence[str | int]


class SchemaValidator(Protocol):
    """What presetsync uses of a ``jsonschema.Draft202012Validator``."""

    schema: Mapping[str, Any]

    def iter_errors(self, instance: object) -> Iterator[SchemaError]: ...

    def is_valid(self, instance: object) -> bool: ...


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
        return f"a string ({short_value(value)})"
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


def short_value(value: Any, limit: int = 40) -> str:
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


def one_of(values: Sequence[Any]) -> str:
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

    def __init__(self, doc: YamlDocument, root_schema: Mapping[str, Any], prefix: YamlPath = ()):
        self.doc = doc
        self.root = root_schema
        self.prefix = prefix  # the path of the validated instance in the document

    # hooks -----------------------------------------------------------------------------
    def name(self, path: YamlPath) -> str:
        return repr(dotted(path)) if path else "the file"

    def unknown_key(self, path: YamlPath, key: str, error: SchemaError) -> str:
        known = list(error.schema.get("properties", {}))
        where = f" in {dotted(path)}" if path else ""
        return f"unknown key {key!r}{where}{did_you_mean(key, known)}"

    def missing(self, path: YamlPath, key: str) -> str:
        where = f"{dotted(path)} is missing" if path else "missing"
        return f"{where} required key {key!r}"

    def skip(self, path: YamlPath, error: SchemaError) -> bool:
        return False

    # translation ---------------------------------------------------------------------------
    def path(self, error: SchemaError) -> YamlPath:
        """Where *error* is in the document."""
        return (*self.prefix, *error.absolute_path)

    def translate(self, error: SchemaError) -> list[Problem]:
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
            words = one_of([_TYPE_WORDS.get(t, t) for t in expected])
            message = f"{self.name(path)} must be {words}, not {type_phrase(instance)}"
        elif custom is not None:
            title = custom.get("title")
            what = f"invalid {title[0].lower()}{title[1:]}" if title else f"{self.name(path)} is not valid:"
            message = f"{what} {short_value(instance)}: {custom['x-presetsync-error']}"
        elif v == "enum":
            options = list(error.validator_value)
            message = f"{self.name(path)} must be one of {one_of(options)}, not {short_value(instance)}"
            if isinstance(instance, str):
                message += did_you_mean(instance, [str(o) for o in options])
        elif v == "const":
            message = f"{self.name(path)} must be {error.validator_value!r}, not {short_value(instance)}"
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

    def _rule(self, path: YamlPath, rule: Mapping[str, Any]) -> list[Problem]:
        at = rule.get("at")
        for cut in range(len(path), -1, -1):
            target = value_at(self.doc.data, path[:cut])
            if isinstance(at, str) and isinstance(target, Mapping) and at in target:
                where: YamlPath = (*path[:cut], at)
                return [self.doc.problem(where, f"{self.name(where)} {rule['message']}", key=True)]
        return [self.doc.problem(path, f"{self.name(path)}: {rule['message']}")]

    def problems(self, errors: Iterable[SchemaError]) -> list[Problem]:
        out: list[Problem] = []
        for error in errors:
            out.extend(self.translate(error))
        return list(dict.fromkeys(out))


_MISSING = object()


def value_at(data: Any, path: Sequence[Any]) -> Any:
    for part in path:
        if (isinstance(data, Mapping) and part in data) or (
            isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data)
        ):
            data = data[part]
        else:
            return _MISSING
    return data
