"""Tasks in doubt are settled through GetTaskList before anything is sent again.

The crashes here are made by hand, so that each case is exact: a journal left with tasks in
``sending``, some of which the service really created. Lost answers come from the local
service's fault injection. Clients never really sleep.
"""

from __future__ import annotations

import socket
import time
from collections import Counter

from test_tasks_cli import create_presets, make_project, outputs, service_tasks, write_manifest

from presetsync.api.client import RetryPolicy
from presetsync.local.faults import Faults
from presetsync.tasks.identity import task_identity
from presetsync.tasks.journal import Journal, target_key
from presetsync.tasks.manifest import TaskSpec, load_manifest
from presetsync.tasks.settle import MARGIN, settle, surely_before
from presetsync.tasks.submit import Submitter


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
            journal.mark_sending(entry.id, time.time())
            created[entry.id] = project.client.create_task(entry.body)["taskid"]
        for entry in entries[3:5]:  # marked sending, then the process died before sending
            journal.mark_sending(entry.id, time.time())
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
                assert [e for _, e, _, _ in journal.history(entry.id)][-1] == "settled"


def test_older_tasks_writing_the_same_output_are_not_taken_for_the_task_in_doubt(
    service_factory, manual_clock, make_client, tmp_path, monkeypatch, capsys
):
    service = service_factory(clock=manual_clock)
    create_presets(service)
    project = make_project(service, tmp_path, monkeypatch, capsys)
    client = make_client(service, clock=manual_clock)
    write_manifest(tmp_path / "m.yaml", 1)  # two tasks: web_720p and web_480p of film00000
    with journal_for(project) as journal:
        first, second = planned(journal, tmp_path / "m.yaml")

        # the same task, created by someone else a day ago: before the window in any time zone
        manual_clock.advance(days=-1)
        old = client.create_task(first.body)["taskid"]
        manual_clock.advance(days=1)
        # today, an earlier version of the second task (another body: another cbUrl) that the
        # journal knows about
        earlier = {**second.body, "cbUrl": "https://old.example.com/"}
        journal.add_scope([TaskSpec(task_identity(earlier), earlier, "earlier version")], persist=True)
        journal.mark_sending(task_identity(earlier), manual_clock().timestamp())
        known = client.create_task(earlier)["taskid"]
        journal.mark_submitted(task_identity(earlier), known, manual_clock().timestamp())
        for entry in (first, second):
            journal.mark_sending(entry.id, manual_clock().timestamp())
        result = settle(client, journal, journal.in_doubt(), grace=0, clock=lambda: manual_clock().timestamp())
    assert result.found == {} and sorted(result.not_found) == sorted([first.id, second.id])
    assert surely_before(service_tasks(client)[0]["createTime"], manual_clock().timestamp() - MARGIN)

    assert project.run("tasks", "submit", "m.yaml")[0] == 3, "the earlier version wrote the same output"
    assert project.run("tasks", "submit", "m.yaml", "--allow-overwrite")[0] == 0
    assert outputs(client) == Counter(
        {("media-out", "web_720p/film00000.mp4"): 2, ("media-out", "web_480p/film00000.mp4"): 2}
    )
    with journal_for(project) as journal:
        ours = {e.taskid for e in journal.entries() if e.id in (first.id, second.id)}
        assert len(ours) == 2 and ours.isdisjoint({old, known})


def test_tasks_in_doubt_sharing_a_match_key_are_told_apart_by_their_other_fields(local_service, make_client, tmp_path):
    client = make_client(local_service)
    create_presets(local_service)
    write_manifest(tmp_path / "a.yaml", 1, presets=["web_720p"], cbUrl="https://a.example.com/")
    write_manifest(tmp_path / "b.yaml", 1, presets=["web_720p"], cbUrl="https://b.example.com/")
    with Journal(tmp_path / "j.sqlite") as journal:
        a = planned(journal, tmp_path / "a.yaml")[0]
        journal.clear_scope()
        b = planned(journal, tmp_path / "b.yaml")[0]
        for entry in (a, b):
            journal.mark_sending(entry.id, time.time())
        taskid = client.create_task(b.body)["taskid"]
        result = settle(client, journal, journal.in_doubt(), grace=0)
    assert result.found == {b.id: taskid}
    assert result.not_found == [a.id]


def test_a_task_that_exists_twice_in_the_service_is_reported(local_service, make_client, tmp_path):
    client = make_client(local_service)
    create_presets(local_service)
    write_manifest(tmp_path / "m.yaml", 1, presets=["web_720p"])
    with Journal(tmp_path / "j.sqlite") as journal:
        entry = planned(journal, tmp_path / "m.yaml")[0]
        journal.mark_sending(entry.id, time.time())
        one, two = (client.create_task(entry.body)["taskid"] for _ in range(2))
        result = settle(client, journal, journal.in_doubt(), grace=0)
    assert result.found == {entry.id: one}
    assert result.duplicates == [(entry.id, two)]


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
        journal.mark_sending(entry.id, now[0] - 10)
        journal.mark_doubt(entry.id, "lost answer", now[0] - 1.5)
        settle(client, journal, journal.in_doubt(), grace=5, clock=lambda: now[0], sleep=sleep)
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
    assert events["unknown"] > 0 and events["settled"] >= events["unknown"]
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
    assert result.stopped.startswith("the service cannot be reached")
    assert result.summary()[-1].startswith("Stopped sending: the service cannot be reached")
