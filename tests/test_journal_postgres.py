"""A shared journal in PostgreSQL (issue 10.2): several submitters, on several machines, split
one manifest and send each task once.

A real PostgreSQL server is started for these tests (tests/postgres_server.py); they are
skipped, saying why, only where none can start. Submitters run as separate processes
(``presetsync tasks submit``) from two working directories: two machines' worth of
journals, one shared database.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import threading
import time

import pytest
from postgres_server import start_server
from test_tasks_cli import create_presets, make_project, outputs, service_tasks, write_manifest

from presetsync.local.faults import Faults
from presetsync.tasks.journal import Journal
from presetsync.tasks.manifest import load_manifest
from presetsync.tasks.reconcile import reconcile

_names = itertools.count()


@pytest.fixture(scope="session")
def postgres_server():
    server, reason = start_server()
    if server is None:
        pytest.skip(f"no PostgreSQL server can start here: {reason}")
    yield server
    server.stop()


@pytest.fixture
def journal_url(postgres_server) -> str:
    """A fresh, empty database on the test server."""
    import psycopg

    name = f"journal_{os.getpid()}_{next(_names)}"
    with psycopg.connect(postgres_server.url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return postgres_server.url.rsplit("/", 1)[0] + "/" + name


def test_four_submitters_on_two_machines_send_each_task_once(local_service, tmp_path, journal_url):
    create_presets(local_service)
    local_service.set_faults(Faults(latency_ms=3))  # so that the submitters really overlap
    creds = local_service.credentials
    env = {
        **os.environ,
        "KS_ACCESS_KEY_ID": creds.access_key_id,
        "KS_SECRET_ACCESS_KEY": creds.secret_access_key,
        "PRESETSYNC_JOURNAL": journal_url,
    }
    machines = [tmp_path / "a", tmp_path / "b"]
    for root in machines:
        root.mkdir()
        (root / "presetsync.yaml").write_text(f"endpoint: {local_service.url}\ntasks: {{settle_grace: 0}}\n")
        write_manifest(root / "m.yaml", 150)  # 300 tasks
    command = [sys.executable, "-m", "presetsync", "tasks", "submit", "m.yaml", "-q", "--parallelism", "4"]
    runs = [
        subprocess.Popen(command, cwd=machines[n % 2], env=env, stdout=subprocess.PIPE, text=True) for n in range(4)
    ]
    results = [(run.wait(timeout=240), run.stdout.read()) for run in runs]

    assert [code for code, _ in results] == [0, 0, 0, 0], results
    sent = [int(out.split()[1]) for _, out in results]  # "Submitted N tasks; ..."
    assert sum(sent) == 300, results
    assert sum(1 for n in sent if n) >= 2, f"the submitters split the work: {sent}"
    assert local_service.stats.count("CreateTask") == 300
    assert set(outputs(local_service.client()).values()) == {1} and len(outputs(local_service.client())) == 300
    assert not (machines[0] / ".presetsync" / "tasks-local.sqlite").exists()

    # any machine, any time later: nothing left to send
    code = subprocess.run(command, cwd=machines[1], env=env, capture_output=True, text=True)
    assert code.returncode == 0 and code.stdout.startswith("Submitted 0 tasks; 300 already submitted"), code.stdout


def test_tasks_claimed_by_a_live_submitter_are_never_settled_by_another(
    local_service, make_client, tmp_path, journal_url
):
    client = make_client(local_service)
    create_presets(local_service)
    write_manifest(tmp_path / "m.yaml", 2)
    target = "t1"
    alive = Journal.open(tmp_path, target, url=journal_url)
    alive.add_scope(load_manifest(tmp_path / "m.yaml").tasks(), persist=True)
    first, second, *_ = alive.scope_entries()
    assert alive.claim(first.id, time.time()) and alive.claim(second.id, time.time())
    taskid = client.create_task(first.body)  # sent; the answer is not recorded yet

    with Journal.open(tmp_path, target, url=journal_url) as other:
        other.add_scope(load_manifest(tmp_path / "m.yaml").tasks(), persist=True)
        assert not other.claim(first.id, time.time()), "claimed already"
        assert other.in_doubt() == [], "the owner is alive: its claims are its own"
        done = reconcile(client, other, grace=0)
        assert done.found == 0 and other.states_of([first.id]) == {first.id: "sending"}

        alive.close()  # the owner dies: its connection, and so its lock, are gone
        assert sorted(e.id for e in other.in_doubt()) == sorted([first.id, second.id])
        done = reconcile(client, other, grace=0)
        assert done.doubts_found == [first.id] and done.doubts_not_found == [second.id]
        assert other.states_of([first.id, second.id]) == {first.id: "submitted", second.id: "planned"}
        assert next(e.taskid for e in other.entries() if e.id == first.id) == taskid


def test_a_journal_url_in_the_config_is_used_and_its_password_never_shown(
    local_service, tmp_path, monkeypatch, capsys, journal_url
):
    create_presets(local_service)
    project = make_project(local_service, tmp_path, monkeypatch, capsys)
    with open(tmp_path / "presetsync.yaml", "a") as config:
        config.write(f"journal: {journal_url}\n")
    write_manifest(tmp_path / "m.yaml", 3)
    code, out, _ = project.run("tasks", "submit", "m.yaml")
    assert code == 0 and out.startswith("Submitted 6 tasks"), out
    assert not (tmp_path / ".presetsync").exists() or not list((tmp_path / ".presetsync").glob("tasks-*.sqlite"))
    code, out, _ = project.run("tasks", "status", "m.yaml")
    assert code == 0 and out.splitlines()[-1] == "6 tasks: 6 succ"
    assert len(service_tasks(local_service.client())) == 6

    monkeypatch.setenv("PRESETSYNC_JOURNAL", "postgresql://ci:hunter2secret@127.0.0.1:1/nowhere")
    code, out, err = project.run("tasks", "submit", "m.yaml")
    assert code == 4 and "cannot connect to the journal database postgresql://ci:***@127.0.0.1:1/nowhere" in err
    assert "hunter2secret" not in out + err


def test_two_submitters_claiming_the_same_tasks_at_once_each_claim_their_own(tmp_path, journal_url):
    write_manifest(tmp_path / "m.yaml", 4)  # 8 tasks
    first = Journal.open(tmp_path, "t1", url=journal_url)
    second = Journal.open(tmp_path, "t1", url=journal_url)
    try:
        first.add_scope(load_manifest(tmp_path / "m.yaml").tasks(), persist=True)
        ids = sorted(e.id for e in first.scope_entries())
        got: dict[str, set[str]] = {}
        with first.db.transaction():  # the first submitter's claim is not committed yet...
            got["first"] = first.claim_many(ids[2:6], time.time())
            other = threading.Thread(target=lambda: got.update(second=second.claim_many(ids, time.time())))
            other.start()
            deadline = time.monotonic() + 60
            while not first.db.count(  # ... while the second one waits for its rows
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            ):
                assert time.monotonic() < deadline, "the second claim never waited for the first"
        other.join(timeout=60)
        assert got == {"first": set(ids[2:6]), "second": set(ids[:2] + ids[6:])}
        owners = dict(first.db.rows("SELECT id, owner FROM tasks"))
        assert owners == {i: (first if i in ids[2:6] else second).db.owner for i in ids}
        assert all([h[1] for h in first.history(i)] == ["planned", "sending"] for i in ids), "one claim each"
    finally:
        first.close()
        second.close()
