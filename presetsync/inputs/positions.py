"""Where things are in a loaded YAML document: paths into its data and (line, col) positions.

A path is a tuple of mapping keys and list indexes (``("presets", 0, "param")``); :func:`dotted`
shows one for messages. :class:`Positions` gives the 1-based (line, col) of every key and value
by path, reading the text again for those a load did not record (see :mod:`.documents`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Union

#: A path into loaded data: mapping keys and list indexes, e.g. ``("presets", 0, "param")``.
YamlPath = tuple[Union[str, int], ...]
#: A 1-based (line, col).
Position = tuple[int, int]
#: Positions by path: of keys (where ``param:`` is written) or of values (where its value starts).
PositionMap = dict[YamlPath, Position]
#: The subtrees whose positions a load records (below the first levels, see Positions).
Wanted = frozenset[YamlPath]
#: Reads the text again, recording every position at and below the wanted paths.
Reload = Callable[[Wanted], tuple[PositionMap, PositionMap]]

#: Path component that stands for "every item" of an array in a field path (``IMAGE.*.logoUrl``).
ITEMS = "*"

#: After this many partial second reads, the next one records every position.
_MAX_PARTIAL_READS = 2


def dotted(path: tuple[str | int, ...]) -> str:
    """``("IMAGE", "*", "logoUrl")`` -> ``IMAGE[].logoUrl``; ``("IMAGE", 0, "x")`` -> ``IMAGE[0].x``."""
    out = ""
    for part in path:
        if part == ITEMS:
            out += "[]"
        elif isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out


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
        keys: PositionMap | None = None,
        values: PositionMap | None = None,
        *,
        depth: int | None = None,
        reload: Reload | None = None,
    ):
        self._keys = {} if keys is None else keys
        self._values = {} if values is None else values
        self._depth = depth if reload is not None else None  # None: every position is known
        self._reload = reload
        self._wanted: Wanted = frozenset()
        self._reads = 0

    def _known(self, path: YamlPath) -> bool:
        depth = self._depth
        return depth is None or len(path) <= depth or path[:depth] in self._wanted

    def want(self, paths: Iterable[Sequence[str | int]]) -> None:
        """Make every position at and below *paths* known, with at most one more read of the text."""
        depth = self._depth
        if depth is None:
            return
        missing: set[YamlPath] = set()
        for path in map(tuple, paths):
            if len(path) < depth:
                missing.add(())  # what is below a short path: everything, read at once
            elif path[:depth] not in self._wanted:
                missing.add(path[:depth])
        if missing:
            self._read(self._wanted | missing)

    def _ensure(self, path: YamlPath) -> None:
        if not self._known(path):
            assert self._depth is not None
            self._read(self._wanted | {path[: self._depth]})

    def _read(self, wanted: Wanted) -> None:
        assert self._reload is not None
        self._reads += 1
        if self._reads > _MAX_PARTIAL_READS:
            wanted = frozenset({()})
        self._keys, self._values = self._reload(wanted)
        if () in wanted:
            self._depth, self._reload = None, None
        self._wanted = wanted

    @property
    def keys(self) -> PositionMap:
        """Every key position (reads the text again if they are not all known yet)."""
        if self._depth is not None:
            self._read(frozenset({()}))
        return self._keys

    @property
    def values(self) -> PositionMap:
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
