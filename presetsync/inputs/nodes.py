"""What the YAML loader (:mod:`.events`) keeps while it reads: tags, limits, open lists and
mappings, anchors, and how a finished node joins its parent (aliases, ``<<`` merges).
"""

from __future__ import annotations

import enum
from typing import Any, Final, Union

import yaml
from yaml.composer import ComposerError
from yaml.events import AliasEvent

from .positions import Position, PositionMap, Wanted, YamlPath
from .problems import Problem

_TAG_PREFIX = "tag:yaml.org,2002:"
_MERGE_TAG = _TAG_PREFIX + "merge"
_MAP_TAG = _TAG_PREFIX + "map"
_SEQ_TAG = _TAG_PREFIX + "seq"
_STR_TAG = _TAG_PREFIX + "str"
_INT_TAG = _TAG_PREFIX + "int"
_NULL_TAG = _TAG_PREFIX + "null"
_TIMESTAMP_TAG = _TAG_PREFIX + "timestamp"
_PLAIN_SCALAR_TAGS = frozenset(_TAG_PREFIX + name for name in ("str", "int", "float", "bool", "null"))
_KEY_TAGS = _PLAIN_SCALAR_TAGS | {_TIMESTAMP_TAG}
#: Aliases may add at most this many values to a document, or ALIAS_FACTOR times the values
#: written in it if that is more; beyond, it is refused (an "alias bomb").
MAX_ALIAS_VALUES = 200_000
ALIAS_FACTOR = 10
#: Lists and mappings nested deeper than this are refused (the checks that follow recurse).
MAX_DEPTH = 64
#: A load records the positions of paths up to this length; deeper ones are read again on demand.
TRACK_DEPTH = 2
#: After this many partial second reads, the next one records every position.
_SIZE_CAP = 1 << 62
#: Distinct plain scalars a load shares (keys, values up to _CACHED_LENGTH characters).
_CACHE_SIZE = 4096
_CACHED_LENGTH = 8


def yaml_mark(mark: object) -> yaml.Mark | None:
    """*mark* (libyaml's or PyYAML's, the same fields) as PyYAML's errors are typed to take it."""
    if mark is None or isinstance(mark, yaml.Mark):
        return mark
    return yaml.Mark(
        str(getattr(mark, "name", "")),
        int(getattr(mark, "index", 0)),
        int(getattr(mark, "line", 0)),
        int(getattr(mark, "column", 0)),
        None,
        0,
    )


def short_tag(tag: str) -> str:
    return "!!" + tag[len(_TAG_PREFIX) :] if tag.startswith(_TAG_PREFIX) else tag


def _tag_message(tag: str) -> str:
    return (
        f"tag {short_tag(tag)!r} is not allowed: only plain YAML data is read "
        "(strings, numbers, booleans, null, lists and mappings)"
    )


class _Refused:
    """Stands for a value that cannot become plain data; the message says why."""

    __slots__ = ("message",)

    def __init__(self, message: str):
        self.message = message


class _TooDeep(Exception):
    """Lists and mappings nested deeper than MAX_DEPTH: the document is refused."""


class _Key(enum.Enum):
    """What a mapping's pending key is when it is not a key's text (and a node's role)."""

    NONE = "none"  # a mapping waits for its next key
    SKIP = "skip"  # the pending key was refused: its value is read, then dropped
    MERGE = "merge"  # the pending key is ``<<``: its value is merged into the mapping


_NO_KEY: Final = _Key.NONE
_SKIP: Final = _Key.SKIP
_MERGE: Final = _Key.MERGE

#: What ``<<`` takes from an anchored mapping: key -> (key position, value position, size).
MergeKeys = dict[str, tuple[Position, Position, int]]
#: One source of ``<<`` (an alias, or an item of a list written as its value): (value, position,
#: kind, the keys of a mapping). Values are the loaded plain data, of any shape.
MergeSource = tuple[Any, Position, str, Union[MergeKeys, None]]

