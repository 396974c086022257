"""Progress of a submission on stderr: a bar on a terminal, plain lines otherwise.

On a terminal the bar is redrawn in place at most ten times a second::

    [##########..........]  250/500  240 submitted, 10 already, 0 failed, 2 in doubt  310/s

Elsewhere (CI logs, pipes) one plain line is printed each time another twentieth of the tasks
is done, so a log gets about twenty lines whatever the size::

    progress: 250/500 done (240 submitted, 10 already submitted, 0 failed, 2 in doubt)

"Done" counts submitted, already submitted and failed tasks; tasks in doubt are not done
until a settlement decides them.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Callable, TextIO

BAR_WIDTH = 20
REDRAW_SECONDS = 0.1
PLAIN_LINES = 20


class Progress:
    """Thread-safe counters with a display. ``add(kind)`` with kind one of ``submitted``,
    ``already``, ``failed``, ``doubt``; ``resolve(found, resent)`` when doubts are settled."""

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
        self.tty = self.stream.isatty() if tty is None else tty
        self.enabled = enabled
        self.counts = {"submitted": 0, "already": 0, "failed": 0, "doubt": 0}
        self._clock = clock
        self._started = clock()
        self._drawn_at = float("-inf")
        self._step = max(1, -(-total // PLAIN_LINES))
        self._next_line = self._step
        self._last_line: str | None = None
        self._bar_shown = False
        self._lock = threading.Lock()

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
            if self._bar_shown:
                self.stream.write("\r\x1b[K")
            self.stream.write(message + "\n")
            self.stream.flush()
            if self._bar_shown:
                self._draw()

    def finish(self) -> None:
        with self._lock:
            if not self.enabled:
                return
            if self.tty:
                self._draw()
                self.stream.write("\n")
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
        if not self.enabled:
            return
        if self.tty:
            now = self._clock()
            if now - self._drawn_at >= REDRAW_SECONDS or self.done >= self.total:
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

    def _draw(self) -> None:
        filled = BAR_WIDTH * self.done // self.total if self.total else BAR_WIDTH
        elapsed = max(self._clock() - self._started, 1e-6)
        rate = self.counts["submitted"] / elapsed
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        self.stream.write(f"\r\x1b[K[{bar}] {self.done:>{len(str(self.total))}}/{self.total}  {self._describe()}")
        self.stream.write(f"  {rate:.0f}/s")
        self.stream.flush()
        self._bar_shown = True
