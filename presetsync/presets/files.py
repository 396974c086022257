"""YAML files with positions: safe loading, every problem with file:line:col, file discovery.

Generic: preset files, presetsync.yaml and task manifests all load through :func:`load_yaml`.
The loader reads the parser's events (libyaml's parser when PyYAML has it, else the pure-Python
one) and builds plain data itself, with no node graph, so that it can

* report what PyYAML would silently accept: duplicate keys in one mapping (PyYAML keeps the
  last), recursive aliases, alias "bombs", nesting too deep for the checks that follow;
* refuse every tag that is not plain data (``!!python/...``, ``!Ref``, ``!!binary``, ``!!set``);
* report YAML syntax errors, bytes that are not UTF-8 and empty files at their position;
* give the 1-based (line, col) of every key and value, by path (``("presets", 0, "param")``).

Positions are recovered only where they are asked for: a load records those of the first two
levels (``presets`` and each preset: enough to say where a preset is); the others come from a
second read of the text, limited to the subtrees asked for, the first time one is needed (to
report a problem). So a valid file of 50,000 presets costs no more than its data.

The data is JSON-like: mapping keys are always strings (the key's text, so ``on:`` stays
``"on"`` instead of becoming ``True``), and timestamps stay the strings they were written as.
Aliases share the anchored object (as PyYAML does); positions inside an aliased subtree are
those of the anchored original, where the user would fix it.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import yaml
from yaml.composer import ComposerError
from yaml.events import (
    AliasEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    StreamEndEvent,
)
from yaml.nodes import ScalarNode

from .model import Problem, display_path

#: A path into loaded data: mapping keys and list indexes, e.g. ``("presets", 0, "param")``.
YamlPath = tuple[Union[str, int], ...]

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
_MAX_PARTIAL_READS = 2
_SIZE_CAP = 1 << 62
#: Distinct plain scalars a load shares (keys, values up to _CACHED_LENGTH characters).
_CACHE_SIZE = 4096
_CACHED_LENGTH = 8
#: Files up to this size keep their text for positions read on demand; bigger ones read it again.
_KEPT_TEXT = 1 << 20

PRESET_SUFFIXES = (".yaml", ".yml")

_C_LOADER = getattr(yaml, "CSafeLoader", None)


def short_tag(tag: str) -> str:
    return "!!" + tag[len(_TAG_PREFIX) :] if tag.startswith(_TAG_PREFIX) else tag


Position = tuple[int, int]


class Positions:
    """Where each key and value of a document is, as 1-based (line, col), by path.

    ``key(("presets", 0, "param"))`` is where the key ``param`` is written;
    ``value(("presets", 0, "param"))`` where its value starts. List items have only values.

    A loaded document's positions are partial: paths up to ``depth`` long, plus whole subtrees
    read again (``reload``) when a deeper path is asked for. Every method answers as if all
    positions were known.
    """

    def __init__(
        self,
        keys: dict[tuple, Position] | None = None,
        values: dict[tuple, Position] | None = None,
        *,
        depth: int | None = None,
        reload: Callable[[frozenset], tuple[dict, dict]] | None = None,
    ):
        self._keys = {} if keys is None else keys
        self._values = {} if values is None else values
        self._depth = depth if reload is not None else None  # None: every position is known
        self._reload = reload
        self._wanted: frozenset = frozenset()
        self._reads = 0

    def _known(self, path: tuple) -> bool:
        depth = self._depth
        return depth is None or len(path) <= depth or path[:depth] in self._wanted

    def want(self, paths: Iterable[Sequence[str | int]]) -> None:
        """Make every position at and below *paths* known, with at most one more read of the text."""
        depth = self._depth
        if depth is None:
            return
        missing = set()
        for path in map(tuple, paths):
            if len(path) < depth:
                missing.add(())  # what is below a short path: everything, read at once
            elif path[:depth] not in self._wanted:
                missing.add(path[:depth])
        if missing:
            self._read(self._wanted | missing)

    def _ensure(self, path: tuple) -> None:
        if not self._known(path):
            assert self._depth is not None
            self._read(self._wanted | {path[: self._depth]})

    def _read(self, wanted: frozenset) -> None:
        assert self._reload is not None
        self._reads += 1
        if self._reads > _MAX_PARTIAL_READS:
            wanted = frozenset({()})
        self._keys, self._values = self._reload(wanted)
        if () in wanted:
            self._depth, self._reload = None, None
        self._wanted = wanted

    @property
    def keys(self) -> dict[tuple, Position]:
        """Every key position (reads the text again if they are not all known yet)."""
        if self._depth is not None:
            self._read(frozenset({()}))
        return self._keys

    @property
    def values(self) -> dict[tuple, Position]:
        """Every value position (reads the text again if they are not all known yet)."""
        if self._depth is not None:
            self._read(frozenset({()}))
        return self._values

    def key(self, path: Sequence[str | int]) -> Position | None:
        self._ensure(tuple(path))
        return self._keys.get(tuple(path))

    def value(self, path: Sequence[str | int]) -> Position | None:
        self._ensure(tuple(path))
        return self._values.get(tuple(path))

    def find(self, path: Sequence[str | int], *, key: bool = False) -> Position:
        """Position of *path* (its key if ``key`` and it has one, else its value), falling back to
        the nearest ancestor that has a position, then to (1, 1)."""
        path = tuple(path)
        self._ensure(path)
        keys, values = self._keys, self._values
        while True:
            if key and path in keys:
                return keys[path]
            if path in values:
                return values[path]
            if path in keys:
                return keys[path]
            if not path:
                return (1, 1)
            # An ancestor stands in: its key ("VIDEO:") says more than where its value starts.
            path, key = path[:-1], True


@dataclass
class YamlDocument:
    """A loaded YAML file. ``data`` is ``None`` when the file could not be parsed at all.

    ``bad_paths`` are the paths whose value was refused (an unknown tag, a recursive alias):
    their value is ``None`` in ``data``, and later checks should not report it a second time.
    """

    file: str
    data: Any = None
    positions: Positions = field(default_factory=Positions)
    problems: list[Problem] = field(default_factory=list)
    bad_paths: set[tuple] = field(default_factory=set)
    empty: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem(self, path: Sequence[str | int], message: str, *, key: bool = False) -> Problem:
        """A Problem at *path* in this file."""
        line, col = self.positions.find(path, key=key)
        return Problem(self.file, line, col, message)

    def is_bad(self, path: Sequence[str | int]) -> bool:
        if not self.bad_paths:
            return False
        path = tuple(path)
        return any(path[: len(bad)] == bad for bad in self.bad_paths)


class _Refused:
    """Stands for a value that cannot become plain data; the message says why."""

    __slots__ = ("message",)

    def __init__(self, message: str):
        self.message = message


class _TooDeep(Exception):
    """Lists and mappings nested deeper than MAX_DEPTH: the document is refused."""


_NO_KEY = object()  # a mapping waits for its next key
_SKIP = object()  # the pending key was refused: its value is read, then dropped
_MERGE = object()  # the pending key is ``<<``: its value is merged into the mapping

_SCALAR, _MAP, _SEQ, _BAD = "scalar", "mapping", "list", "refused"


class _Anchor:
    """What an alias stands for: the anchored value, where it is written, how big it is."""

    __slots__ = ("height", "keys", "kind", "mark", "open", "size", "tag", "text", "value")

    def __init__(self, mark: Position, kind: str):
        self.mark, self.kind = mark, kind
        self.value: Any = None
        self.size, self.height = 1, 0
        # for ``<<: *name``: a mapping's keys (as _Frame.keys), a list's items (as _Frame.merges)
        self.keys: Any = None
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

    def __init__(self, is_map: bool, path: tuple | None, mark: Position, role: object, quiet: bool, track: bool):
        self.is_map = is_map
        self.value: Any = {} if is_map else []  # the list or dict being filled
        self.path = path  # None inside a dropped value
        self.mark = mark  # where it starts, 1-based
        self.role = role  # None, _SKIP (used as a key), _MERGE (a ``<<`` value or one of its sources)
        self.quiet = quiet  # problems inside are not reported (a refused or dropped value's contents)
        self.track = track  # the positions of its children may be recorded...
        self.all = False  # ... and those of all its descendants
        self.refused = False  # the list or mapping itself is refused (its tag): its value becomes None
        self.anchor: _Anchor | None = None
        self.key: Any = _NO_KEY  # mappings: the pending key: _NO_KEY, _SKIP, _MERGE or the key's text
        self.key_mark: Position | None = None
        self.first_line: dict[str, int] = {}  # mappings: the line of each key, for duplicate reports
        # mappings: [(value, position, kind, keys)] from ``<<``; lists under ``<<`` or anchored: their items
        self.merges: list | None = None
        # mappings that may be merged: key -> (key position, value position, size)
        self.keys: dict[str, tuple] | None = {} if is_map and role is _MERGE else None
        self.size = 1  # values in the expanded subtree (aliases counted at full size)
        self.height = 1  # levels of lists and mappings, this one included


class _Builder:
    """Plain data, problems and positions from a loader's event stream (see the module docstring).

    Records the positions of paths up to *depth* long, and of every path below one of *wanted*
    (``()``: all of them).
    """

    def __init__(self, loader: Any, file: str, wanted: frozenset = frozenset(), depth: int = TRACK_DEPTH):
        self.loader = loader
        self.file = file
        self.wanted = wanted
        self.depth = depth
        self.keys: dict[tuple, Position] = {}
        self.values: dict[tuple, Position] = {}
        self.problems: list[Problem] = []
        self.bad_paths: set[tuple] = set()
        self.anchors: dict[str, _Anchor] = {}
        self.written = 0
        self.too_deep = False
        self.cache: dict[str, tuple[str, str, Any]] = {}
        implicit = loader.yaml_implicit_resolvers
        wildcard = list(implicit.get(None, ()))
        self.resolvers = {first: tuple(list(rs) + wildcard) for first, rs in implicit.items() if first is not None}
        self.wildcard = tuple(wildcard)

    # -- public entry -------------------------------------------------------------------
    def load(self) -> tuple[Any, bool]:
        """(data, empty). Raises yaml.YAMLError on syntax errors."""
        get = self.loader.get_event
        get()  # StreamStartEvent
        event = get()
        if type(event) is StreamEndEvent:
            return None, True
        start = event.start_mark
        try:
            data, size, mark = self._document()
        except _TooDeep:
            self.too_deep = True
            return None, False
        get()  # DocumentEndEvent
        event = get()
        if type(event) is not StreamEndEvent:
            raise ComposerError(
                "expected a single document in the stream", start, "but found another document", event.start_mark
            )
        limit = max(MAX_ALIAS_VALUES, ALIAS_FACTOR * self.written)
        if size - self.written > limit:
            self.problems.append(
                Problem(
                    self.file,
                    *mark,
                    f"the document expands to more than {self.written + limit} values through aliases "
                    f"({self.written} written, at most {limit} more allowed); refused",
                )
            )
            return None, False
        return data, False

    # -- helpers ------------------------------------------------------------------------
    def _report(self, mark: yaml.Mark | Position, message: str) -> None:
        line, col = (mark.line + 1, mark.column + 1) if isinstance(mark, yaml.Mark) else mark
        self.problems.append(Problem(self.file, line, col, message))

    def _resolve(self, text: str) -> str:
        """The tag of an untagged plain scalar, as PyYAML's resolver gives it."""
        for tag, regexp in self.resolvers.get(text[:1], self.wildcard):
            if regexp.match(text):
                return tag
        return _STR_TAG

    def _construct(self, tag: str, text: str) -> Any:
        """The value of a scalar; a :class:`_Refused` (returned, not raised) when it is not plain data."""
        if tag in (_STR_TAG, _TIMESTAMP_TAG):
            return text
        if tag == _INT_TAG and text.isdigit() and text.isascii() and (text[0] != "0" or text == "0"):
            return int(text)
        if tag == _NULL_TAG:
            return None
        if tag not in _PLAIN_SCALAR_TAGS:
            return _Refused(_tag_message(tag))
        try:
            return self.loader.yaml_constructors[tag](self.loader, ScalarNode(tag, text))
        except (ValueError, TypeError, KeyError, yaml.YAMLError):
            return _Refused(f"{text!r} is not a valid {short_tag(tag)} value")

    def _scalar(self, event: ScalarEvent, *, key: bool = False) -> tuple[str, str, Any]:
        """(tag, text, value) of a scalar; the value is a :class:`_Refused` when it is not plain data.

        Keys and short values (untagged, plain) go through a bounded cache, so that in a big file
        they are shared objects rather than one string per occurrence.
        """
        tag, text = event.tag, event.value
        if tag is None and event.implicit[0] and (key or len(text) <= _CACHED_LENGTH):
            entry = self.cache.get(text)
            if entry is None:
                tag = self._resolve(text)
                entry = (tag, text, self._construct(tag, text))
                if len(self.cache) < _CACHE_SIZE:
                    self.cache[text] = entry
            return entry
        if tag is None or tag == "!":
            tag = self._resolve(text) if event.implicit[0] else _STR_TAG
        return tag, text, self._construct(tag, text)

    def _anchor(self, event: Any, mark: Position, kind: str) -> _Anchor:
        name = event.anchor
        if name in self.anchors:
            first = self.anchors[name]
            raise ComposerError(
                f"found duplicate anchor {name!r}; first occurrence",
                yaml.Mark(self.file, 0, first.mark[0] - 1, first.mark[1] - 1, None, None),
                "second occurrence",
                event.start_mark,
            )
        anchor = self.anchors[name] = _Anchor(mark, kind)
        return anchor

    # -- the event loop -----------------------------------------------------------------
    def _document(self) -> tuple[Any, int, Position]:
        """Read one document's node events; returns (data, expanded size, root position)."""
        get = self.loader.get_event
        wanted, depth = self.wanted, self.depth
        values = self.values
        stack: list[_Frame] = []
        parent: _Frame | None = None
        cached = self.cache.get
        while True:
            event = get()
            cls = type(event)
            if (
                cls is ScalarEvent
                and parent is not None
                and not parent.track
                and parent.keys is None
                and event.tag is None
                and event.anchor is None
            ):
                # The common case, quickly: an untagged scalar key or value whose position is not
                # recorded. A duplicate key, a merge key, a refused value or an item of a list under
                # ``<<`` (or anchored) go the general way below.
                entry = cached(event.value) if event.implicit[0] else None
                tag, text, value = entry or self._scalar(event, key=parent.is_map and parent.key is _NO_KEY)
                if parent.is_map:
                    key = parent.key
                    if key is _NO_KEY:
                        if tag in _KEY_TAGS and text not in parent.first_line:
                            parent.first_line[text] = event.start_mark.line + 1
                            parent.key = text
                            self.written += 1
                            continue
                    elif type(key) is str and type(value) is not _Refused:
                        parent.value[key] = value
                        parent.size += 2
                        parent.key = _NO_KEY
                        self.written += 1
                        continue
                elif parent.role is None and parent.anchor is None and type(value) is not _Refused:
                    parent.value.append(value)
                    parent.size += 1
                    self.written += 1
                    continue
            if cls is MappingEndEvent or cls is SequenceEndEvent:
                done = stack.pop()
                parent = stack[-1] if stack else None
                value, kind = self._close(done)
                if parent is None:
                    return value, done.size, done.mark
                sources = (done.merges or []) if done.role is _MERGE and not done.is_map else None
                self._attach(parent, value, kind, done.size, done.height, done.mark, done.keys, sources)
                continue
            self.written += 1
            mark = (event.start_mark.line + 1, event.start_mark.column + 1)
            # Where the new node goes: a key, a value, a list item, or the root.
            path: tuple | None = ()
            quiet = track = False
            role = None
            if parent is not None:
                quiet = parent.quiet
                if parent.is_map:
                    key = parent.key
                    if key is _NO_KEY:
                        if cls is ScalarEvent or cls is AliasEvent:
                            self._key(parent, event, mark)
                            continue
                        # a list or a mapping as a key: reported, read, dropped with its value
                        if not quiet:
                            self._report(mark, "a mapping key must be a plain string, not a list or a mapping")
                        path, quiet, role = None, True, _SKIP
                    elif key is _SKIP:
                        path, quiet = None, True
                    elif key is _MERGE:
                        path, role = (None if parent.path is None else (*parent.path, "<<")), _MERGE
                    else:
                        path, track = (*parent.path, key), parent.track
                elif parent.path is None:
                    path = None
                elif parent.role is _MERGE:
                    path, role = (*parent.path, len(parent.value)), _MERGE
                else:
                    path, track = (*parent.path, len(parent.value)), parent.track
            else:
                track = True
            if track and (parent is None or not parent.all):
                track = len(path) <= depth or path[:depth] in wanted

            if cls is ScalarEvent:
                if track:
                    values[path] = mark
                tag, text, value = self._scalar(event)
                kind = _SCALAR
                if type(value) is _Refused:
                    if not quiet:
                        self._report(mark, value.message)
                        if path is not None:
                            self.bad_paths.add(path)
                    value, kind = None, _BAD
                if event.anchor is not None:
                    anchor = self._anchor(event, mark, kind)
                    anchor.value, anchor.text, anchor.tag = value, text, tag
                if parent is None:
                    return value, 1, mark
                self._attach(parent, value, kind, 1, 0, mark, None)
            elif cls is AliasEvent:
                assert parent is not None  # a document cannot start with an alias to nothing
                value, kind, size, height, keys_of = self._alias(event, mark, parent, path, quiet, len(stack))
                anchor = self.anchors[event.anchor]
                if track:
                    values[path] = anchor.mark  # positions inside an alias are the anchored original's
                if kind == _SEQ:  # an anchored list keeps its items' merge information as its keys
                    self._attach(parent, value, kind, size, height, anchor.mark, None, keys_of or [])
                else:
                    self._attach(parent, value, kind, size, height, anchor.mark, keys_of)
            else:  # MappingStartEvent, SequenceStartEvent
                if track:
                    values[path] = mark
                if len(stack) >= MAX_DEPTH:
                    self._report(
                        mark,
                        f"lists and mappings are nested more than {MAX_DEPTH} levels deep here; refused "
                        "(a preset, a task or a setting needs only a few)",
                    )
                    raise _TooDeep
                frame = _Frame(cls is MappingStartEvent, path, mark, role, quiet, track)
                frame.all = track and ((parent is not None and parent.all) or (len(path) <= depth and path in wanted))
                frame.track = frame.all or (track and len(path) < depth)
                tag = event.tag
                if tag is not None and tag != "!" and tag != (_MAP_TAG if frame.is_map else _SEQ_TAG):
                    if not quiet:
                        self._report(mark, _tag_message(tag))
                        if path is not None:
                            self.bad_paths.add(path)
                    frame.refused, frame.quiet, frame.track = True, True, False
                if event.anchor is not None:
                    frame.anchor = self._anchor(event, mark, _MAP if frame.is_map else _SEQ)
                    if frame.is_map:
                        frame.keys = {}  # an anchored mapping may be merged
                if frame.is_map and parent is not None and not parent.is_map and parent.anchor is not None:
                    frame.keys = {}  # so may the mappings of an anchored list
                stack.append(frame)
                parent = frame

    def _key(self, parent: _Frame, event: Any, mark: Position) -> None:
        """A scalar or an alias in key position of *parent*."""
        if type(event) is AliasEvent:
            anchor = self.anchors.get(event.anchor)
            if anchor is None:
                raise ComposerError(None, None, f"found undefined alias {event.anchor!r}", event.start_mark)
            mark = anchor.mark  # what the alias stands for is written there
            if anchor.kind != _SCALAR:
                if not parent.quiet and anchor.kind != _BAD:
                    self._report(mark, "a mapping key must be a plain string, not a list or a mapping")
                parent.key = _SKIP
                return
            tag, text = anchor.tag, anchor.text
        else:
            tag, text, _ = self._scalar(event, key=True)
        if tag == _MERGE_TAG:
            parent.key = _MERGE
            return
        if tag not in _KEY_TAGS:
            if not parent.quiet:
                self._report(mark, _tag_message(tag))
            parent.key = _SKIP
            return
        first_line = parent.first_line
        if text in first_line:
            if not parent.quiet:
                self._report(
                    mark,
                    f"duplicate key {text!r} in the same mapping (first defined at line {first_line[text]}); "
                    "YAML keeps only one of them",
                )
        else:
            first_line[text] = mark[0]
        parent.key, parent.key_mark = text, mark
        if parent.track:
            path = (*parent.path, text)
            if parent.all or len(path) <= self.depth or path[: self.depth] in self.wanted:
                self.keys[path] = mark

    def _alias(
        self, event: AliasEvent, mark: Position, parent: _Frame | None, path: tuple | None, quiet: bool, depth: int
    ) -> tuple[Any, str, int, int, dict | None]:
        """(value, kind, size, height, keys) of an alias in value position."""
        anchor = self.anchors.get(event.anchor)
        if anchor is None:
            raise ComposerError(None, None, f"found undefined alias {event.anchor!r}", event.start_mark)
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
            return None, _BAD, 1, 0, None
        if anchor.kind == _BAD and path is not None and not quiet:
            self.bad_paths.add(path)
        return anchor.value, anchor.kind, anchor.size, anchor.height, anchor.keys

    def _attach(
        self,
        parent: _Frame,
        value: Any,
        kind: str,
        size: int,
        height: int,
        mark: Position,
        keys_of: dict | None,
        sources: list | None = None,
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
            anchor.keys = frame.keys if frame.is_map else frame.merges or []
        return value, kind

    def _merge(self, frame: _Frame) -> None:
        """``<<: *base`` or ``<<: [*a, *b]``: keys not written explicitly come from the sources,
        earlier sources first."""
        out = frame.value
        track = frame.track and frame.path is not None
        for value, mark, kind, keys_of in frame.merges:
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
                if track:
                    path = (*frame.path, name)
                    if frame.all or len(path) <= self.depth or path[: self.depth] in self.wanted:
                        self.keys.setdefault(path, key_mark)
                        self.values.setdefault(path, value_mark)


def _tag_message(tag: str) -> str:
    return (
        f"tag {short_tag(tag)!r} is not allowed: only plain YAML data is read "
        "(strings, numbers, booleans, null, lists and mappings)"
    )


def _line_col(text: str, index: int) -> tuple[int, int]:
    before = text[:index]
    line = before.count("\n") + 1
    return line, index - (before.rfind("\n") + 1) + 1


def _decode(data: bytes, file: str) -> tuple[str | None, Problem | None]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        head = data[: exc.start]
        line = head.count(b"\n") + 1
        line_start = head.rfind(b"\n") + 1
        col = len(head[line_start:].decode("utf-8", errors="replace")) + 1
        bad = data[exc.start : exc.start + 1].hex()
        return None, Problem(file, line, col, f"the file is not UTF-8 text: byte 0x{bad} cannot be decoded here")
    return (text[1:] if text.startswith("\ufeff") else text), None


def _build(text: str, file: str, wanted: frozenset, fast: bool, depth: int) -> tuple[_Builder, Any, bool]:
    """Load *text* with libyaml's parser (*fast*) or the pure-Python one; raises yaml.YAMLError."""
    loader = (_C_LOADER if fast else yaml.SafeLoader)(text)
    builder = _Builder(loader, file, wanted, depth)
    try:
        data, empty = builder.load()
        return builder, data, empty
    finally:
        loader.dispose()
        builder.loader, builder.anchors, builder.cache = None, {}, {}  # the loader holds the text


def _load(text: str, file: str, depth: int) -> tuple[_Builder, Any, bool, bool]:
    """(builder, data, empty, fast): *text* loaded; raises yaml.YAMLError.

    libyaml's parser (*fast*) is several times faster than the pure-Python one and gives the same
    events and marks; its error wording differs, so a text it refuses is read again by the
    pure-Python parser, whose errors presetsync shows everywhere.
    """
    if _C_LOADER is None:
        return (*_build(text, file, frozenset(), False, depth), False)
    try:
        return (*_build(text, file, frozenset(), True, depth), True)
    except yaml.YAMLError as exc:
        error = exc
    # libyaml refuses flow nesting beyond 1,000 levels before it gives a single event, and the
    # pure-Python parser takes seconds on such nesting: the text before that point is enough to
    # find where the nesting goes beyond MAX_DEPTH.
    mark = getattr(error, "problem_mark", None)
    if getattr(error, "problem", None) == "exceeded maximum nesting depth" and mark is not None:
        try:
            builder, data, empty = _build(text[: mark.index], file, frozenset(), True, depth)
        except yaml.YAMLError:
            pass
        else:
            if builder.too_deep:
                return builder, data, empty, True
    return (*_build(text, file, frozenset(), False, depth), False)


def parse_yaml(
    source: str | bytes,
    file: str,
    *,
    allow_empty: bool = False,
    reread: Callable[[], str | None] | None = None,
    track_depth: int = TRACK_DEPTH,
) -> YamlDocument:
    """Load YAML text (``bytes`` must be UTF-8). *file* is the name used in problems.

    An empty document (nothing, or only comments) is a problem unless *allow_empty*. The load
    records the positions of paths up to *track_depth* long (more for a caller that will ask
    for every one of them); the others are read again when first asked for. The text is kept
    for that, unless *reread* gives it again (``None`` if it is no longer the same: only the
    positions already known are then used).
    """
    doc = YamlDocument(file=file)
    if isinstance(source, bytes):
        text, problem = _decode(source, file)
        if problem is not None:
            doc.problems.append(problem)
            return doc
    else:
        text = source
    assert text is not None
    try:
        builder, doc.data, doc.empty, fast = _load(text, file, track_depth)
    except yaml.MarkedYAMLError as exc:
        doc.problems.append(_syntax_problem(exc, file))
        return doc
    except yaml.reader.ReaderError as exc:
        line, col = _line_col(text, exc.position)
        what = f"character {chr(exc.character)!r} (U+{exc.character:04X})" if isinstance(exc.character, int) else "a"
        doc.problems.append(Problem(file, line, col, f"YAML syntax error: {what} is not allowed in YAML text"))
        return doc
    except yaml.YAMLError as exc:  # pragma: no cover - every PyYAML error above carries a mark
        doc.problems.append(Problem(file, 1, 1, f"YAML error: {exc}"))
        return doc

    kept = text if reread is None else None
    del text

    known = builder.keys, builder.values

    def reload(wanted: frozenset) -> tuple[dict, dict]:
        current = kept if reread is None else reread()
        if current is None:
            return known
        again = _build(current, file, wanted, fast, track_depth)[0]
        return again.keys, again.values

    if doc.data is None:
        doc.positions = Positions(builder.keys, builder.values)
    else:
        doc.positions = Positions(builder.keys, builder.values, depth=track_depth, reload=reload)
    doc.problems.extend(builder.problems)
    doc.bad_paths = builder.bad_paths
    if doc.empty and not allow_empty:
        doc.problems.append(Problem(file, 1, 1, "the file is empty (no YAML document, only comments or blank lines)"))
    return doc


def _syntax_problem(exc: yaml.MarkedYAMLError, file: str) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    problem = (exc.problem or "invalid YAML").strip()
    if "expected a single document" in (exc.context or ""):
        return Problem(file, line, col, "a file holds one YAML document, but a second one ('---') starts here")
    message = f"YAML syntax error: {problem}"
    if exc.context:
        context = exc.context.strip()
        if exc.context_mark is not None and exc.context_mark.line + 1 != line:
            context += f" that starts at line {exc.context_mark.line + 1}"
        message += f" ({context})"
    return Problem(file, line, col, message)


def load_yaml(
    path: Path | str, *, display: str | None = None, allow_empty: bool = False, track_depth: int = TRACK_DEPTH
) -> YamlDocument:
    """Read and load one YAML file; problems name it *display* (default: the path as given,
    relative to the current directory when below it). See :func:`parse_yaml` for *track_depth*."""
    path = Path(path)
    file = display if display is not None else display_path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return YamlDocument(file=file, problems=[Problem(file, 0, 0, "no such file")])
    except IsADirectoryError:
        return YamlDocument(file=file, problems=[Problem(file, 0, 0, "is a directory, not a file")])
    except OSError as exc:
        return YamlDocument(file=file, problems=[Problem(file, 0, 0, f"cannot read: {exc.strerror or exc}")])
    if len(raw) <= _KEPT_TEXT:
        return parse_yaml(raw, file, allow_empty=allow_empty, track_depth=track_depth)
    checksum = zlib.crc32(raw)

    def reread() -> str | None:
        """The file's text again for its positions, or None if it changed since it was loaded."""
        try:
            again = path.read_bytes()
        except OSError:
            return None
        return _decode(again, file)[0] if zlib.crc32(again) == checksum else None

    return parse_yaml(raw, file, allow_empty=allow_empty, reread=reread, track_depth=track_depth)


def discover(
    paths: Iterable[Path | str], *, suffixes: Sequence[str] = PRESET_SUFFIXES
) -> tuple[list[Path], list[Problem]]:
    """Expand *paths* into a sorted, de-duplicated list of files.

    A file is taken as given (whatever its suffix); a directory is searched recursively for
    files ending in *suffixes*, skipping hidden files and directories, in sorted order. A path
    that does not exist, or a directory without any such file, is a problem.
    """
    files: list[Path] = []
    problems: list[Problem] = []
    seen: set[Path] = set()

    def add(path: Path) -> None:
        try:
            key = path.resolve()
        except OSError:  # pragma: no cover - resolve() only fails on exotic file systems
            key = path.absolute()
        if key not in seen:
            seen.add(key)
            files.append(path)

    for given in paths:
        path = Path(given)
        if path.is_dir():
            found = sorted(_walk(path, tuple(s.lower() for s in suffixes)), key=lambda p: p.relative_to(path).parts)
            if not found:
                wanted = " or ".join(f"*{s}" for s in suffixes)
                problems.append(Problem(display_path(path), 0, 0, f"no {wanted} files in this directory"))
            for file in found:
                add(file)
        elif path.exists():
            add(path)
        else:
            problems.append(Problem(display_path(path), 0, 0, "no such file or directory"))
    return files, problems


def _walk(root: Path, suffixes: tuple[str, ...]) -> Iterable[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith(".") and name.lower().endswith(suffixes):
                yield Path(dirpath) / name
