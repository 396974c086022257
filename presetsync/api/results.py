"""What each operation's answer holds, and the one place that checks it.

Every operation in :mod:`presetsync.api.operations` names a :class:`Result`: the key of its
success answer that holds its value and what that value is, as the example answers of the
official SDK's usage document show (transcribed in tests/fixtures/usage-doc-answers.json).
:meth:`Result.extract` checks the answer against it and returns the value typed, or raises
:class:`UnexpectedAnswer` naming the operation and the key; callers never dig keys out of
answers themselves.

==================  ===========================================================
Preset and the      nothing (``errNum``/``errMsg`` only): :data:`NOTHING`
other writes
CreateTask          ``taskid``, a non-empty string
GetPresetList       ``presetList``, a list of objects, each with a ``preset`` name
GetPresetDetail     ``presetdetail``, an object
GetTaskByTaskID     ``taskInfo``, an object
GetTaskList         ``taskInfo``, a list of objects each with a ``taskid``, and ``total``,
                    a number: a :class:`Page`
GetTaskMetaInfo     ``metaInfo`` (``metaList``/``MetaList`` in the Java SDK and the later
                    API), a list of objects
==================  ===========================================================

A list given as ``null`` counts as empty, and a number given as a decimal string (the
service echoes some numbers as strings) is read as the number.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ..errors import ServiceError

T = TypeVar("T")
JsonObject = dict[str, Any]

_MISSING = object()


class UnexpectedAnswer(ServiceError):
    """A success answer without the documented shape: a key is missing or holds something else.

    ``operation`` is the operation's name, ``key`` where in the answer (``taskid``,
    ``presetList[2].preset``, or ``the answer`` for the whole of it).
    """

    def __init__(self, operation: str, key: str, expected: str, value: object = _MISSING) -> None:
        found = "is missing" if value is _MISSING else f"is {_describe(value)}"
        super().__init__(f"{operation} answered an unexpected shape: {key} {found}, where the API has {expected}")
        self.operation = operation
        self.key = key


def _describe(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    kind = "a boolean" if isinstance(value, bool) else "a number" if isinstance(value, (int, float)) else "a string"
    text = repr(value)
    return f"{kind} ({text[:40]}{'...' if len(text) > 40 else ''})"


def _object(operation: str, value: object, key: str) -> JsonObject:
    if not isinstance(value, dict):
        raise UnexpectedAnswer(operation, key, "a JSON object", value)
    return value


def _get(operation: str, answer: object, key: str) -> object:
    """*answer*'s *key*, or ``_MISSING`` (which the checks below report as missing)."""
    return _object(operation, answer, "the answer").get(key, _MISSING)


def _text(operation: str, value: object, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise UnexpectedAnswer(operation, where, "a non-empty string", value)
    return value


def _number(operation: str, value: object, where: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdecimal():
        return int(value)
    raise UnexpectedAnswer(operation, where, "a whole number", value)


@dataclass(frozen=True)
class Page:
    """One page of a listing: its items, and ``total``, how many items the whole date range
    holds (the answer's ``count``, ``marker`` and dates are not needed: the caller knows them)."""

    items: list[JsonObject]
    total: int


class Result(Generic[T]):
    """How the value of an operation is found in its success answer."""

    def extract(self, operation: str, answer: object) -> T:
        """The value *answer* holds for *operation*; :class:`UnexpectedAnswer` when its shape
        is not the documented one."""
        raise NotImplementedError


@dataclass(frozen=True)
class Nothing(Result[None]):
    """Writes answer ``errNum`` and ``errMsg`` only: the answer must be an object, nothing more."""

    def extract(self, operation: str, answer: object) -> None:
        _object(operation, answer, "the answer")


@dataclass(frozen=True)
class Text(Result[str]):
    """A non-empty string under *key*."""

    key: str

    def extract(self, operation: str, answer: object) -> str:
        return _text(operation, _get(operation, answer, self.key), self.key)


@dataclass(frozen=True)
class Object(Result[JsonObject]):
    """An object under *key*."""

    key: str

    def extract(self, operation: str, answer: object) -> JsonObject:
        return _object(operation, _get(operation, answer, self.key), self.key)


@dataclass(frozen=True)
class Objects(Result[list[JsonObject]]):
    """A list of objects under *key* (or the first of *aliases* the answer has); with
    *item_key*, each item has a non-empty string there (its name or id)."""

    key: str
    aliases: tuple[str, ...] = ()
    item_key: str | None = None

    def extract(self, operation: str, answer: object) -> list[JsonObject]:
        body = _object(operation, answer, "the answer")
        key = next((k for k in (self.key, *self.aliases) if k in body), self.key)
        value = body.get(key, _MISSING)
        if value is None:
            return []
        if not isinstance(value, list):
            raise UnexpectedAnswer(operation, key, self._expected(), value)
        for index, item in enumerate(value):
            where = f"{key}[{index}]"
            fields = _object(operation, item, where)
            if self.item_key is not None:
                _text(operation, fields.get(self.item_key, _MISSING), f"{where}.{self.item_key}")
        return value

    def _expected(self) -> str:
        items = f" each with a {self.item_key!r} string" if self.item_key else ""
        return f"a list of objects{items}"


@dataclass(frozen=True)
class Paged(Result[Page]):
    """A :class:`Page`: the *items* list and the answer's ``total``."""

    items: Objects

    def extract(self, operation: str, answer: object) -> Page:
        items = self.items.extract(operation, answer)
        return Page(items, _number(operation, _get(operation, answer, "total"), "total"))


NOTHING = Nothing()
