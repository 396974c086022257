"""Terminal output through a real pty, read back by a terminal emulator (pyte): the `tasks
submit` progress bar and the `tasks status` / `tasks list` tables fit the terminal (80
columns and wider), the bar is redrawn in place with no stray lines, NO_COLOR gives no colour
or style escape codes, and without a terminal (or without rich) the output is plain lines."""

from __future__ import annotations

import fcntl
import io
import os
import pty
import re
import signal
import struct
import subprocess
import sys
import termios
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from test_tasks_cli import create_presets, make_project, write_manifest

from presetsync.local.faults import Faults
from presetsync.tasks.status import TABLE_COLUMNS
from presetsync.terminal import Column, Table, cut, fit

pyte = pytest.importorskip("pyte")
pytest.importorskip("rich")
from rich.cells import cell_len  # noqa: E402

ESCAPE = re.compile(r"\x1b(\[[0-9;?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-Z\\-_])")
SGR = re.compile(r"\x1b\[[0-9;]*m")  # colours and styles
BAR = "━"
TASKID = re.compile(r"\b[0-9a-f]{32}[0-9]{8}\b")  # as the local service makes them
ROWS = 200  # the emulated screen's height: every line of these outputs stays on it
# variables of the environment that would change how rich or the terminal behaves
TERMINAL_VARIABLES = ("NO_COLOR", "FORCE_COLOR", "COLUMNS", "LINES", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "TERM")


@dataclass
class Terminal:
    """What a command wrote to a terminal of *columns* columns."""

    code: int
    raw: str
    columns: int
    out: str = ""  # standard output, when it was a pipe

    def segments(self) -> list[str]:
        """The text between line feeds and carriage returns, escape codes removed: each is
        written on one terminal line from its first column."""
        return [s for s in re.split(r"[\r\n]", ESCAPE.sub("", self.raw)) if s]

    def too_long(self) -> list[str]:
        return [s for s in self.segments() if cell_len(s) > self.columns]

    def screen(self) -> list[str]:
        """The lines left on the screen (trailing blanks removed), as a terminal shows them."""
        screen = pyte.Screen(self.columns, ROWS)
        pyte.Stream(screen).feed(self.raw)
        lines = [line.rstrip() for line in screen.display]
        while lines and not lines[-1]:
            lines.pop()
        return lines


