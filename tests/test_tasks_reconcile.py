"""The service decides whether a task exists: reconciliation through GetTaskList (issue 10.1).

Before anything is sent, every task the journal does not know to exist is looked for in the
service; tasks in doubt are settled the same way. The crashes here are made by hand, so that
each case is exact: a journal left with tasks in ``sending``, some of which the service
really created. Lost answers come from the local service's fault injection. Clients never
really sleep.
"""

from __future__ import annotations

import shutil
import socket
import time
from collections import Counter

import pytest
from test_tasks_cli import create_presets, make_project, outputs, service_tasks, write_manifest

from presetsync.api.client import RetryPolicy
from presetsync.local.faults import Faults
from presetsync.tasks.journal import Journal, target_key
from presetsync.tasks.manifest import load_manifest
from presetsync.tasks.reconcile import reconcile
from presetsync.tasks.submit import Submitter


@pytest.fixture
def project(local_service, tmp_path, monkeypatch, capsys):
    create_presets(local_service)
    local_service.stats.reset()
    return make_project(local_service, tmp_path, monkeypatch, capsys)


def journal_for(project) -> Journal:
    return Journal.open(
        project.root / ".presetsync", target_key(project.client.endpoint, project.service.credentials.access_key_id)
    )


def planned(journal: Journal, manifest) -> list:
    journal.add_scope(load_manifest(manifest).tasks(), persist=True)
    return list(journal.scope_entries())


def test_a_crash_leaves_tasks_in_doubt_that_the_next_run_settles_first(local_service, tmp_path, monkeypatch, capsys):
    create_presets(local_service)
    project = make_project(local_service, tmp_path, monkeypatch, capsys)
    write_manifest(tmp_path / "m.yaml", 3)  # 6 tasks
    with journal_for(project) as journal:
        entries = planned(journal, tmp_path / "m.yaml")
        created = {}
        for entry in entries[:3]:  # sent, and the service created them: the answers were lost
            journal.claim(entry.id, time.time())
            created[entry.id] = project.client.create_task(entry.body)
        for entry in entries[3:5]:  # marked sending, then the process died before sending
            journal.claim(entry.id, time.time())
    local_service.stats.reset()

    code, out, err = project.run("tasks", "submit", "m.yaml")
    assert code == 0, out + err
    assert out.splitlines()[:2] == [
        "Submitted 3 tasks; 3 already submitted; 0 failed (6 in the manifest).",
        "Settled 5 task(s) left in doubt by an earlier run: 3 found in the service, 2 not found and sent again.",
    ]
    assert local_service.stats.count("CreateTask") == 3
    assert err.index("settling 5 task(s) left in doubt") < err.index("progress:")
    assert set(outputs(project.client).values()) == {1} and len(outputs(project.client)) == 6
    with journal_for(project) as journal:
        for entry in journal.entries():
            assert entry.state == "submitted"
            if entry.id in created:
                assert entry.taskid == created[entry.id]
                assert [e for _, e, _, _ in journal.history(entry.id)][-1] == "found"


def test_a_fresh_journal_sends_nothing_that_already_exists(project):
    write_manifest(project.root / "m.yaml", 100)  # 200 tasks
    assert project.run("tasks", "submit", "m.yaml")[0] == 0
    assert project.service.stats.count("CreateTask") == 200
    shutil.rmtree(project.root / ".presetsync")  # a fresh CI runner, another laptop

    code, out, _ = project.run("tasks", "submit", "m.yaml", "--dry-run")
    assert code == 0
    assert out.splitlines()[-1].startswith(
        "Dry run: 200 task(s): 0 would be sent, 0 already submitted, 200 found in the service (not sent again)"
    )
    assert [line.split()[0] for line in out.splitlines()[:-1]] == ["exists"] * 200
    assert not (project.root / ".presetsync").exists()

    code, out, _ = project.run("tasks", "submit", "m.yaml")
    assert code == 0, out
    assert out.splitlines()[:2] == [
        "Submitted 0 tasks; 200 already submitted; 0 failed (200 in the manifest).",
        "Found 200 task(s) in the service that the journal did not know as submitted: not sent again.",
    ]
    assert project.service.stats.count("CreateTask") == 200
    assert set(outputs(project.client).values()) == {1} and len(outputs(project.client)) == 200
    with project.journal() as journal:
        assert Counter(e.state for e in journal.entries()) == {"submitted": 200}
        assert {e.taskid for e in journal.entries()} == {t["taskid"] for t in service_tasks(project.client)}
    assert project.run("tasks", "wait", "m.yaml")[0] == 0


def test_a_task_created_earlier_by_anybody_is_the_task_but_known_attempts_are_not(
    service_factory, manual_clock, make_client, tmp_path, monkeypatch, capsys
):
    service = service_factory(clock=manual_clock)
    create_presets(service)
    project = make_project(service, tmp_path, monkeypatch, capsys)
    client = make_client(service, clock=manual_clock)
    write_manifest(tmp_path / "m.yaml", 2)  # four tasks
    with journal_for(project) as journal:
        first, second, third, fourth = planned(journal, tmp_path / "m.yaml")
        manual_clock.advance(days=-10)  # the same task, created by someone else ten days ago
        old = client.create_task(first.body)
        manual_clock.advance(days=10)
        # the second task was submitted, failed, and 'retry' reopened it: its old id is history
        assert journal.claim(second.id, manual_clock().timestamp())
        failed = client.create_task(second.body)
        journal.mark_submitted(second.id, failed, manual_clock().timestamp())
        journal.reopen(next(journal.scope_entries(["submitted"])), "failed", manual_clock().timestamp())
        # the third exists with isTop 1: TopTaskByTaskID was called on it
        topped = client.create_task(third.body)
        client.top_task_by_task_id(taskid=topped)
        done = reconcile(client, journal, grace=0, clock=lambda: manual_clock().timestamp())
        states = {e.id: (e.state, e.taskid) for e in journal.scope_entries()}
    assert done.found == 2 and done.listed == 3
    assert states[first.id] == ("submitted", old)
    assert states[second.id] == ("failed", None), "a known task id is never taken for another attempt"
    assert states[third.id] == ("submitted", topped)
    assert states[fourth.id] == ("planned", None)