_SCALAR, _MAP, _SEQ, _BAD = "scalar", "mapping", "list", "refused"


class _Anchor:
    """What an alias stands for: the anchored value, where it is written, how big it is."""

    __slots__ = ("height", "items", "keys", "kind", "mark", "open", "size", "tag", "text", "value")

    def __init__(self, mark: Position, kind: str):
        self.mark, self.kind = mark, kind
        self.value: Any = None  # the loaded plain data, of any shape
        self.size, self.height = 1, 0
        # for ``<<: *name``: a mapping's keys (as _Frame.keys), a list's items (as _Frame.merges)
        self.keys: MergeKeys | None = None
        self.items: list[MergeSource] | None = None
        self.text: str | None = None
        self.tag: str | None = None
        self.open = kind in (_MAP, _SEQ)  # a list or mapping is open until its end


class _Frame:
    """A list or mapping being read."""

    __slots__ = (
        "all",
        "anchor",
        "first_line",
        "height",
        "is_map",
        "key",
        "key_mark",
        "keys",
        "mark",
        "merges",
        "path",
        "quiet",
        "refused",
        "role",
        "size",
        "track",
        "value",
    )

    def __init__(
        self, is_map: bool, path: YamlPath | None, mark: Position, role: _Key | None, quiet: bool, track: bool
    ):
        self.is_map = is_map
        # the dict or list being filled (not told apart for mypy: the event loop is hot)
        self.value: Any = {} if is_map else []
        self.path = path  # None inside a dropped value
        self.mark = mark  # where it starts, 1-based
        self.role = role  # None, _SKIP (used as a key), _MERGE (a ``<<`` value or one of its sources)
        self.quiet = quiet  # problems inside are not reported (a refused or dropped value's contents)
        self.track = track  # the positions of its children may be recorded...
        self.all = False  # ... and those of all its descendants
        self.refused = False  # the list or mapping itself is refused (its tag): its value becomes None
        self.anchor: _Anchor | None = None
        self.key: str | _Key = _NO_KEY  # mappings: the pending key: _NO_KEY, _SKIP, _MERGE or the key's text
        self.key_mark: Position | None = None
        self.first_line: dict[str, int] = {}  # mappings: the line of each key, for duplicate reports
        # mappings: [(value, position, kind, keys)] from ``<<``; lists under ``<<`` or anchored: their items
        self.merges: list[MergeSource] | None = None
        # mappings that may be merged: key -> (key position, value position, size)
        self.keys: MergeKeys | None = {} if is_map and role is _MERGE else None
        self.size = 1  # values in the expanded subtree (aliases counted at full size)
        self.height = 1  # levels of lists and mappings, this one included


