"""`presetsync tasks ...` end to end against the local service over real HTTP (no mocks).

Tasks finish at once (``task_durations=(0, 0)``) unless a test says otherwise; the journal
lives in the test's directory (``.presetsync/`` beside presetsync.yaml).
"""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest
import yaml

from presetsync.api.client import RetryPolicy
from presetsync.cli import main
from presetsync.local.faults import Faults
from presetsync.tasks.journal import Journal, target_key
from presetsync.tasks.manifest import load_manifest
from presetsync.tasks.submit import Submitter

PRESETS = ("web_720p", "web_480p")


def write_manifest(path: Path, sources: int, presets=PRESETS, **fields) -> Path:
    entry = {
        "sources": [f"/media-in/films/film{i:05d}.mp4" for i in range(sources)],
        "presets": list(presets),
        "dstObjectKey": "{preset}/{stem}.mp4",
        "dstBucket": "media-out",
        **fields,
    }
    path.write_text(yaml.safe_dump({"matrix": entry}, sort_keys=False), encoding="utf-8")
    return path


def create_presets(service, names=PRESETS) -> None:
    client = service.client()
    for name in names:
        client.preset({"preset": name, "presettype": "avop", "param": {"f": "mp4"}})


def service_tasks(client) -> list[dict]:
    out, marker = [], 0
    while True:
        page = client.get_task_list(startdate=20000101, enddate=29991231, marker=marker, limit=100).items
        out += page
        marker += len(page)
        if len(page) < 100:
            return out


def outputs(client) -> Counter:
    return Counter((t["dstBucket"], t["dstObjectKey"]) for t in service_tasks(client))


