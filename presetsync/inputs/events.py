"""The YAML loader's event loop: plain data, problems and positions from a parser's events.

See :mod:`.documents` for what it reports and refuses; :mod:`.nodes` for what it keeps while
reading.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Protocol

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

from .nodes import (
    _BAD,
    _CACHE_SIZE,
    _CACHED_LENGTH,
    _INT_TAG,
    _KEY_TAGS,
    _MAP,
    _MAP_TAG,
    _MERGE,
    _MERGE_TAG,
    _NO_KEY,
    _NULL_TAG,
    _PLAIN_SCALAR_TAGS,
    _SCALAR,
    _SEQ,
    _SEQ_TAG,
    _SKIP,
    _STR_TAG,
    _TIMESTAMP_TAG,
    ALIAS_FACTOR,
    MAX_ALIAS_VALUES,
    MAX_DEPTH,
    TRACK_DEPTH,
    _Anchor,
    _Assembly,
    _Frame,
    _Key,
    _Refused,
    _tag_message,
    _TooDeep,
    short_tag,
    yaml_mark,
)
from .positions import Position, PositionMap, Wanted, YamlPath
from .problems import Problem


class EventSource(Protocol):
    """PyYAML's parser (libyaml's or the pure-Python one) as the loader reads it."""

    yaml_implicit_resolvers: dict[Any, list[tuple[str, re.Pattern[str]]]]

    @property
    def yaml_constructors(self) -> Mapping[str | None, Callable[[Any, ScalarNode], object]]: ...

    # A yaml.events.Event, read in the hot loop by its class (``type(event) is ...``), which mypy
    # does not narrow on; libyaml and PyYAML always give node events their marks.
    def get_event(self) -> Any: ...

    def dispose(self) -> None: ...


class _Builder(_Assembly):
    """Plain data, problems and positions from a loader's event stream (see the module docstring).

    Records the positions of paths up to *depth* long, and of every path below one of *wanted*
    (``()``: all of them).
    """

    def __init__(self, loader: EventSource, file: str, wanted: Wanted = frozenset(), depth: int = TRACK_DEPTH):
        self.loader: EventSource | None = loader  # None once loaded: it holds the text
        self.file = file
        self.wanted = wanted
        self.depth = depth
        self.keys: PositionMap = {}
        self.values: PositionMap = {}
        self.problems: list[Problem] = []
        self.bad_paths: set[YamlPath] = set()
        self.anchors: dict[str, _Anchor] = {}
        self.written = 0
        self.too_deep = False
        self.cache: dict[str, tuple[str, str, Any]] = {}
        implicit = loader.yaml_implicit_resolvers
        wildcard = list(implicit.get(None, ()))
        self.resolvers: dict[str, tuple[tuple[str, re.Pattern[str]], ...]] = {
            first: tuple(list(rs) + wildcard) for first, rs in implicit.items() if first is not None
        }
        self.wildcard = tuple(wildcard)
        self.constructors = loader.yaml_constructors

    # -- public entry -------------------------------------------------------------------
    def load(self) -> tuple[Any, bool]:
        """(data, empty). Raises yaml.YAMLError on syntax errors."""
        assert self.loader is not None, "a builder loads once"
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
            return self.constructors[tag](self.loader, ScalarNode(tag, text))
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
                yaml.Mark(self.file, 0, first.mark[0] - 1, first.mark[1] - 1, None, 0),
                "second occurrence",
                yaml_mark(event.start_mark),
            )
        anchor = self.anchors[name] = _Anchor(mark, kind)
        return anchor

    # -- the event loop -----------------------------------------------------------------
    def _document(self) -> tuple[Any, int, Position]:
        """Read one document's node events; returns (data, expanded size, root position)."""
        assert self.loader is not None
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
            path: YamlPath | None = ()
            quiet = track = False
            role: _Key | None = None
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
                    elif parent.path is None:  # inside a dropped value (a mapping used as a key, say)
                        path = None
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
            if track and path is not None and (parent is None or not parent.all):
                track = len(path) <= depth or path[:depth] in wanted
            at = path if track else None  # where this node's position is recorded, if it is

            if cls is ScalarEvent:
                if at is not None:
                    values[at] = mark
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
                value, kind, size, height, keys_of, items = self._alias(event, mark, parent, path, quiet, len(stack))
                anchor = self.anchors[event.anchor]
                if at is not None:
                    values[at] = anchor.mark  # positions inside an alias are the anchored original's
                if kind == _SEQ:  # an anchored list keeps its items' merge information
                    self._attach(parent, value, kind, size, height, anchor.mark, None, items or [])
                else:
                    self._attach(parent, value, kind, size, height, anchor.mark, keys_of)
            else:  # MappingStartEvent, SequenceStartEvent
                if at is not None:
                    values[at] = mark
                if len(stack) >= MAX_DEPTH:
                    self._report(
                        mark,
                        f"lists and mappings are nested more than {MAX_DEPTH} levels deep here; refused "
                        "(a preset, a task or a setting needs only a few)",
                    )
                    raise _TooDeep
                frame = _Frame(cls is MappingStartEvent, path, mark, role, quiet, track)
                frame.all = at is not None and (
                    (parent is not None and parent.all) or (len(at) <= depth and at in wanted)
                )
                frame.track = frame.all or (at is not None and len(at) < depth)
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
            anchor = self.anchors.get(event.anchor or "")
            if anchor is None:
                raise ComposerError(None, None, f"found undefined alias {event.anchor!r}", yaml_mark(event.start_mark))
            mark = anchor.mark  # what the alias stands for is written there
            if anchor.kind != _SCALAR:
                if not parent.quiet and anchor.kind != _BAD:
                    self._report(mark, "a mapping key must be a plain string, not a list or a mapping")
                parent.key = _SKIP
                return
            assert anchor.tag is not None and anchor.text is not None  # a scalar's anchor keeps both
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
        if parent.track and parent.path is not None:
            path = (*parent.path, text)
            if parent.all or len(path) <= self.depth or path[: self.depth] in self.wanted:
                self.keys[path] = mark
