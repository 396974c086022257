"""One exit status table (issue 11.3): bad usage is 1, never 2 (which `plan --detailed-exitcode`
means "changes present"); `presetsync` alone is bad usage; a closed pipe ends quietly."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from presetsync.cli import main
from presetsync.errors import ExitStatus


def test_the_exit_statuses_are_one_table():
    assert [(s.name, int(s)) for s in ExitStatus] == [
        ("OK", 0),
        ("ERROR", 1),
        ("CHANGES", 2),
        ("REFUSED", 3),
        ("PARTIAL", 4),
        ("TIMEOUT", 5),
        ("INTERRUPTED", 130),
    ]


@pytest.mark.parametrize(
    "argv",
    [
        ["plan", "--formt", "x"],
        ["apply", "--parallelism", "many"],
        ["tasks", "submit"],
        ["tasks", "list", "--status", "done"],
        ["no-such-command"],
    ],
)
def test_bad_usage_exits_1_not_2(argv, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 1
    assert "error:" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [[], ["tasks"]])
def test_a_command_group_alone_prints_help_and_exits_1(argv, capsys):
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "usage: presetsync" in captured.err


def test_a_reader_that_closes_the_pipe_ends_the_command_quietly(local_service, tmp_path):
    client = local_service.client()
    client.preset({"preset": "pp", "presettype": "avop", "param": {"f": "mp4"}})
    for n in range(1200):  # more than a pipe buffer (64 KiB) of output
        client.create_task(
            {"preset": "pp", "srcInfo": [{"path": f"/in/{n}.mp4"}], "dstBucket": "b", "dstObjectKey": f"{n}"}
        )
    creds = local_service.credentials
    env = {**os.environ, "KS_ACCESS_KEY_ID": creds.access_key_id, "KS_SECRET_ACCESS_KEY": creds.secret_access_key}
    for command in (["tasks", "list"], ["tasks", "list", "--format", "json"], ["call", "GetTaskList", "limit=100"]):
        run = subprocess.run(
            ["bash", "-c", '"$@" | head -1; exit "${PIPESTATUS[0]}"', "-",
             sys.executable, "-m", "presetsync", *command, "--endpoint", local_service.url],
            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert run.returncode == 0, (command, run.stderr)
        assert len(run.stdout.splitlines()) == 1
        assert "Traceback" not in run.stderr and "BrokenPipe" not in run.stderr, run.stderr