class Project:
    """A working directory with presetsync.yaml pointing at a local service; runs the CLI."""

    def __init__(self, service, root: Path, capsys):
        self.service = service
        self.root = root
        self.capsys = capsys
        self.client = service.client()

    def run(self, *argv: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = main([*argv])
        captured = self.capsys.readouterr()
        return code, captured.out, captured.err

    def journal(self) -> Journal:
        return Journal.open(
            self.root / ".presetsync", target_key(self.client.endpoint, self.service.credentials.access_key_id)
        )


def make_project(service, root: Path, monkeypatch, capsys, *, grace: float = 0.0) -> Project:
    creds = service.credentials
    monkeypatch.setenv("KS_ACCESS_KEY_ID", creds.access_key_id)
    monkeypatch.setenv("KS_SECRET_ACCESS_KEY", creds.secret_access_key)
    (root / "presetsync.yaml").write_text(f"endpoint: {service.url}\ntasks: {{settle_grace: {grace}}}\n")
    monkeypatch.chdir(root)
    return Project(service, root, capsys)


@pytest.fixture
def project(local_service, tmp_path, monkeypatch, capsys) -> Project:
    create_presets(local_service)
    local_service.stats.reset()
    return make_project(local_service, tmp_path, monkeypatch, capsys)


# --------------------------------------------------------------------------------------------
# submit


def test_submit_sends_each_task_once_and_a_second_run_sends_nothing(project):
    manifest = write_manifest(project.root / "m.yaml", 15)
    code, out, err = project.run("tasks", "submit", "m.yaml", "--parallelism", "3")
    assert code == 0, err
    assert out.splitlines()[0] == "Submitted 30 tasks; 0 already submitted; 0 failed (30 in the manifest)."
    assert "progress: 30/30 done (30 submitted" in err
    assert project.service.stats.count("CreateTask") == 30
    assert project.service.stats.count("GetPresetList") == 1

    code, out, _ = project.run("tasks", "submit", str(manifest))
    assert code == 0
    assert out.splitlines()[0] == "Submitted 0 tasks; 30 already submitted; 0 failed (30 in the manifest)."
    assert project.service.stats.count("CreateTask") == 30
    assert set(outputs(project.client).values()) == {1} and len(outputs(project.client)) == 30

    with project.journal() as journal:
        states = Counter(e.state for e in journal.entries())
        assert states == {"submitted": 30}
        entry = next(journal.entries())
        assert [event for _, event, _, _ in journal.history(entry.id)] == ["planned", "sending", "submitted"]
        assert re.fullmatch(r"[0-9a-f]{32}\d{8}", entry.taskid)


def test_adding_tasks_to_a_manifest_sends_only_the_new_ones(project):
    write_manifest(project.root / "m.yaml", 5)
    assert project.run("tasks", "submit", "m.yaml")[0] == 0
    write_manifest(project.root / "m.yaml", 8)
    code, out, _ = project.run("tasks", "submit", "m.yaml")
    assert code == 0 and out.startswith("Submitted 6 tasks; 10 already submitted")
    assert project.service.stats.count("CreateTask") == 16


def test_dry_run_sends_nothing_and_writes_no_journal(project):
    write_manifest(project.root / "m.yaml", 4)
    code, out, _ = project.run("tasks", "submit", "m.yaml", "--dry-run")
    assert code == 0
    lines = out.splitlines()
    assert len([line for line in lines if line.startswith("send ")]) == 8
    body = json.loads(lines[0].split(None, 3)[3])
    assert body == {
        "preset": "web_720p",
        "srcInfo": [{"path": "/media-in/films/film00000.mp4", "type": "video", "index": 0}],
        "dstBucket": "media-out",
        "dstObjectKey": "web_720p/film00000.mp4",
    }
    assert lines[-1].startswith("Dry run: 8 task(s): 8 would be sent, 0 already submitted")
    assert project.service.stats.count("CreateTask") == 0
    # reads only: the presets, and 30 days of tasks (plus a margin) in two 30-day windows
    assert project.service.stats.by_action() == {"GetPresetList": 1, "GetTaskList": 2}
    assert not (project.root / ".presetsync").exists()

    assert project.run("tasks", "submit", "m.yaml")[0] == 0
    write_manifest(project.root / "m.yaml", 5)
    code, out, _ = project.run("tasks", "submit", "m.yaml", "--dry-run")
    assert [line.split()[0] for line in out.splitlines()[:-1]] == ["skip"] * 8 + ["send"] * 2
    assert "(submitted as " in out.splitlines()[0]
    assert project.service.stats.count("CreateTask") == 8


def test_a_changed_body_for_a_written_output_is_refused_unless_allowed(project):
    write_manifest(project.root / "m.yaml", 2)
    assert project.run("tasks", "submit", "m.yaml")[0] == 0
    write_manifest(project.root / "m.yaml", 2, cbUrl="https://hooks.example.com/done")
    code, out, err = project.run("tasks", "submit", "m.yaml")
    assert code == 3
    assert "refused: 4 task(s) would write outputs that other, already submitted tasks wrote" in err
    assert "media-out/web_720p/film00000.mp4 (written by task " in err
    assert project.service.stats.count("CreateTask") == 4

    code, out, _ = project.run("tasks", "submit", "m.yaml", "--allow-overwrite")
    assert code == 0 and out.startswith("Submitted 4 tasks")
    assert project.service.stats.count("CreateTask") == 8


def test_a_second_submission_on_the_same_journal_is_refused(project):
    write_manifest(project.root / "m.yaml", 2)
    with project.journal() as journal:
        journal.lock()
        code, _, err = project.run("tasks", "submit", "m.yaml")
    assert code == 3
    assert "is in use by process" in err
    assert project.service.stats.count("CreateTask") == 0
    assert project.run("tasks", "submit", "m.yaml")[0] == 0, "the lock goes with its holder"


def test_bad_flags_exit_1_and_send_nothing(project):
    write_manifest(project.root / "m.yaml", 1)
    assert project.run("tasks", "submit", "m.yaml", "--parallelism", "0")[0] == 1
    assert project.run("tasks", "submit", "missing.yaml")[0] == 1
    assert project.run("tasks", "list", "--from", "2026-11-01")[0] == 1
    assert project.run("tasks", "list", "--from", "20261110", "--to", "20261101")[0] == 1
    assert project.run("tasks", "status", "not-a-task-id")[0] == 1
    assert project.run("tasks", "wait", "m.yaml", "--timeout", "-1")[0] == 1
    (project.root / "presetsync.yaml").write_text(f"endpoint: {project.service.url}\ntasks: {{settle_grace: -1}}\n")
    assert project.run("tasks", "submit", "m.yaml")[0] == 1
    assert project.service.stats.count("CreateTask") == 0


def test_presets_missing_from_the_service_are_refused_with_a_hint(project, tmp_path):
    presets = tmp_path / "presets"
    presets.mkdir()
    (presets / "p.yaml").write_text("preset: web_1080p\npresettype: avop\nparam: {f: mp4}\n")
    write_manifest(project.root / "m.yaml", 1, presets=["web_1080p"])
    code, _, err = project.run("tasks", "submit", "m.yaml")
    assert code == 1
    assert re.search(
        r"m.yaml:\d+:\d+: preset 'web_1080p' does not exist in the service; it is declared in presets/p.yaml: "
        "apply the preset files first",
        err,
    )
    assert project.service.stats.count("CreateTask") == 0


def test_secrets_never_appear_in_the_output(project, capsys):
    write_manifest(project.root / "m.yaml", 2)
    secret = project.service.credentials.secret_access_key
    texts = []
    for argv in (["tasks", "submit", "m.yaml", "-q"], ["-vv", "tasks", "status", "m.yaml"], ["tasks", "list"]):
        code, out, err = project.run(*argv)
        assert code == 0
        texts.append(out + err)
    assert not any(secret in text for text in texts)


# --------------------------------------------------------------------------------------------
# status, wait, list


def test_status_of_a_manifest_and_of_task_ids(project):
    write_manifest(project.root / "m.yaml", 3)
    assert project.run("tasks", "status", "m.yaml")[1].splitlines()[-1] == "6 tasks: 6 not submitted"
    assert project.run("tasks", "submit", "m.yaml")[0] == 0
    code, out, _ = project.run("tasks", "status", "m.yaml", "--format", "json")
    assert code == 0
    report = json.loads(out)
    assert report["summary"] == {"succ": 6}
    assert {t["status"] for t in report["tasks"]} == {"succ"}
    assert report["tasks"][0]["output"] == "media-out/web_720p/film00000.mp4"
    assert re.fullmatch(r".*m\.yaml:\d+:\d+", report["tasks"][0]["source"])

    code, out, _ = project.run("tasks", "status", "m.yaml")
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "STATUS", "TASKID", "PRESET", "OUTPUT"]
    assert len(lines) == 8 and lines[-1] == "6 tasks: 6 succ"

    ids = [t["taskid"] for t in report["tasks"][:2]]
    code, out, _ = project.run("tasks", "status", *ids, "--format", "json")
    assert [t["taskid"] for t in json.loads(out)] == ids
    code, out, _ = project.run("tasks", "status")
    assert out.splitlines()[-1] == "6 tasks: 6 succ", "without arguments: the whole journal"


