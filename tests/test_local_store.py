"""State: survives restarts, one transaction per request, safe under concurrent requests."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from presetsync.errors import ApiError, ServiceUnreachable
from presetsync.local.store import PresetRow, Store

PRESET = {"preset": "web", "presettype": "avop", "description": "kept", "param": {"f": "mp4", "VIDEO": {"vr": 25}}}
TASK = {"preset": "web", "srcInfo": [{"path": "/b/a.mp4"}], "dstBucket": "b", "dstObjectKey": "a.mp4"}


def test_state_survives_a_restart(service_factory, make_client):
    first = service_factory("state.sqlite")
    client = make_client(first)
    client.preset(PRESET)
    taskid = client.create_task(TASK)
    client.top_task_by_task_id(taskid=taskid)
    before = (client.get_preset_list(withDetail=1), client.get_task_by_task_id(taskid=taskid))
    first.stop()

    second = service_factory("state.sqlite")
    again = make_client(second)
    after = (again.get_preset_list(withDetail=1), again.get_task_by_task_id(taskid=taskid))

    assert after == before
    assert after[1]["isTop"] == "1"
    assert again.get_task_list().total == 1


def test_stopping_closes_kept_alive_connections(local_service, client):
    client.get_preset_list(withDetail=0)  # leaves a pooled keep-alive connection open

    local_service.stop()

    assert not local_service.running
    with pytest.raises(ServiceUnreachable):
        client.get_preset_list(withDetail=0)
    assert local_service.stats.count("GetPresetList") == 1


def test_concurrent_creates_of_one_name_give_exactly_one_success(local_service, make_client):
    clients = [make_client(local_service) for _ in range(8)]

    def create(i):
        try:
            return clients[i % 8].call("Preset", {**PRESET, "description": f"by {i}"})["errNum"]
        except ApiError as exc:
            return exc.err_num

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(create, range(32)))

    assert sorted(results) == [0] + [1002] * 31
    assert len(clients[0].get_preset_list(withDetail=0)) == 1


def test_concurrent_writes_all_land(local_service, make_client):
    clients = [make_client(local_service) for _ in range(8)]
    clients[0].preset(PRESET)

    def work(i):
        c = clients[i % 8]
        c.preset({**PRESET, "preset": f"p{i:03d}"})
        return c.create_task(TASK)

    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(work, range(200)))

    listed = clients[0].get_preset_list(withDetail=0)
    assert len(set(ids)) == 200
    assert len(listed) == 201
    assert clients[0].get_task_list(limit=100, marker=100).total == 200


def test_a_failed_transaction_leaves_nothing_behind(tmp_path):
    store = Store(tmp_path / "tx.sqlite")
    row = PresetRow("half", "avop", "", "{}", 0.0, None)

    with pytest.raises(RuntimeError), store.transaction(write=True) as tx:
        assert tx.insert_preset("AKLTEXAMPLE", row)
        assert tx.get_preset("AKLTEXAMPLE", "half") is not None
        raise RuntimeError("crash in the middle of a request")
    with store.transaction() as tx:
        assert tx.get_preset("AKLTEXAMPLE", "half") is None
    store.close()

    reopened = Store(tmp_path / "tx.sqlite")
    with reopened.transaction() as tx:
        assert tx.list_presets("AKLTEXAMPLE") == []
    reopened.close()


def test_an_unfinished_transaction_of_a_killed_process_is_rolled_back(tmp_path):
    """A process dies inside a write transaction: the next open sees nothing of it."""
    path = tmp_path / "killed.sqlite"
    Store(path).close()
    script = (
        "import os, sys\n"
        "from presetsync.local.store import Store, PresetRow\n"
        "store = Store(sys.argv[1])\n"
        "with store.transaction(write=True) as tx:\n"
        "    tx.insert_preset('AKLTEXAMPLE', PresetRow('a', 'avop', '', '{}', 0.0, None))\n"
        "    tx.insert_preset('AKLTEXAMPLE', PresetRow('b', 'avop', '', '{}', 0.0, None))\n"
        "    os._exit(9)\n"
    )
    result = subprocess.run([sys.executable, "-c", script, str(path)], timeout=60)

    store = Store(path)
    with store.transaction() as tx:
        names = [row.name for row in tx.list_presets("AKLTEXAMPLE")]
    store.close()
    assert result.returncode == 9
    assert names == []


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_database_is_private_to_its_owner(local_service):
    assert stat.S_IMODE(local_service.db_path.stat().st_mode) == 0o600


def test_database_uses_wal(local_service):
    with local_service.store.transaction() as tx:
        mode = tx._conn.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
