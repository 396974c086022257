"""A problem in an input file, at its position, and how a file is named in messages."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, order=True)
class Problem:
    """One problem in an input file. ``line``/``col`` are 1-based; 0 means "not known".

    ``str(problem)`` is ``file:line:col: message`` (``file: message`` when there is no line),
    the format editors and CI annotations understand. Problems sort by file, line, column.
    """

    file: str
    line: int = 0
    col: int = 0
    message: str = ""

    def __post_init__(self) -> None:
        # a Path given for file (by an untyped caller) must still sort and compare as text
        object.__setattr__(self, "file", str(self.file))

    def __str__(self) -> str:
        if self.line <= 0:
            return f"{self.file}: {self.message}"
        if self.col <= 0:
            return f"{self.file}:{self.line}: {self.message}"
        return f"{self.file}:{self.line}:{self.col}: {self.message}"


def display_path(path: Path | str, cwd: Path | None = None) -> str:
    """A path for messages: relative to *cwd* (default: the current directory) when it lies
    below it, otherwise as given."""
    p = Path(path)
    if not p.is_absolute():
        return str(p)
    base = (cwd or Path.cwd()).resolve()
    try:
        return str(p.relative_to(base))
    except ValueError:
        return str(p)


def plural(count: int, word: str) -> str:
    """``1 file``, ``2 files``: the counts of the summaries that end a check."""
    return f"{count} {word}{'' if count == 1 else 's'}"
