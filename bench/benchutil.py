"""Shared by the bench scripts (not a benchmark itself): the figures' recording, for all of
them; set-up and measuring helpers for bench/plan, bench/validate and bench/startup.

Every measured command runs in its own process, so that its peak RSS (read from ``os.wait4``)
is its own and nothing shares a GIL with the local service, which runs in yet another process.
"""

from __future__ import annotations

import argparse
import atexit
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TypedDict

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

KEY, SECRET = "AKLTEXAMPLEBENCHPRESETS", "ExampleBenchSecret/presets00000000000000"
# Child processes use byte-compiled modules, as an installed package does (pip compiles them),
# cached in a temporary directory rather than beside the sources; the first run writes them.
PYCACHE = tempfile.mkdtemp(prefix="presetsync-bench-pycache-")
atexit.register(shutil.rmtree, PYCACHE, True)
ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
ENV.update(KS_ACCESS_KEY_ID=KEY, KS_SECRET_ACCESS_KEY=SECRET, PYTHONPATH=str(ROOT), PYTHONPYCACHEPREFIX=PYCACHE)


class PresetBody(TypedDict):
    preset: str
    presettype: str
    description: str
    param: dict[str, object]


def preset(i: int, *, vb_offset: int = 0) -> PresetBody:
    """Preset number *i*: an avop H.264 ladder rung with a few varying fields."""
    height = (360, 480, 720, 1080)[i % 4]
    return {
        "preset": f"bench_{i:06d}",
        "presettype": "avop",
        "description": f"bench preset {i}",
        "param": {
            "f": "mp4",
            "AUDIO": {"acodec": "aac", "ab": f"{64 + i % 64}k", "ar": 44100},
            "VIDEO": {
                "vcodec": "h264",
                "vb": f"{500 + i % 4000 + vb_offset}k",
                "vr": 25,
                "width": height * 16 // 9,
                "height": height,
            },
        },
    }


def write_files(count: int, folder: Path, per_file: int | None) -> int:
    """Presets 0..*count* as YAML under *folder*: one file, or *per_file* presets a file. Returns the
    number of files. Done in another process, so that this one stays small: a child's peak RSS
    counts what it shares with its parent until it starts its own program."""
    setup("write", str(folder), str(count), str(per_file or count))
    return -(-count // (per_file or count))


def _write(folder: Path, count: int, per_file: int) -> None:
    folder.mkdir(parents=True)
    for number, start in enumerate(range(0, count, per_file)):
        presets = [preset(i) for i in range(start, min(count, start + per_file))]
        text = yaml.dump({"presets": presets}, Dumper=yaml.CSafeDumper, sort_keys=False)
        (folder / f"presets_{number:04d}.yaml").write_text(text)


def start_service(tmp: Path) -> tuple[subprocess.Popen[str], str, Path]:
    """The local offline service in its own process; (process, URL, its SQLite file)."""
    accounts = tmp / "accounts.yaml"
    accounts.write_text(yaml.safe_dump({"accounts": [{"access_key_id": KEY, "secret_access_key": SECRET}]}))
    accounts.chmod(0o600)
    db = tmp / "service.sqlite"
    command = presetsync("serve", "--port", "0", "--db", str(db), "--accounts", str(accounts))
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=ROOT, env=ENV)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    return proc, next(word for word in line.split() if word.startswith("http://")), db


def insert_presets(db: Path, count: int, changed_every: int) -> None:
    """Presets 0..*count* straight into the service's store, as its Preset handler stores them,
    every *changed_every*-th with another vb (setup only; in another process, see write_files)."""
    setup("insert", str(db), str(count), str(changed_every))


def _insert(db: Path, count: int, changed_every: int) -> None:
    from presetsync.local.store import PresetRow, Store

    store = Store(db)
    now = time.time()
    try:
        for first in range(0, count, 10_000):
            with store.transaction(write=True) as tx:
                for i in range(first, min(count, first + 10_000)):
                    body = preset(i, vb_offset=1 if i % changed_every == 0 else 0)
                    param = json.dumps(body["param"], ensure_ascii=False)
                    tx.insert_preset(KEY, PresetRow(body["preset"], "avop", body["description"], param, now, None))
    finally:
        store.close()


def setup(*args: str) -> None:
    subprocess.run([sys.executable, __file__, *args], env=ENV, check=True)


