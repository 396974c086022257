"""Progress of a submission on stderr: a bar on a terminal, plain lines otherwise.

On a terminal, with rich installed (see :mod:`presetsync.terminal`), one line is redrawn in
place at most ten times a second, fitted to the terminal's width (read again at each redraw,
so a resized window is followed)::

    ━━━━━━━━━━━━━━━━━━━━╺━━━━━━━━━━━━━━━━━━━  250/500  240 submitted, 10 already, 2 in doubt  310/s

Elsewhere (CI logs, pipes; and on a terminal without rich) one plain line is printed each
time another twentieth of the tasks is done, so a log gets about twenty lines whatever the
size::

    progress: 250/500 done (240 submitted, 10 already submitted, 0 failed, 2 in doubt)

"Done" counts submitted, already submitted and failed tasks; tasks in doubt are not done
until a settlement decides them.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Callable, TextIO

from ..terminal import console, cut, width_of

if TYPE_CHECKING:
    from rich.live import Live

REDRAW_SECONDS = 0.1
PLAIN_LINES = 20
BAR_WIDTHS = (10, 40)  # the bar's narrowest and widest, in columns
BAR_LABELS = (("already", "already"), ("failed", "failed"), ("doubt", "in doubt"))  # shown when not 0


class Progress:
    """Thread-safe counters with a display. ``add(kind)`` with kind one of ``submitted``,
    ``already``, ``failed``, ``doubt``; ``resolve(found, resent)`` when doubts are settled;
    ``finish()`` (once or more) ends the display. *tty* overrides whether *stream* is a
    terminal."""

    def __init__(
        self,
        total: int,
        *,
        stream: TextIO | None = None,
        tty: bool | None = None,
        enabled: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.total = total
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.counts = {"submitted": 0, "already": 0, "failed": 0, "doubt": 0}
        self._console = console(self.stream, terminal=tty) if enabled else None
        self._live: Live | None = None  # the bar, once drawn
        self._clock = clock
        self._started = clock()
        self._drawn_at = float("-inf")
        self._step = max(1, -(-total // PLAIN_LINES))
        self._next_line = self._step
        self._last_line: str | None = None
        self._finished = False
        self._lock = threading.Lock()

    @property
    def tty(self) -> bool:
        """Whether a bar is drawn (a terminal, and rich installed)."""
        return self._console is not None

    @property
    def done(self) -> int:
        c = self.counts
        return c["submitted"] + c["already"] + c["failed"]

    def add(self, kind: str, count: int = 1) -> None:
        with self._lock:
            self.counts[kind] += count
            self._show()

    def resolve(self, found: int, resent: int) -> None:
        """A settlement decided ``found + resent`` tasks in doubt."""
        with self._lock:
            self.counts["doubt"] -= found + resent
            self.counts["submitted"] += found
            self._show()

    def note(self, message: str) -> None:
        """A line of its own (the bar, if any, is drawn again below it)."""
        if not self.enabled:
            return
        with self._lock:
            if self._console is not None:
                with _ctrl_c_held():
                    self._console.print(message, highlight=False)
            else:
                self.stream.write(message + "\n")
                self.stream.flush()

    def finish(self) -> None:
        """The last state, then the display ends (the terminal's cursor shown again)."""
        with self._lock:
            if not self.enabled or self._finished:
                return
            self._finished = True
            if self._console is not None:
                with _ctrl_c_held():
                    self._draw(refresh=False).stop()  # draws it once more, and ends the line
            elif self._line() != self._last_line:
                self._write_line()
            self.stream.flush()

    # -- drawing (lock held) ----------------------------------------------------------------

    def _describe(self) -> str:
        c = self.counts
        text = f"{c['submitted']} submitted, {c['already']} already submitted, {c['failed']} failed"
        return text + (f", {c['doubt']} in doubt" if c["doubt"] else "")

    def _line(self) -> str:
        return f"progress: {self.done}/{self.total} done ({self._describe()})"

    def _show(self) -> None:
        if not self.enabled or self._finished:
            return
        if self._console is not None:
            now = self._clock()
            if now - self._drawn_at >= REDRAW_SECONDS or self.done >= self.total:
                with _ctrl_c_held():
                    self._draw()
                self._drawn_at = now
            return
        if self.done >= self._next_line:
            self._write_line()
            while self._next_line <= self.done:
                self._next_line += self._step

    def _write_line(self) -> None:
        self._last_line = self._line()
        self.stream.write(self._last_line + "\n")
        self.stream.flush()

    def _draw(self, refresh: bool = True) -> Live:
        """Redraw the bar: bar, done/total, counts (zeros left out), rate (after a second); on
        a narrow terminal the rate is left out, then the counts are cut. Returns the display."""
        from rich.progress_bar import ProgressBar
        from rich.table import Table

        assert self._console is not None
        room = width_of(self.stream) or self._console.width
        self._console.width = room
        c = self.counts
        count = f"{self.done:>{len(str(self.total))}}/{self.total}"
        describe = ", ".join([f"{c['submitted']} submitted"] + [f"{c[k]} {label}" for k, label in BAR_LABELS if c[k]])
        text = f"  {count}  {describe}"
        elapsed = self._clock() - self._started
        rate = f"  {c['submitted'] / elapsed:.0f}/s" if elapsed >= 1 else ""
        if BAR_WIDTHS[0] + len(text) + len(rate) <= room:
            text += rate
        bar = max(BAR_WIDTHS[0], min(BAR_WIDTHS[1], room - len(text)))
        grid = Table.grid()  # the bar, and the text cut to what is left
        grid.add_column(width=bar, no_wrap=True)
        grid.add_column(no_wrap=True)
        meter = ProgressBar(total=self.total or 1, completed=self.done if self.total else 1, width=bar)
        grid.add_row(meter, cut(text, max(1, room - bar)))
        if self._live is None:
            from rich.live import Live

            self._live = Live(
                console=self._console,
                auto_refresh=False,  # drawn here, at most every REDRAW_SECONDS: no thread of its own
                redirect_stdout=False,  # stdout may be a pipe: it is not the bar's
                redirect_stderr=False,
            )
            self._live.start()
        self._live.update(grid, refresh=refresh)
        return self._live


@contextmanager
def _ctrl_c_held() -> Iterator[None]:
    """In the main thread, a Ctrl-C that comes while the terminal is written is raised once
    the writing is done: a KeyboardInterrupt inside rich can leave its output buffer written
    but not emptied, and the next write repeats it (a stray bar)."""
    if threading.current_thread() is not threading.main_thread() or (
        signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield
        return
    caught: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if caught:
            raise KeyboardInterrupt
