"""YAML files with positions: safe loading, every problem with file:line:col, file discovery.

Generic: preset files, presetsync.yaml and (later) task manifests all load through
:func:`load_yaml`. The loader is a :class:`yaml.SafeLoader` that composes the node graph
and builds plain data itself, so that it can

* record the 1-based (line, col) of every key and value, by path (``("presets", 0, "param")``);
* report what PyYAML would silently accept: duplicate keys in one mapping (PyYAML keeps the
  last), recursive aliases, alias "bombs";
* refuse every tag that is not plain data (``!!python/...``, ``!Ref``, ``!!binary``, ``!!set``);
* report YAML syntax errors, bytes that are not UTF-8 and empty files at their position.

The data is JSON-like: mapping keys are always strings (the key's text, so ``on:`` stays
``"on"`` instead of becoming ``True``), and timestamps stay the strings they were written as.
Aliases share the anchored object (as PyYAML does); positions inside an aliased subtree are
those of the anchored original, where the user would fix it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .model import Problem, display_path

#: A path into loaded data: mapping keys and list indexes, e.g. ``("presets", 0, "param")``.
YamlPath = tuple[Union[str, int], ...]

_TAG_PREFIX = "tag:yaml.org,2002:"
_MERGE_TAG = _TAG_PREFIX + "merge"
_MAP_TAG = _TAG_PREFIX + "map"
_SEQ_TAG = _TAG_PREFIX + "seq"
_TIMESTAMP_TAG = _TAG_PREFIX + "timestamp"
_PLAIN_SCALAR_TAGS = frozenset(_TAG_PREFIX + name for name in ("str", "int", "float", "bool", "null"))
#: A document that expands (through aliases) to more nodes than this is refused.
MAX_EXPANDED_NODES = 200_000

PRESET_SUFFIXES = (".yaml", ".yml")


def short_tag(tag: str) -> str:
    return "!!" + tag[len(_TAG_PREFIX) :] if tag.startswith(_TAG_PREFIX) else tag


@dataclass
class Positions:
    """Where each key and value of a document is, as 1-based (line, col), by path.

    ``keys[("presets", 0, "param")]`` is where the key ``param`` is written;
    ``values[("presets", 0, "param")]`` where its value starts. List items have only values.
    """

    keys: dict[tuple, tuple[int, int]] = field(default_factory=dict)
    values: dict[tuple, tuple[int, int]] = field(default_factory=dict)

    def key(self, path: Sequence[str | int]) -> tuple[int, int] | None:
        return self.keys.get(tuple(path))

    def value(self, path: Sequence[str | int]) -> tuple[int, int] | None:
        return self.values.get(tuple(path))

    def find(self, path: Sequence[str | int], *, key: bool = False) -> tuple[int, int]:
        """Position of *path* (its key if ``key`` and it has one, else its value), falling back to
        the nearest ancestor that has a position, then to (1, 1)."""
        path = tuple(path)
        while True:
            if key and path in self.keys:
                return self.keys[path]
            if path in self.values:
                return self.values[path]
            if path in self.keys:
                return self.keys[path]
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
        path = tuple(path)
        return any(path[: len(bad)] == bad for bad in self.bad_paths)


class _Refused(Exception):
    """A node that cannot become plain data; the message says why."""


class _PositionBuilder:
    """Turns the composed node graph into plain data plus positions (mixed into a safe loader)."""

    def __init__(self, stream: str, file: str):
        super().__init__(stream)
        self.file = file
        self.positions = Positions()
        self.problems: list[Problem] = []
        self.bad_paths: set[tuple] = set()
        self._built: dict[int, Any] = {}
        self._building: set[int] = set()
        self._sizes: dict[int, int] = {}

    # -- public entry -------------------------------------------------------------------
    def load(self) -> tuple[Any, bool]:
        """(data, empty). Raises yaml.YAMLError on syntax errors."""
        node = self.get_single_node()
        if node is None:
            return None, True
        size = self._expanded_size(node)
        if size > MAX_EXPANDED_NODES:
            self._report(
                node.start_mark,
                f"the document expands to more than {MAX_EXPANDED_NODES} values through aliases; refused",
            )
            return None, False
        return self._build(node, ()), False

    # -- helpers ------------------------------------------------------------------------
    def _report(self, mark: yaml.Mark, message: str) -> None:
        self.problems.append(Problem(self.file, mark.line + 1, mark.column + 1, message))

    @staticmethod
    def _mark(node: Node) -> tuple[int, int]:
        return (node.start_mark.line + 1, node.start_mark.column + 1)

    def _expanded_size(self, node: Node) -> int:
        key = id(node)
        if key in self._sizes:
            return self._sizes[key]
        self._sizes[key] = 1  # provisional: cuts recursion through recursive aliases
        total = 1
        if isinstance(node, SequenceNode):
            total += sum(self._expanded_size(child) for child in node.value)
        elif isinstance(node, MappingNode):
            for k, v in node.value:
                total += self._expanded_size(k) + self._expanded_size(v)
                if total > MAX_EXPANDED_NODES:
                    break
        total = min(total, MAX_EXPANDED_NODES + 1)
        self._sizes[key] = total
        return total

    def _refuse(self, node: Node, path: tuple, message: str) -> None:
        self._report(node.start_mark, message)
        self.bad_paths.add(path)

    # -- building -----------------------------------------------------------------------
    def _build(self, node: Node, path: tuple) -> Any:
        self.positions.values.setdefault(path, self._mark(node))
        key = id(node)
        if key in self._built:
            return self._built[key]
        if key in self._building:
            self._refuse(node, path, "recursive alias: a value cannot contain itself")
            return None
        try:
            if isinstance(node, ScalarNode):
                value = self._scalar(node)
                self._built[key] = value
                return value
            self._building.add(key)
            if isinstance(node, SequenceNode):
                value = self._sequence(node, path)
            else:
                value = self._mapping(node, path)
        except _Refused as exc:
            self._refuse(node, path, str(exc))
            return None
        finally:
            self._building.discard(key)
        self._built[key] = value
        return value

    def _scalar(self, node: ScalarNode) -> Any:
        if node.tag == _TIMESTAMP_TAG:
            return node.value
        if node.tag not in _PLAIN_SCALAR_TAGS:
            raise _Refused(_tag_message(node.tag))
        try:
            return self.yaml_constructors[node.tag](self, node)
        except (ValueError, TypeError, yaml.YAMLError):
            raise _Refused(f"{node.value!r} is not a valid {short_tag(node.tag)} value") from None

    def _sequence(self, node: SequenceNode, path: tuple) -> list:
        if node.tag != _SEQ_TAG:
            raise _Refused(_tag_message(node.tag))
        return [self._build(child, (*path, index)) for index, child in enumerate(node.value)]

    def _mapping(self, node: MappingNode, path: tuple) -> dict:
        if node.tag != _MAP_TAG:
            raise _Refused(_tag_message(node.tag))
        out: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        merges: list[Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merges.append(value_node)
                continue
            name = self._key(key_node, path)
            if name is None:
                continue
            key_path = (*path, name)
            line = key_node.start_mark.line + 1
            if name in first_line:
                self._report(
                    key_node.start_mark,
                    f"duplicate key {name!r} in the same mapping (first defined at line {first_line[name]}); "
                    "YAML keeps only one of them",
                )
            else:
                first_line[name] = line
            self.positions.keys[key_path] = self._mark(key_node)
            self.positions.values.pop(key_path, None)  # a duplicate's value wins, as in PyYAML
            out[name] = self._build(value_node, key_path)
        for merge_node in merges:
            self._merge(out, merge_node, path)
        return out

    def _merge(self, out: dict, merge_node: Node, path: tuple) -> None:
        """``<<: *base`` or ``<<: [*a, *b]``: keys not written explicitly come from the sources,
        earlier sources first."""
        sources = merge_node.value if isinstance(merge_node, SequenceNode) else [merge_node]
        for source in sources:
            if not isinstance(source, MappingNode):
                self._report(source.start_mark, "a merge key (<<) takes a mapping or a list of mappings")
                continue
            if id(source) in self._building:
                self._report(source.start_mark, "recursive alias: a mapping cannot merge itself")
                continue
            merged = self._build(source, (*path, "<<"))
            if not isinstance(merged, dict):
                continue
            for key_node, value_node in source.value:
                if key_node.tag == _MERGE_TAG or not isinstance(key_node, ScalarNode):
                    continue
                name = key_node.value
                if name in out or name not in merged:
                    continue
                out[name] = merged[name]
                self.positions.keys.setdefault((*path, name), self._mark(key_node))
                self.positions.values.setdefault((*path, name), self._mark(value_node))
        self.positions.values.pop((*path, "<<"), None)

    def _key(self, key_node: Node, path: tuple) -> str | None:
        if not isinstance(key_node, ScalarNode):
            self._report(key_node.start_mark, "a mapping key must be a plain string, not a list or a mapping")
            return None
        if key_node.tag not in _PLAIN_SCALAR_TAGS and key_node.tag != _TIMESTAMP_TAG:
            self._report(key_node.start_mark, _tag_message(key_node.tag))
            return None
        return key_node.value


class PositionLoader(_PositionBuilder, yaml.SafeLoader):
    """The pure-Python safe loader with positions: the reference, and the one whose error
    messages presetsync shows."""


# libyaml's parser (shipped in PyYAML's wheels) composes nodes about ten times faster; the
# node graph and its marks are the same. Its error wording differs, so a file it refuses is
# parsed again with PositionLoader to report the error the same way everywhere.
_FastPositionLoader = (
    type("_FastPositionLoader", (_PositionBuilder, yaml.CSafeLoader), {}) if hasattr(yaml, "CSafeLoader") else None
)


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


def parse_yaml(source: str | bytes, file: str, *, allow_empty: bool = False) -> YamlDocument:
    """Load YAML text (``bytes`` must be UTF-8). *file* is the name used in problems.

    An empty document (nothing, or only comments) is a problem unless *allow_empty*.
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
    loader = None
    if _FastPositionLoader is not None:
        try:
            loader = _FastPositionLoader(text, file)
            doc.data, doc.empty = loader.load()
        except yaml.YAMLError:
            loader = None  # parsed again below, for the reference error message
    try:
        if loader is None:
            loader = PositionLoader(text, file)
            doc.data, doc.empty = loader.load()
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
    finally:
        if loader is not None:
            loader.dispose()
    doc.positions = loader.positions
    doc.problems.extend(loader.problems)
    doc.bad_paths = loader.bad_paths
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


def load_yaml(path: Path | str, *, display: str | None = None, allow_empty: bool = False) -> YamlDocument:
    """Read and load one YAML file; problems name it *display* (default: the path as given,
    relative to the current directory when below it)."""
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
    return parse_yaml(raw, file, allow_empty=allow_empty)


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