def run(command: list[str], cwd: Path) -> tuple[float, float, int, str]:
    """Run *command*; (wall seconds, peak RSS in MB, exit status, stdout)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(command, cwd=cwd, env=ENV, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        text, errors = out.read(), err.read()
    if errors.strip() and proc.returncode not in (0, 2):
        text += errors
    return seconds, usage.ru_maxrss / 1024, proc.returncode, text


def presetsync(*args: str) -> list[str]:
    return [sys.executable, "-m", "presetsync", *args]


# The floor: what any plan must do, in a process of its own. It prints its phases as JSON.
FLOOR = """
import json, sys, time
from pathlib import Path
import yaml
folder, url = Path(sys.argv[1]), sys.argv[2]
out = {}
if url != "-":
    from presetsync.api.client import OfflineClient
    from presetsync.api.credentials import Credentials
    client = OfflineClient(endpoint=url, credentials=Credentials(sys.argv[3], sys.argv[4]))
    started = time.perf_counter()
    listed = client.get_preset_list(withDetail=1, presettype="", presets="")  # JSON parsed and checked by the client
    out["service"] = time.perf_counter() - started
    out["live"] = len(listed)
started = time.perf_counter()
count = 0
for path in sorted(folder.rglob("*.yaml")):
    count += len(yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)["presets"])
