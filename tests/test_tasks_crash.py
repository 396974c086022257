"""Crash safety: `tasks submit` killed with SIGKILL at random points, then run to completion.

A 500-task manifest is submitted by ``python -m presetsync tasks submit`` in a subprocess,
against ``presetsync serve`` in another (its own accounts file). Each run is killed after
reading a random number of its progress lines (a fixed seed picks them), four times; then it
runs until it exits 0. Wherever the kills landed - before, during or after a CreateTask, in
the middle of a settlement - the service must end up with exactly the 500 outputs of the
manifest, each written by exactly one task. The assertion never depends on timing.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml
from test_tasks_cli import service_tasks, write_manifest

from presetsync.api.client import OfflineClient, RetryPolicy
from presetsync.api.credentials import Credentials
from presetsync.errors import ApiError, OutcomeUnknown

KILLS = 4
FINAL_RUNS = 4
SOURCES = 250  # x 2 presets = 500 tasks


def patient_client(url: str, key: str, secret: str) -> OfflineClient:
    """A client that rides out injected drops (reads are retried; nothing really sleeps)."""
    return OfflineClient(
        endpoint=url, credentials=Credentials(key, secret), retry=RetryPolicy(max_attempts=20), sleep=lambda s: None
    )


def ensure_preset(client: OfflineClient, name: str) -> None:
    while True:
        try:
            client.preset({"preset": name, "presettype": "avop", "param": {"f": "mp4"}})
            return
        except OutcomeUnknown:
            continue  # the answer was lost: ask again; "exists" ends it
        except ApiError as exc:
            if exc.err_num == 1002:
                return
            raise


def submit_command(url: str) -> list[str]:
    return [sys.executable, "-m", "presetsync", "tasks", "submit", "m.yaml", "--endpoint", url, "--parallelism", "8"]


def kill_after_lines(command: list[str], cwd: Path, env: dict, lines: int) -> int:
    """Run *command*, SIGKILL it once it has written *lines* lines to stderr; return how many it wrote."""
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seen = 0
    try:
        while seen < lines and process.stderr.readline():
            seen += 1
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
        process.stderr.close()
    return seen


@pytest.mark.parametrize(
    ("faults", "seed"),
    [((), 20261101), (("--drop-rate", "0.2"), 20261102)],
    ids=["clean", "drop-20-percent"],
)
def test_killed_submissions_end_with_every_task_submitted_exactly_once(
    faults, seed, serve_process, accounts_file, example_accounts, tmp_path
):
    key, secret = next(iter(example_accounts.items()))
    serve = serve_process(
        "--port", "0", "--db", str(tmp_path / "service.sqlite"), "--accounts", str(accounts_file),
        "--task-seconds", "0", "--seed", str(seed), *faults,
    )  # fmt: skip
    client = patient_client(serve.url, key, secret)
    for name in ("web_720p", "web_480p"):
        ensure_preset(client, name)
    project = tmp_path / "project"
    project.mkdir()
    (project / "presetsync.yaml").write_text("tasks: {settle_grace: 0.2}\n")
    manifest = yaml.safe_load(write_manifest(project / "m.yaml", SOURCES).read_text())["matrix"]
    env = {**os.environ, "KS_ACCESS_KEY_ID": key, "KS_SECRET_ACCESS_KEY": secret}
    command = submit_command(serve.url)

    rng = random.Random(seed)
    for _ in range(KILLS):
        kill_after_lines(command, project, env, rng.randint(1, 14))

    codes = []
    for _ in range(FINAL_RUNS):
        codes.append(subprocess.run(command, cwd=project, env=env, capture_output=True, text=True).returncode)
        if codes[-1] == 0:
            break
    assert codes[-1] == 0, codes

    listed = Counter((t["dstBucket"], t["dstObjectKey"]) for t in service_tasks(client))
    expected = {
        ("media-out", f"{preset}/{Path(source).stem}.mp4")
        for source in manifest["sources"]
        for preset in manifest["presets"]
    }
    assert set(listed) == expected
    assert sum(listed.values()) == 500, [output for output, n in listed.items() if n > 1]

    again = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
    assert again.returncode == 0
    assert again.stdout.startswith("Submitted 0 tasks; 500 already submitted; 0 failed")
    client.close()
