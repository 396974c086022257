"""Terminal output: is a stream a terminal, how wide, colour or not, and tables that fit it.

Off a terminal (CI logs, pipes, files) output is plain text in fixed columns, as scripts read
it. On a terminal, when rich is installed (``pip install 'presetsync[terminal]'``), progress
bars are redrawn in place and table rows are fitted to the width: columns narrow (cut text
ends with an ellipsis), then the least useful ones are left out; without rich the plain forms
are used there too. ``NO_COLOR`` (any non-empty value, https://no-color.org) turns colours and
styles off; ``TERM=dumb`` counts as no terminal.

rich is imported only when output goes to a terminal.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

GAP = "  "  # between table columns
FALLBACK_WIDTH = 80  # a terminal whose size cannot be read
STATUS_STYLES = {
    "succ": "green",
    "fail": "red",
    "failed": "red",
    "deleted": "red",
    "sending": "yellow",
    "exec": "cyan",
    "init": "cyan",
}


def is_terminal(stream: object) -> bool:
    """Whether *stream* is an interactive terminal (``TERM=dumb`` is not)."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and os.environ.get("TERM") != "dumb"


def no_colour() -> bool:
    return bool(os.environ.get("NO_COLOR"))


def use_colour(stream: IO[str]) -> bool:
    return is_terminal(stream) and not no_colour()


def width_of(stream: IO[str]) -> int | None:
    """The columns of the terminal *stream* writes to; None when it has none."""
    try:
        return os.get_terminal_size(stream.fileno()).columns or None
    except (AttributeError, ValueError, OSError):
        return None


def console(stream: IO[str], *, terminal: bool | None = None) -> Console | None:
    """A rich Console that writes to *stream*, when *stream* is a terminal (*terminal*
    overrides that check) and rich is installed; None: write plain text."""
    if not (is_terminal(stream) if terminal is None else terminal):
        return None
    try:
        from rich.console import Console
    except ImportError:
        return None
    return Console(
        file=stream,
        width=width_of(stream) or FALLBACK_WIDTH,
        force_terminal=True,
        color_system=None if no_colour() else "auto",  # None: no escape code for colour or style
        highlight=False,
        markup=False,
        emoji=False,
    )


def cells(text: str) -> int:
    """The terminal cells *text* takes (wide characters count two)."""
    if text.isascii():
        return len(text)
    from rich.cells import cell_len

    return cell_len(text)


def cut(text: str, width: int, *, keep_end: bool = False, ellipsis: str = "…") -> str:
    """*text* in at most *width* terminal cells: longer, it is cut and marked with *ellipsis*,
    at its end, or at its start with *keep_end*."""
    if cells(text) <= width:
        return text
    from rich.cells import get_character_cell_size

    room = width - cells(ellipsis)
    kept: list[str] = []
    for char in reversed(text) if keep_end else text:
        room -= get_character_cell_size(char)
        if room < 0:
            break
        kept.append(char)
    if keep_end:
        return ellipsis + "".join(reversed(kept))
    return "".join(kept) + ellipsis


# --------------------------------------------------------------------------------------------
# Tables


@dataclass(frozen=True)
class Column:
    """A table column. Plain output pads it to *width* (the last column is not padded). On a
    terminal it may narrow to *least* (None: never cut, e.g. task ids) and, with a *drop*
    rank, be left out when the row still does not fit (highest rank first). *keep_end* cuts
    from the start (paths: the file name is at the end); *styles* colour cells by value."""

    header: str
    width: int = 0
    least: int | None = None
    drop: int = 0
    keep_end: bool = False
    styles: Mapping[str, str] = field(default_factory=dict)


def fit(columns: Sequence[Column], room: int) -> list[int | None]:
    """Each column's width within *room* cells (None: left out). While the columns do not fit
    at their widths, the least useful is left out; if they still do not, each goes down to its
    *least*. The last column takes what is left, at least its *least* (or its header's)."""
    shown = list(range(len(columns)))
    last = columns[-1]
    last_least = last.least or len(last.header)

    def widths(narrow: bool) -> dict[int, int]:
        chosen = {}
        for i in shown[:-1]:
            least = columns[i].least
            chosen[i] = min(columns[i].width, least) if narrow and least is not None else columns[i].width
        return chosen

    def fits(chosen: dict[int, int]) -> bool:
        return sum(chosen.values()) + len(GAP) * (len(shown) - 1) + last_least <= room

    while not fits(widths(False)) and any(columns[i].drop for i in shown):
        shown.remove(max(shown, key=lambda i: columns[i].drop))
    chosen = widths(not fits(widths(False)))
    chosen[shown[-1]] = max(last_least, room - sum(chosen.values()) - len(GAP) * (len(shown) - 1))
    return [chosen.get(i) for i in range(len(columns))]


class Table:
    """Rows written as they come (streamed): plain fixed columns off a terminal, rows fitted
    to the terminal's width on one (with rich), a row's note on a line of its own below it
    there (in brackets after the row in plain output). *indent* starts every row."""

    def __init__(self, stream: IO[str], columns: Sequence[Column], *, indent: str = ""):
        self.stream = stream
        self.columns = list(columns)
        self.indent = indent
        self.console = console(stream)
        self.widths: list[int | None] = [c.width for c in self.columns]
        if self.console is not None:
            self.room = self.console.width - len(indent)
            self.widths = fit(self.columns, self.room)
            self.ellipsis = "…" if self.console.encoding.lower().startswith("utf") else "~"
            self._styles: dict[str, tuple[str, str]] = {}

    def header(self) -> None:
        if self.console is None:
            self.stream.write(self.plain([c.header for c in self.columns]) + "\n")
        else:
            self._write([c.header for c in self.columns], "bold")

    def row(self, values: Sequence[str], note: str | None = None) -> None:
        if self.console is None:
            self.stream.write(self.plain(values) + (f"  ({note})" if note else "") + "\n")
            return
        self._write(values)
        if note:
            self.console.print(f"{self.indent}  {note}", overflow="fold", style="red")

    def plain(self, values: Sequence[str]) -> str:
        """The plain form of a row: fixed columns, the last one unpadded."""
        padded = [f"{value:<{w}}" for value, w in zip(values[:-1], self.widths)]
        return self.indent + GAP.join([*padded, values[-1]])

    def _write(self, row: Sequence[str], style: str | None = None) -> None:
        """One row on the terminal: each shown cell cut to its column, the line to the width
        (when even the narrowest columns do not fit)."""
        shown = [(str(cell), c, w) for cell, c, w in zip(row, self.columns, self.widths) if w is not None]
        parts, used = [self.indent], 0
        for n, (cell, column, width) in enumerate(shown):
            width = min(width, self.room - used - (len(GAP) if n else 0))
            if width <= 0:
                break
            value = cut(cell, width, keep_end=column.keep_end, ellipsis=self.ellipsis)
            start, end = self._style(style or column.styles.get(cell))
            pad = " " * (width - cells(value)) if n < len(shown) - 1 else ""
            parts.append((GAP if n else "") + start + value + end + pad)
            used += (len(GAP) if n else 0) + width
        self.stream.write("".join(parts).rstrip(" ") + "\n")

    def _style(self, name: str | None) -> tuple[str, str]:
        """The escape codes that start and end *name* (none without colour: NO_COLOR)."""
        if not name:
            return "", ""
        if name not in self._styles:
            assert self.console is not None
            with self.console.capture() as captured:
                self.console.print("\0", style=name, end="")
            start, _, end = captured.get().partition("\0")
            self._styles[name] = (start, end)
        return self._styles[name]