class _Assembly:
    """How finished nodes join their parent; the reading itself is :class:`.events._Builder`'s."""

    file: str
    problems: list[Problem]
    bad_paths: set[YamlPath]
    anchors: dict[str, _Anchor]
    keys: PositionMap
    values: PositionMap
    wanted: Wanted
    depth: int

    def _report(self, mark: yaml.Mark | Position, message: str) -> None:
        line, col = (mark.line + 1, mark.column + 1) if isinstance(mark, yaml.Mark) else mark
        self.problems.append(Problem(self.file, line, col, message))

    def _alias(
        self, event: AliasEvent, mark: Position, parent: _Frame | None, path: YamlPath | None, quiet: bool, depth: int
    ) -> tuple[Any, str, int, int, MergeKeys | None, list[MergeSource] | None]:
        """(value, kind, size, height, keys, items) of an alias in value position: *keys* and
        *items* are what ``<<`` takes from an anchored mapping or list."""
        anchor = self.anchors.get(event.anchor or "")
        if anchor is None:
            raise ComposerError(None, None, f"found undefined alias {event.anchor!r}", yaml_mark(event.start_mark))
        message = None
        if anchor.open:  # reported where the value that would contain itself starts
            merging = parent is not None and (parent.key is _MERGE or parent.role is _MERGE)
            what = "a mapping cannot merge itself" if merging else "a value cannot contain itself"
            message, mark = f"recursive alias: {what}", anchor.mark
        elif depth + anchor.height > MAX_DEPTH:
            message = (
                f"through the alias *{event.anchor}, lists and mappings are nested more than {MAX_DEPTH} levels "
                "deep here; refused"
            )
        if message is not None:
            if not quiet:
                self._report(mark, message)
                if path is not None and parent is not None and parent.key is not _MERGE and parent.role is not _MERGE:
                    self.bad_paths.add(path)
            return None, _BAD, 1, 0, None, None
        if anchor.kind == _BAD and path is not None and not quiet:
            self.bad_paths.add(path)
        return anchor.value, anchor.kind, anchor.size, anchor.height, anchor.keys, anchor.items

    def _attach(
        self,
        parent: _Frame,
        value: Any,
        kind: str,
        size: int,
        height: int,
        mark: Position,
        keys_of: MergeKeys | None,
        sources: list[MergeSource] | None = None,
    ) -> None:
        """Put a finished node into *parent*. *sources*: the items of a list written as the value
        of ``<<``, each ``(value, position, kind, keys)``."""
        if height >= parent.height:
            parent.height = height + 1
        if not parent.is_map:
            if parent.role is _MERGE or parent.anchor is not None:  # sources for ``<<``, now or later
                parent.merges = parent.merges or []
                parent.merges.append((value, mark, kind, keys_of))
            parent.value.append(value)
            parent.size += size
            return
        key = parent.key
        if key is _NO_KEY:  # a list or a mapping used as a key (reported): its value is dropped
            parent.key = _SKIP
            return
        parent.key = _NO_KEY
        if key is _SKIP:
            return
        if key is _MERGE:
            merges = parent.merges = parent.merges or []
            if sources is not None:
                merges.extend(sources)
            else:
                merges.append((value, mark, kind, keys_of))
            return
        parent.value[key] = value
        parent.size += 1 + size
        if parent.keys is not None:
            assert parent.key_mark is not None  # _key sets it: the quick path leaves such mappings alone
            parent.keys[key] = (parent.key_mark, mark, size)

    def _close(self, frame: _Frame) -> tuple[Any, str]:
        """The value and kind of a finished list or mapping."""
        value = frame.value
        kind = _MAP if frame.is_map else _SEQ
        if frame.merges and frame.is_map:
            self._merge(frame)
        if frame.refused:
            value, kind = None, _BAD
        if frame.size > _SIZE_CAP:
            frame.size = _SIZE_CAP
        anchor = frame.anchor
        if anchor is not None:
            anchor.value, anchor.kind, anchor.open = value, kind, False
            anchor.size, anchor.height = frame.size, frame.height
            # what ``<<: *anchor`` needs: a mapping's keys, or a list's items, with their positions
            if frame.is_map:
                anchor.keys = frame.keys
            else:
                anchor.items = frame.merges or []
        return value, kind

    def _merge(self, frame: _Frame) -> None:
        """``<<: *base`` or ``<<: [*a, *b]``: keys not written explicitly come from the sources,
        earlier sources first."""
        out = frame.value
        base = frame.path if frame.track else None  # where the merged keys' positions go
        for value, mark, kind, keys_of in frame.merges or ():
            if kind == _BAD:
                continue  # already reported
            if kind != _MAP or keys_of is None:
                if not frame.quiet:
                    self._report(mark, "a merge key (<<) takes a mapping or a list of mappings")
                continue
            for name, (key_mark, value_mark, size) in keys_of.items():
                if name in out:
                    continue
                out[name] = value[name]
                frame.size += 1 + size
                if frame.keys is not None:
                    frame.keys[name] = (key_mark, value_mark, size)
                if base is not None:
                    path = (*base, name)
                    if frame.all or len(path) <= self.depth or path[: self.depth] in self.wanted:
                        self.keys.setdefault(path, key_mark)
                        self.values.setdefault(path, value_mark)
