"""Leaf-level differences between two normalised presets: the one place a plan's diff is made.

A plan shows each changed leaf, never a whole object: a path is dotted from the top of the
preset, list items by index (``param.VIDEO.vb``, ``param.IMAGE[0].logoUrl``). Objects are
compared key by key and lists item by item, by position, however deep; a field added or
removed inside an object, an object added or removed, a list item added or removed at the
end, are each one change per leaf, with ABSENT on the side where the leaf is not. Values are
compared with ``==``, as the plan compares whole presets, so two presets differ exactly when
they have a leaf change. README ("Plan JSON") documents the paths.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Union


class _Absent:
    """A field that is not there on one side of a change."""

    def __repr__(self) -> str:
        return "(absent)"


ABSENT: Any = _Absent()

LeafPath = tuple[Union[str, int], ...]  # keys and list indexes: ("param", "IMAGE", 0, "logoUrl")
LeafChange = tuple[str, Any, Any]  # dotted path, before, after (ABSENT: not there)
_Found = tuple[LeafPath, Any, Any]

_TOP_ORDER = {"presettype": 0, "description": 1, "param": 2}


def leaves(value: Any, parts: LeafPath = ()) -> Iterator[tuple[LeafPath, Any]]:
    """(path, value) for every leaf of *value*, in its own order. A path is a tuple of keys
    (strings) and list indexes (ints); a leaf is anything but a non-empty dict or list."""
    if isinstance(value, dict) and value:
        for key, item in value.items():
            yield from leaves(item, (*parts, str(key)))
    elif isinstance(value, list) and value:
        for index, item in enumerate(value):
            yield from leaves(item, (*parts, index))
    elif value is not ABSENT:
        yield parts, value


def dotted_path(parts: LeafPath) -> str:
    """``("param", "IMAGE", 0, "logoUrl")`` -> ``param.IMAGE[0].logoUrl``."""
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" if i else p for i, p in enumerate(parts))


def leaf_changes(before: Any, after: Any) -> list[LeafChange]:
    """(dotted path, before, after) for every leaf that differs: presettype, description,
    param, then anything else; by key, list items by index (``[2]`` before ``[10]``)."""
    found: list[_Found] = []
    _diff(before, after, (), found)
    found.sort(key=_order)
    return [(dotted_path(parts), old, new) for parts, old, new in found]


def _diff(before: Any, after: Any, parts: LeafPath, out: list[_Found]) -> None:
    if before == after:
        return
    if isinstance(before, dict) and isinstance(after, dict):
        for key in {**before, **after}:
            _diff(before.get(key, ABSENT), after.get(key, ABSENT), (*parts, str(key)), out)
    elif isinstance(before, list) and isinstance(after, list):
        for index in range(max(len(before), len(after))):
            old = before[index] if index < len(before) else ABSENT
            new = after[index] if index < len(after) else ABSENT
            _diff(old, new, (*parts, index), out)
    elif not isinstance(before, (dict, list)) and not isinstance(after, (dict, list)):
        out.append((parts, before, after))  # two leaves (or a leaf and ABSENT)
    else:  # an object or list on one side only: compare the leaves of both by path
        olds, news = dict(leaves(before, parts)), dict(leaves(after, parts))
        for path in {**olds, **news}:
            old, new = olds.get(path, ABSENT), news.get(path, ABSENT)
            if old != new:
                out.append((path, old, new))


def _order(found: _Found) -> tuple[int, tuple[tuple[bool, Union[str, int]], ...]]:
    parts = found[0]
    return (_TOP_ORDER.get(str(parts[0]) if parts else "", 3), tuple((isinstance(p, int), p) for p in parts))