def test_wait_returns_0_when_every_task_succeeded(project):
    write_manifest(project.root / "m.yaml", 3)
    assert project.run("tasks", "submit", "m.yaml")[0] == 0
    code, out, err = project.run("tasks", "wait", "m.yaml")
    assert code == 0
    assert "waiting: 6 tasks: 6 succ" in err
    assert out.splitlines() == ["6 tasks: 6 succ", "All tasks succeeded."]


def test_wait_times_out_with_exit_5(service_factory, tmp_path, monkeypatch, capsys):
    service = service_factory(task_durations=(3600, 0))
    create_presets(service)
    project = make_project(service, tmp_path, monkeypatch, capsys)
    write_manifest(tmp_path / "m.yaml", 2)
    assert project.run("tasks", "submit", "m.yaml")[0] == 0
    code, out, err = project.run("tasks", "wait", "m.yaml", "--timeout", "0")
    assert code == 5
    assert "Timed out after 0 s: 4 task(s) still running." in out
    assert "4 init" in err
    assert service.stats.count("GetTaskByTaskID") == 4, "one poll: a status per task (few tasks)"


def test_wait_exits_4_when_a_task_failed_or_was_never_submitted(project):
    write_manifest(project.root / "m.yaml", 2)
    assert project.run("tasks", "submit", "m.yaml")[0] == 0
    taskid = next(t["taskid"] for t in service_tasks(project.client))
    assert project.run("tasks", "delete", taskid)[0] == 0
    write_manifest(project.root / "m.yaml", 3)  # two more, never submitted
    code, out, _ = project.run("tasks", "wait", "m.yaml")
    assert code == 4
    assert out.splitlines()[0] == "6 tasks: 3 succ, 1 deleted, 2 not submitted"
    assert len(out.splitlines()) == 1 + 3, "the summary, then each unsuccessful task"


