"""Shared by bench/plan, bench/validate and bench/startup (not a benchmark itself).

Every measured command runs in its own process, so that its peak RSS (read from ``os.wait4``)
is its own and nothing shares a GIL with the local service, which runs in yet another process.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


def preset(i: int, *, vb_offset: int = 0) -> dict:
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


def start_service(tmp: Path) -> tuple[subprocess.Popen, str, Path]:
    """The local offline service in its own process; (process, URL, its SQLite file)."""
    accounts = tmp / "accounts.yaml"
    accounts.write_text(yaml.safe_dump({"accounts": [{"access_key_id": KEY, "secret_access_key": SECRET}]}))
    accounts.chmod(0o600)
    db = tmp / "service.sqlite"
    command = [sys.executable, "-m", "presetsync.local", "--port", "0", "--db", str(db), "--accounts", str(accounts)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=ROOT, env=ENV)
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


def floor(folder: Path, url: str | None = None) -> tuple[dict, float]:
    """(phases in seconds, peak RSS in MB) of the floor: one GetPresetList(withDetail=1) with its
    JSON parse (when *url*), and a C-loader ``yaml.load`` of every file under *folder*."""
    args = [str(folder), url or "-", KEY, SECRET]
    _, rss, status, out = run([sys.executable, "-c", FLOOR, *args], ROOT)
    if status != 0:
        raise SystemExit(f"floor failed:\n{out}")
    phases = json.loads(out.strip().splitlines()[-1])
    phases["total"] = phases.get("service", 0.0) + phases["yaml"]
    return phases, rss


if __name__ == "__main__":  # setup steps, run by setup() in a process of their own
    step, where, count, number = sys.argv[1:5]
    if step == "write":
        _write(Path(where), int(count), int(number))
    else:
        _insert(Path(where), int(count), int(number))
