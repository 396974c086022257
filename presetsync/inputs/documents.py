"""YAML files with positions: safe loading, every problem with file:line:col.

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

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .events import _Builder
from .nodes import TRACK_DEPTH
from .positions import PositionMap, Positions, Wanted, YamlPath
from .problems import Problem, display_path

#: Files up to this size keep their text for positions read on demand; bigger ones read it again.
_KEPT_TEXT = 1 << 20

_C_LOADER: type[yaml.CSafeLoader] | None = getattr(yaml, "CSafeLoader", None)  # None: PyYAML without libyaml


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
    bad_paths: set[YamlPath] = field(default_factory=set)
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


def _build(text: str, file: str, wanted: Wanted, fast: bool, depth: int) -> tuple[_Builder, Any, bool]:
    """Load *text* with libyaml's parser (*fast*) or the pure-Python one; raises yaml.YAMLError."""
    loader = _C_LOADER(text) if fast and _C_LOADER is not None else yaml.SafeLoader(text)
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

    def reload(wanted: Wanted) -> tuple[PositionMap, PositionMap]:
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