def test_list_pages_through_more_than_1000_tasks_streaming(project):
    write_manifest(project.root / "m.yaml", 525)  # 1,050 tasks
    code, out, _ = project.run("tasks", "submit", "m.yaml", "--parallelism", "8", "-q")
    assert code == 0, out
    project.service.stats.reset()
    code, out, err = project.run("tasks", "list", "--format", "json")
    assert code == 0
    listed = [json.loads(line) for line in out.splitlines()]
    assert len(listed) == 1050 and len({t["taskid"] for t in listed}) == 1050
    assert project.service.stats.count("GetTaskList") == 11, "100 per page, stops at the short page"
    assert re.fullmatch(r"1050 tasks created from \d{8} to \d{8}\n", err)

    code, out, _ = project.run("tasks", "list", "--status", "fail")
    assert out.splitlines()[-1].startswith("0 tasks with status fail")
    code, out, _ = project.run("tasks", "list", "--status", "succ")
    lines = out.splitlines()
    assert lines[0].split() == ["TASKID", "STATUS", "CREATED", "PRESET", "OUTPUT"]
    assert len(lines) == 1052 and lines[-1].startswith("1050 tasks with status succ")
    # the status of a big manifest is read with GetTaskList, not one request per task
    project.service.stats.reset()
    code, out, _ = project.run("tasks", "status", "m.yaml")
    assert out.splitlines()[-1] == "1050 tasks: 1050 succ"
    assert project.service.stats.by_action() == {"GetTaskList": 11}


# --------------------------------------------------------------------------------------------
# show, top, delete, meta


def test_top_moves_a_waiting_task_to_the_head_of_the_queue(service_factory, tmp_path, monkeypatch, capsys):
    service = service_factory(task_durations=(3600, 3600))
    create_presets(service)
    project = make_project(service, tmp_path, monkeypatch, capsys)
    write_manifest(tmp_path / "m.yaml", 1)
    assert project.run("tasks", "submit", "m.yaml")[0] == 0
    first, second = (t["taskid"] for t in service_tasks(project.client))
    assert project.run("tasks", "top", first) == (0, f"{first}: moved to the head of the queue (init)\n", "")
    shown = json.loads(project.run("tasks", "show", first, second, "--format", "json")[1])
    assert [t["isTop"] for t in shown] == ["1", "0"]


def test_show_top_delete_and_meta(project):
    write_manifest(project.root / "m.yaml", 1)
    assert project.run("tasks", "submit", "m.yaml")[0] == 0
    tasks = service_tasks(project.client)  # in the order the senders sent them (any)
    first, second = (t["taskid"] for t in tasks)
    first_preset = tasks[0]["preset"]

    code, out, _ = project.run("tasks", "show", first)
    assert code == 0
    assert re.search(rf"^taskid: +{first}$", out, re.M) and re.search(r"^taskStatus: +succ$", out, re.M)
    assert re.search(r"^isTop: +0$", out, re.M)

    finished = f"{first}: already finished (succ): there is no queue to move it in\n"
    assert project.run("tasks", "top", first) == (0, finished, "")
    code, out, _ = project.run("tasks", "show", first, second, "--format", "json")
    shown = json.loads(out)
    assert [t["isTop"] for t in shown] == ["0", "0"]

    code, _, err = project.run("tasks", "meta", first)  # an avop task
    assert code == 4 and "meta information comes from avinfo tasks" in err
    assert f"{first_preset} is an avop preset" in err
    project.client.preset({"preset": "probe", "presettype": "avinfo", "param": {}})
    probed = project.client.create_task(
        {"preset": "probe", "srcInfo": [{"path": "/media-in/a.mp4"}], "dstBucket": "b", "dstObjectKey": "a"}
    )
    code, out, _ = project.run("tasks", "meta", probed)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"task {probed}"
    assert lines[1].startswith("  format: QuickTime / MOV (mov,mp4,m4a,3gp,3g2,mj2), 0:")
    assert re.fullmatch(r"  stream 0: video h264 \(High\), 1280x720, 25 fps, yuv420p, [\d.]+ Mbit/s", lines[2])
    assert re.fullmatch(r"  stream 1: audio aac \(LC\), 44100 Hz, stereo, 128 kbit/s", lines[3])
    code, out, _ = project.run("tasks", "meta", probed, "--format", "json")
    meta = json.loads(out)
    assert meta["format"]["format_name"].startswith("mov") and len(meta["streams"]) == 2

    assert project.run("tasks", "delete", second) == (0, f"{second}: deleted\n", "")
    code, _, err = project.run("tasks", "show", second)
    assert code == 4 and "errNum 1004" in err and f"task {second} does not exist" in err
    assert project.run("tasks", "status", "m.yaml")[1].splitlines()[-1] == "2 tasks: 1 succ, 1 deleted"
    assert project.service.stats.count("CreateTask") == 3


