"""Smaller holes of the task journal (issue 10.6): private state, streamed submission.

A journal tells what an account transcodes and when, and the embedded service's database
holds its development secret: the state directory is 0700 and its files 0600, whatever the
umask. A manifest of any size is submitted a chunk at a time: sending starts while the
manifest is still being read, and memory stays flat (the figures are in bench/tasks).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator

from test_tasks_cli import create_presets, make_project, write_manifest

from presetsync.tasks.identity import task_identity
from presetsync.tasks.journal import Journal
from presetsync.tasks.manifest import TaskSpec
from presetsync.tasks.submit import Submitter

CHUNK = 200


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_state_directory_and_journal_are_private_whatever_the_umask(local_service, tmp_path, monkeypatch, capsys):
    create_presets(local_service)
    project = make_project(local_service, tmp_path, monkeypatch, capsys)
    write_manifest(tmp_path / "m.yaml", 2)
    old = os.umask(0o022)
    try:
        (tmp_path / ".presetsync").mkdir(mode=0o755)  # made by hand, too open
        assert project.run("tasks", "submit", "m.yaml")[0] == 0
        (tmp_path / "embedded").mkdir()
        (tmp_path / "embedded" / "presetsync.yaml").write_text("endpoint: local\npresets: [p.yaml]\n")
        (tmp_path / "embedded" / "p.yaml").write_text("preset: aa\npresettype: avop\nparam: {f: mp4}\n")
        monkeypatch.chdir(tmp_path / "embedded")
        assert project.run("apply", "--auto-approve")[0] == 0
    finally:
        os.umask(old)
    for state in (tmp_path / ".presetsync", tmp_path / "embedded" / ".presetsync"):
        assert mode(state) == 0o700, state
        files = [p for p in state.iterdir() if p.is_file()]
        assert files and {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}
    names = {p.name for p in (tmp_path / "embedded" / ".presetsync").iterdir()}
    assert {"local.sqlite", "apply-log.jsonl"} <= names


def test_sending_starts_while_the_manifest_is_still_being_read(local_service, make_client, tmp_path):
    client = make_client(local_service)
    create_presets(local_service, ["pp"])
    seen = {}

    def endless() -> Iterator[TaskSpec]:
        """As many tasks as anybody reads; notes how many CreateTasks the service had when
        the third chunk began to be read, then stops the run."""
        n = 0
        while True:
            if n == 2 * CHUNK:
                seen["sent"] = local_service.stats.count("CreateTask")
                raise KeyboardInterrupt
            body = {"preset": "pp", "srcInfo": [{"path": f"/in/{n}.mp4"}], "dstBucket": "b", "dstObjectKey": f"{n}"}
            yield TaskSpec(task_identity(body), body, f"m.yaml:{n}")
            n += 1

    with Journal(tmp_path / "j.sqlite") as journal:
        submitter = Submitter(client, journal, parallelism=4, grace=0, chunk=CHUNK)
        try:
            submitter.run(endless())
        except KeyboardInterrupt:
            pass
        assert journal.scope_size() == 2 * CHUNK, "only what was read is in the scope"
    assert seen["sent"] >= 2 * CHUNK - 3 * 4, "the first two chunks were sent before the third was read"