def on_terminal(
    argv: list[str], cwd: Path, columns: int, *, env: dict | None = None, rich: bool = True, pipe_out: bool = False
) -> Terminal:
    """Run presetsync with standard output and error on a new pty of *columns* columns (as
    in an interactive shell; *pipe_out*: standard output to a pipe); *rich* False runs it as
    if rich were not installed."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, columns, 0, 0))
    environ = {k: v for k, v in os.environ.items() if k not in TERMINAL_VARIABLES}
    environ.update({"TERM": "xterm-256color", **(env or {})})
    start = "import runpy, sys\n" + ("" if rich else "sys.modules['rich'] = None  # import rich fails\n")
    start += "runpy.run_module('presetsync', run_name='__main__')"
    process = subprocess.Popen(
        [sys.executable, "-c", start, *argv],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE if pipe_out else follower,
        stderr=follower,
        env=environ,
    )
    os.close(follower)
    chunks: list[bytes] = []
    reader = threading.Thread(target=_read_all, args=(leader, chunks))  # never blocks the process
    reader.start()
    out = process.stdout.read().decode() if process.stdout else ""
    code = process.wait(timeout=60)
    reader.join(timeout=60)
    os.close(leader)
    return Terminal(code, b"".join(chunks).decode("utf-8"), columns, out)


def _read_all(fd: int, chunks: list[bytes]) -> None:
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the process closed its end
            return
        if not chunk:
            return
        chunks.append(chunk)


@pytest.fixture
def project(local_service, tmp_path, monkeypatch, capsys):
    """A directory whose presetsync.yaml points at the local service, which has the presets."""
    create_presets(local_service)
    return make_project(local_service, tmp_path, monkeypatch, capsys)


@pytest.fixture
def submitted(project):
    """A project whose 40-task manifest (20 sources x 2 presets) is submitted."""
    write_manifest(project.root / "m.yaml", 20)
    code, _, err = project.run("tasks", "submit", "m.yaml")
    assert code == 0, err
    return project


# --------------------------------------------------------------------------------------------
# The progress bar


@pytest.mark.parametrize("columns", [40, 80, 200])
def test_the_progress_bar_fits_the_terminal_and_is_redrawn_in_place(project, columns):
    """500 tasks: the bar that was 86 columns wide (3-digit counts and a 4-digit rate)."""
    write_manifest(project.root / "m.yaml", 250)
    term = on_terminal(["tasks", "submit", "m.yaml", "--parallelism", "8"], project.root, columns, pipe_out=True)
    assert term.code == 0, term.raw
    assert term.too_long() == [], f"lines longer than {columns} columns wrap on the terminal"
    assert sum(segment.count("500/500") for segment in term.segments()) >= 2, "drawn more than once"
    screen = term.screen()
    bars = [line for line in screen if BAR in line or "/500" in line]
    assert len(bars) == 1, f"one bar line, redrawn in place, no stray lines: {screen}"
    assert screen[-1] == bars[0] and "500/500  500 submitted" in bars[0]
    notes = "submitting m.yaml: 500 task(s), 8 in parallel reading the service's task list (GetTaskList) before sending"
    assert " ".join(screen[:-1]) == notes, "the notes above the bar, wrapped to the width, nothing else"
    assert "progress:" not in term.raw, "no plain lines on a terminal"
    assert term.out.startswith("Submitted 500 tasks"), "the summary goes to stdout"


def test_with_no_color_the_bar_has_no_colour_codes_and_without_it_has(project):
    write_manifest(project.root / "m.yaml", 5)
    plain = on_terminal(["tasks", "submit", "m.yaml"], project.root, 80, env={"NO_COLOR": "1"})
    assert plain.code == 0, plain.raw
    assert "10/10" in plain.raw and not SGR.search(plain.raw)
    assert len([line for line in plain.screen() if "10/10" in line]) == 1

    write_manifest(project.root / "n.yaml", 5, dstObjectKey="other/{preset}/{stem}.mp4")
    coloured = on_terminal(["tasks", "submit", "n.yaml"], project.root, 80)
    assert coloured.code == 0, coloured.raw
    assert SGR.search(coloured.raw), "the check above can fail: without NO_COLOR the bar has colours"


def test_ctrl_c_ends_the_bar_line_and_shows_the_cursor_again(project):
    project.service.set_faults(Faults(latency_ms=5))
    write_manifest(project.root / "m.yaml", 300)  # 600 tasks
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, 80, 0, 0))
    environ = {k: v for k, v in os.environ.items() if k not in TERMINAL_VARIABLES} | {"TERM": "xterm-256color"}
    process = subprocess.Popen(
        [sys.executable, "-m", "presetsync", "tasks", "submit", "m.yaml", "--parallelism", "2"],
        cwd=project.root,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=follower,
        env=environ,
        text=True,
    )
    os.close(follower)
    seen = b""
    while b"/600" not in seen:  # the bar is drawn: interrupt
        seen += os.read(leader, 65536)
    process.send_signal(signal.SIGINT)
    chunks = [seen]
    reader = threading.Thread(target=_read_all, args=(leader, chunks))
    reader.start()
    out = process.communicate(timeout=120)[0]
    reader.join(timeout=60)
    os.close(leader)
    term = Terminal(process.returncode, b"".join(chunks).decode(), 80, out)
    assert term.code == 130, term.raw + out
    assert term.raw.endswith("\n\x1b[?25h"), "the bar's line ended, then the cursor shown again"
    assert term.too_long() == []
    assert len([line for line in term.screen() if "/600" in line]) == 1
    assert out.splitlines()[-1].startswith("Interrupted: ")


def test_without_a_terminal_progress_is_plain_lines(project):
    write_manifest(project.root / "m.yaml", 20)
    code, _, err = project.run("tasks", "submit", "m.yaml")  # stderr is not a terminal here
    assert code == 0, err
    lines = [line for line in err.splitlines() if line.startswith("progress:")]
    assert 1 <= len(lines) <= 21
    assert lines[-1] == "progress: 40/40 done (40 submitted, 0 already submitted, 0 failed)"
    assert "\x1b" not in err and "\r" not in err


def test_without_rich_a_terminal_gets_the_plain_lines(project):
    write_manifest(project.root / "m.yaml", 20)
    term = on_terminal(["tasks", "submit", "m.yaml"], project.root, 80, rich=False)
    assert term.code == 0, term.raw
    assert "progress: 40/40 done (40 submitted, 0 already submitted, 0 failed)" in term.screen()
    assert "\x1b" not in term.raw and BAR not in term.raw


# --------------------------------------------------------------------------------------------
# Tables


def test_status_and_list_tables_fit_80_columns(submitted):
    for argv, header in (
        (["tasks", "status", "m.yaml"], ["STATUS", "TASKID", "PRESET", "OUTPUT"]),  # ID left out first
        (["tasks", "list"], ["TASKID", "STATUS", "PRESET", "OUTPUT"]),  # CREATED left out first
    ):
        term = on_terminal(argv, submitted.root, 80)
        assert term.code == 0, term.raw
        assert term.too_long() == [], f"{' '.join(argv)}: lines longer than 80 columns"
        screen = term.screen()
        assert screen[0].split() == header
        rows = [line for line in screen if TASKID.search(line)]
        assert len(rows) == 40, screen
        assert len(screen) == 42, "a header, 40 rows with their whole task ids, the summary: nothing wrapped"
        assert all(row.endswith(".mp4") and "…" in row for row in rows), "outputs cut at their start"


def test_on_a_wide_terminal_tables_show_every_column_uncut(submitted):
    for argv, header in (
        (["tasks", "status", "m.yaml"], ["ID", "STATUS", "TASKID", "PRESET", "OUTPUT"]),
        (["tasks", "list"], ["TASKID", "STATUS", "CREATED", "PRESET", "OUTPUT"]),
    ):
        term = on_terminal(argv, submitted.root, 200)
        assert term.code == 0, term.raw
        assert term.too_long() == []
        screen = term.screen()
        assert screen[0].split() == header
        assert "media-out/web_720p/film00000.mp4" in "\n".join(screen)
        assert "…" not in "\n".join(screen)


def test_tables_with_no_color_have_no_escape_codes_and_without_it_have(submitted):
    term = on_terminal(["tasks", "list"], submitted.root, 80, env={"NO_COLOR": "1"})
    assert term.code == 0 and not SGR.search(term.raw)
    term = on_terminal(["tasks", "list"], submitted.root, 80)
    assert SGR.search(term.raw), "the check above can fail: the header is bold on a terminal"


def test_off_a_terminal_and_without_rich_tables_are_the_plain_fixed_columns(submitted):
    _, out, _ = submitted.run("tasks", "list")
    header = f"{'TASKID':<40}  {'STATUS':<6}  {'CREATED':<19}  {'PRESET':<24}  OUTPUT"
    assert out.splitlines()[0] == header
    assert "\x1b" not in out
    _, out, _ = submitted.run("tasks", "status", "m.yaml")
    assert out.splitlines()[0] == f"{'ID':<12}  {'STATUS':<10}  {'TASKID':<40}  {'PRESET':<24}  OUTPUT"
    term = on_terminal(["tasks", "list"], submitted.root, 80, rich=False)
    assert term.code == 0 and term.screen()[0] == header[:80].rstrip(), "plain, as off a terminal"
    assert "\x1b" not in term.raw


# --------------------------------------------------------------------------------------------
# The parts


def test_a_note_goes_under_its_row_wrapped_to_the_width(monkeypatch):
    for name in TERMINAL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, 80, 0, 0))
    stream = open(follower, "w", encoding="utf-8", closefd=False)  # noqa: SIM115 (a real terminal)
    error = "errorCode 1002: " + "the source cannot be read " * 5
    try:
        table = Table(stream, TABLE_COLUMNS)
        table.header()
        table.row(
            ["a1b2c3d4e5f6", "fail", "f" * 40, "网页预设_720p_高清", "media-out/a/very/long/path/film.mp4"], error
        )
    finally:
        stream.close()
        os.close(follower)  # then the leader reads what was written, and the end
    chunks: list[bytes] = []
    _read_all(leader, chunks)
    os.close(leader)
    term = Terminal(0, b"".join(chunks).decode(), 80)
    assert term.too_long() == []
    screen = term.screen()
    assert screen[1].split()[:3] == ["fail", "f" * 40, "网页预设_…"], "wide characters count two cells"
    assert screen[1].endswith("…/path/film.mp4")
    assert screen[2].startswith("  errorCode 1002: the source") and len(screen) >= 4, "wrapped below its row"


def test_plain_rows_keep_their_note_in_brackets():
    out = io.StringIO()
    table = Table(out, [Column("A", 3), Column("B")])
    table.header()
    table.row(["x", "yz"], "why")
    assert out.getvalue() == "A    B\nx    yz  (why)\n"


def test_columns_narrow_then_the_least_useful_are_left_out():
    assert fit(TABLE_COLUMNS, 200) == [12, 10, 40, 24, 106], "OUTPUT takes the rest"
    assert fit(TABLE_COLUMNS, 120) == [12, 10, 40, 24, 26]
    assert fit(TABLE_COLUMNS, 100) == [None, 10, 40, 24, 20], "ID left out"
    assert fit(TABLE_COLUMNS, 80) == [None, 9, 40, 10, 15], "then STATUS and PRESET narrowed"
    assert fit(TABLE_COLUMNS, 40) == [None, 9, 40, 10, 12], "no room: the least widths (the line is cropped)"


def test_cut_keeps_the_start_or_the_end_in_terminal_cells():
    assert cut("media-out/web_720p/film00001.mp4", 15, keep_end=True) == "…/film00001.mp4"
    assert cut("web_720p_high_quality", 10) == "web_720p_…"
    assert cut("网页网页", 5) == "网页…"
    assert cut("short", 10) == "short"