# --------------------------------------------------------------------------------------------
# retry


@pytest.mark.parametrize("strict", [False, True], ids=["accept-then-fail", "strict-create"])
def test_retry_resubmits_tasks_whose_status_is_fail_and_records_new_ids(
    service_factory, tmp_path, monkeypatch, capsys, make_client, strict
):
    """A preset missing at CreateTask, under both readings: the tasks are created and fail
    (retry sends them again and records new ids), or (strict_create) they are refused at once
    (retry sends them again too; nothing failed in the service)."""
    service = service_factory(strict_create=strict)
    create_presets(service)
    project = make_project(service, tmp_path, monkeypatch, capsys)
    write_manifest(project.root / "m.yaml", 3, presets=["late_preset"])
    # Submit refuses a manifest whose preset does not exist, so the tasks are sent here
    # without its preset check.
    with project.journal() as journal:
        journal.add_scope(load_manifest(project.root / "m.yaml").tasks(), persist=True)
        result = Submitter(make_client(project.service), journal).run()
    assert (result.ok, result.failed) == ((False, 3) if strict else (True, 0))
    assert project.run("tasks", "wait", "m.yaml")[0] == 4
    create_presets(project.service, ["late_preset"])

    code, out, err = project.run("tasks", "retry", "m.yaml")
    assert code == 0, out + err
    assert f"retry: {0 if strict else 3} task(s) with status fail will be sent again" in err
    assert out.startswith("Submitted 3 tasks; 0 already submitted; 0 failed")
    assert project.run("tasks", "wait", "m.yaml")[0] == 0

    statuses = Counter(t["taskStatus"] for t in service_tasks(project.client))
    assert statuses == ({"succ": 3} if strict else {"fail": 3, "succ": 3})
    with project.journal() as journal:
        for entry in journal.entries():
            events = journal.history(entry.id)
            old = [taskid for _, event, taskid, _ in events if event == "reopened"]
            assert len(old) == (0 if strict else 1) and entry.taskid not in old
    assert project.run("tasks", "retry", "m.yaml")[1].startswith("Submitted 0 tasks; 3 already submitted")


def test_retry_resubmits_tasks_the_service_refused(project, make_client):
    write_manifest(project.root / "m.yaml", 2)
    project.service.set_faults(Faults(throttle_rate=1.0, actions=("CreateTask",)))
    with project.journal() as journal:
        journal.add_scope(load_manifest(project.root / "m.yaml").tasks(), persist=True)
        result = Submitter(make_client(project.service, retry=RetryPolicy(max_attempts=2)), journal).run()
    assert result.failed == 4 and not result.ok
    assert "HTTP 429" in result.summary()[1]
    project.service.set_faults(Faults())
    assert outputs(project.client) == Counter()

    code, out, _ = project.run("tasks", "retry", "m.yaml")
    assert code == 0 and out.startswith("Submitted 4 tasks")
    assert set(outputs(project.client).values()) == {1} and len(outputs(project.client)) == 4


def test_on_a_terminal_progress_is_a_bar_on_stderr(project):
    write_manifest(project.root / "m.yaml", 10)
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "presetsync", "tasks", "submit", "m.yaml"],
        cwd=project.root,
        stdout=subprocess.PIPE,
        stderr=follower,
        text=True,
    )
    os.close(follower)
    chunks: list[bytes] = []

    def read_terminal() -> None:  # concurrently, so that a full terminal buffer never blocks the process
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed with the process
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=read_terminal)
    reader.start()
    out = process.communicate(timeout=60)[0]
    reader.join(timeout=60)
    os.close(leader)
    terminal = b"".join(chunks).decode()
    assert process.returncode == 0, terminal
    assert "20/20  20 submitted" in terminal  # the bar's last state; tests/test_terminal.py checks its shape
    assert "progress:" not in terminal, "no plain lines on a terminal"
    assert out.startswith("Submitted 20 tasks"), "the summary goes to stdout"