def test_tasks_whose_bodies_differ_in_any_field_are_told_apart(local_service, make_client, tmp_path):
    client = make_client(local_service)
    create_presets(local_service)
    write_manifest(tmp_path / "a.yaml", 1, presets=["web_720p"], cbUrl="https://a.example.com/")
    write_manifest(tmp_path / "b.yaml", 1, presets=["web_720p"], cbUrl="https://b.example.com/")
    with Journal(tmp_path / "j.sqlite") as journal:
        a = planned(journal, tmp_path / "a.yaml")[0]
        b = planned(journal, tmp_path / "b.yaml")[1]
        for entry in (a, b):
            journal.claim(entry.id, time.time())
        taskid = client.create_task(b.body)
        done = reconcile(client, journal, grace=0)
        states = {e.id: (e.state, e.taskid) for e in journal.scope_entries()}
    assert done.doubts_found == [b.id] and done.doubts_not_found == [a.id]
    assert states == {a.id: ("planned", None), b.id: ("submitted", taskid)}


def test_a_task_that_exists_twice_in_the_service_is_reported_and_the_exit_is_not_0(project):
    write_manifest(project.root / "m.yaml", 2)
    with project.journal() as journal:
        entry = planned(journal, project.root / "m.yaml")[0]
    one, two = (project.client.create_task(entry.body) for _ in range(2))

    code, out, _ = project.run("tasks", "submit", "m.yaml")
    assert code == 4, out
    with project.journal() as journal:
        assert journal.states_of([entry.id]) == {entry.id: "submitted"}
        kept = next(e.taskid for e in journal.entries() if e.id == entry.id)
    (extra,) = {one, two} - {kept}
    assert f"error: task {entry.short_id} exists twice in the service: {extra} is an extra copy" in out
    assert project.service.stats.count("CreateTask") == 2 + 3, "the other three tasks are sent"

    project.run("tasks", "delete", extra)
    assert project.run("tasks", "submit", "m.yaml")[0] == 0


def test_settlement_waits_out_the_grace_since_the_last_doubt(local_service, make_client, tmp_path):
    client = make_client(local_service)
    create_presets(local_service)
    write_manifest(tmp_path / "m.yaml", 1, presets=["web_720p"])
    now = [1_000_000.0]
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    with Journal(tmp_path / "j.sqlite") as journal:
        entry = planned(journal, tmp_path / "m.yaml")[0]
        journal.claim(entry.id, now[0] - 10)
        journal.mark_doubt(entry.id, "lost answer", now[0] - 1.5)
        reconcile(client, journal, grace=5, clock=lambda: now[0], sleep=sleep)
        assert slept == [3.5]
        assert journal.in_doubt() == [], "settled: not found, to be sent again"


def test_lost_answers_are_settled_within_the_run_and_nothing_is_sent_twice(service_factory, make_client, tmp_path):
    service = service_factory()
    create_presets(service)
    service.set_faults(Faults(drop_rate=0.3, seed=11))
    client = make_client(service, retry=RetryPolicy(max_attempts=12))
    write_manifest(tmp_path / "m.yaml", 60)  # 120 tasks
    with Journal(tmp_path / "j.sqlite") as journal:
        planned(journal, tmp_path / "m.yaml")
        result = Submitter(client, journal, parallelism=6, grace=0).run()
        events = Counter(event for entry in journal.entries() for _, event, _, _ in journal.history(entry.id))
    assert result.ok and result.sent == 120, result.summary()
    assert events["unknown"] > 0 and events["settled"] + events["found"] >= events["unknown"]
    assert service.fault_counts["drop_after"] > 0 and service.fault_counts["drop_before"] > 0
    service.set_faults(Faults())
    assert set(outputs(client).values()) == {1} and len(outputs(client)) == 120


def test_an_unreachable_service_stops_sending_and_keeps_the_tasks_planned(local_service, make_client, tmp_path):
    create_presets(local_service)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    client = make_client(local_service, retry=RetryPolicy(max_attempts=2))
    client.endpoint = dead
    write_manifest(tmp_path / "m.yaml", 5)
    with Journal(tmp_path / "j.sqlite") as journal:
        planned(journal, tmp_path / "m.yaml")
        result = Submitter(client, journal, parallelism=2).run()
        assert Counter(e.state for e in journal.entries()) == {"planned": 10}
        assert all(e.attempts == 0 for e in journal.entries())
    assert not result.ok and result.not_sent == 10 and result.sent == 0
    assert result.stopped.startswith("cannot read the service's task list, so nothing more is sent")
    assert result.summary()[-1].startswith("Stopped sending: cannot read the service's task list")