out["yaml"] = time.perf_counter() - started
out["presets"] = count
print(json.dumps(out))
"""


def floor(folder: Path, url: str | None = None) -> tuple[dict[str, float], float]:
    """(phases in seconds, peak RSS in MB) of the floor: one GetPresetList(withDetail=1) with its
    JSON parse (when *url*), and a C-loader ``yaml.load`` of every file under *folder*."""
    args = [str(folder), url or "-", KEY, SECRET]
    _, rss, status, out = run([sys.executable, "-c", FLOOR, *args], ROOT)
    if status != 0:
        raise SystemExit(f"floor failed:\n{out}")
    phases = json.loads(out.strip().splitlines()[-1])
    phases["total"] = phases.get("service", 0.0) + phases["yaml"]
    return phases, rss


# Recording. Every bench script ends its main with ``RUN.finish(args)``: that prints its
# figures, each with its ratio to its floor (or to its target when it has no floor), and with
# --record writes them, with the run's context, to bench/results/<script>.json, which
# bench/report renders into README.md. The run starts when this module is imported, that is
# when the script starts, so that the load average is the one the bench started under.

RESULTS = ROOT / "bench" / "results"
FORMAT = 1  # of the JSON files; bench/report refuses others


@dataclass
class Figure:
    """One figure. A ratio figure (unit "x") is *measured* over *floor*, both in *base_unit*;
    any figure may also carry them to show its ratio to a floor (start-up: ``python -c pass``).
    *met* is None when there is no target."""

    name: str
    value: float | str
    unit: str
    target: float | str | None = None
    op: str | None = None  # "<=", ">=" or "==" (value against target)
    met: bool | None = None
    measured: float | None = None
    measured_name: str | None = None
    floor: float | None = None
    floor_name: str | None = None
    base_unit: str | None = None


def _rounded(value: float) -> float:
    return float(f"{value:.4g}")


def _met(value: float | str, op: str | None, target: float | str | None) -> bool | None:
    if target is None or op is None:
        return None
    if op == "==" or isinstance(value, str) or isinstance(target, str):
        return value == target
    return value <= target if op == "<=" else value >= target


class Run:
    """The figures of this run, and its context (date, machine, load average at start)."""

    def __init__(self) -> None:
        self.script = Path(sys.argv[0]).name
        self.started = datetime.now(timezone.utc)
        self.started_clock = time.perf_counter()
        self.load_at_start = [round(load, 2) for load in os.getloadavg()]
        self.figures: list[Figure] = []

    def add(
        self,
        name: str,
        value: float | str,
        unit: str,
        *,
        target: float | str | None = None,
        op: str | None = None,
        met: bool | None = None,
        floor: float | None = None,
        floor_name: str | None = None,
        measured_name: str | None = None,
    ) -> Figure:
        """A figure; *met* is worked out from *op* and *target* unless given (compound targets).
        With *floor* (in the figure's unit), the ratio of the value to it is shown too."""
        shown = _rounded(value) if isinstance(value, float) else value
        if isinstance(shown, float) and not math.isfinite(shown):
            shown = "not measured"  # JSON has no NaN
        op = op if target is not None else None
        figure = Figure(name, shown, unit, target, op, _met(value, op, target) if met is None else met)
        if floor is not None and isinstance(shown, (int, float)):
            figure.measured, figure.floor, figure.base_unit = shown, _rounded(floor), unit
            figure.measured_name, figure.floor_name = measured_name or "measured", floor_name or "floor"
        self.figures.append(figure)
        return figure

    def ratio(
        self,
        name: str,
        measured: float,
        floor: float,
        base_unit: str,
        *,
        target: float | None = None,
        op: str | None = None,
        met: bool | None = None,
        measured_name: str = "measured",
        floor_name: str = "floor",
    ) -> Figure:
        """A ratio figure: *measured* / *floor* (both in *base_unit*), against *target*."""
        figure = self.add(name, measured / floor, "x", target=target, op=op, met=met)
        figure.measured, figure.floor, figure.base_unit = _rounded(measured), _rounded(floor), base_unit
        figure.measured_name, figure.floor_name = measured_name, floor_name
        return figure

    def context(self) -> dict[str, object]:
        return {
            "date": self.started.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "seconds": round(time.perf_counter() - self.started_clock, 1),
            "command": " ".join(["bench/" + self.script, *_options(sys.argv[1:])]),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average_at_start": self.load_at_start,
            "load_average_at_end": [round(load, 2) for load in os.getloadavg()],
        }

    def finish(self, args: argparse.Namespace) -> None:
        """Print every figure with its ratio; with --record, write them to --results."""
        print(f"figures of bench/{self.script}:")
        for figure in self.figures:
            print(f"  {describe(figure)}")
        if not getattr(args, "record", False):
            return
        folder = Path(args.results)
        folder.mkdir(parents=True, exist_ok=True)
        context = self.context()
        figures = [{key: value for key, value in asdict(f).items() if value is not None} for f in self.figures]
        name = getattr(args, "record_as", None) or self.script
        document = {"format": FORMAT, "script": name, "context": context, "figures": figures}
        path = folder / f"{name}.json"
        partial = path.with_name(path.name + ".partial")  # written whole, then renamed
        partial.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        partial.replace(path)
        print(f"recorded {len(figures)} figures in {path} (the run took {context['seconds']} s)")


def describe(figure: Figure) -> str:
    """One line: the figure, its ratio to its floor or target, the verdict."""
    text = f"{figure.name}: {_quantity(figure.value, figure.unit)}"
    if figure.floor is not None and figure.measured is not None:
        unit = figure.base_unit or ""
        text += f" ({figure.measured_name} {_quantity(figure.measured, unit)} / {figure.floor_name} "
        text += f"{_quantity(figure.floor, unit)}"
        text += ")" if figure.unit == "x" else f" = {figure.measured / figure.floor:.2f}x)"
    elif isinstance(figure.value, (int, float)) and isinstance(figure.target, (int, float)) and figure.target:
        text += f" ({figure.value / figure.target:.2f}x the target)"
    if figure.target is not None:
        verdict = "met" if figure.met else "NOT met"
        text += f"; target {figure.op} {_quantity(figure.target, figure.unit)}: {verdict}"
    return text


def _quantity(value: float | str, unit: str) -> str:
    shown = f"{value:.3g}" if isinstance(value, float) else str(value)
    return shown + ("" if unit in ("", "x") else " ") + unit


def record_against_floor(
    command: str,
    size: int,
    layout: str,
    seconds: float,
    floor_seconds: float,
    rss: float,
    targets: tuple[float, float, int],
) -> None:
    """A row of bench/plan or bench/validate: *command* over its floor, and its peak RSS.
    *targets*: the ratio's, the peak RSS's in MB, and the size from which that one applies."""
    ratio_target, rss_target, rss_at = targets
    where = f"`{command}`, {size:,} presets, {layout}"
    RUN.ratio(where, seconds, floor_seconds, "s", target=ratio_target, op="<=", measured_name=command)
    RUN.add(f"{where}: peak RSS", rss, "MB", target=rss_target if size >= rss_at else None, op="<=")


def _options(argv: list[str]) -> list[str]:
    """The command line without the recording options."""
    kept, skip = [], False
    for word in argv:
        if skip:
            skip = False
        elif word in ("--results", "--record-as"):
            skip = True
        elif word != "--record" and not word.startswith(("--results=", "--record-as=")):
            kept.append(word)
    return kept


def add_record_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--record", action="store_true", help="also write the figures as JSON (for bench/report)")
    parser.add_argument("--results", default=str(RESULTS), help="folder of the JSON files (default bench/results)")
    parser.add_argument("--record-as", metavar="NAME", help="the JSON file's name (default: the script's name)")


RUN = Run()


if __name__ == "__main__":  # setup steps, run by setup() in a process of their own
    step, where, count, number = sys.argv[1:5]
    if step == "write":
        _write(Path(where), int(count), int(number))
    else:
        _insert(Path(where), int(count), int(number))
