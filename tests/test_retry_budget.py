"""Idempotent reads retry within a time budget; writes keep their attempt limit (issue 10, point 5).

Reads (GetPresetList, GetTaskList, GetTaskByTaskID, ...) are retried through 503, 429 and
dropped connections until the budget (default 60 s, ``--retry-budget``, config
``retry_budget``) is spent, counting the waits even when the client's sleep is a no-op.
Writes keep at most 5 attempts and raise OutcomeUnknown rather than re-send a create.
"""

from __future__ import annotations

import json
import random
import time

import pytest
from scripted import Drop, Reply, ScriptedServer

from presetsync.api import Credentials, OfflineClient, RetryPolicy
from presetsync.api.client import DEFAULT_BUDGET
from presetsync.cli import main
from presetsync.errors import ApiError, OutcomeUnknown, ServiceError, ServiceUnreachable
from presetsync.local.faults import Faults
from presetsync.local.store import PresetRow
from presetsync.presets.live import fetch_live
from presetsync.presets.plan import build_plan
from presetsync.presets.validate import load_presets

CREDS = Credentials("AKLTEXAMPLEBUDGET000", "ExampleSecret/budget")
BUSY = Reply(503, {"Error": {"Code": "ServiceUnavailable", "Message": "busy"}})


def scripted_client(url, sleeps, **options) -> OfflineClient:
    return OfflineClient(endpoint=url, credentials=CREDS, sleep=sleeps.append, rng=random.Random(3), **options)


def test_the_default_budget_is_at_least_a_minute():
    assert RetryPolicy().budget == DEFAULT_BUDGET >= 60


def test_a_read_is_retried_until_its_budget_is_spent():
    sleeps: list[float] = []
    with ScriptedServer([BUSY] * 500) as server:
        client = scripted_client(server.url, sleeps, retry=RetryPolicy(budget=30, cap=4))
        with pytest.raises(ApiError) as info:
            client.get_preset_list(withDetail=1)
    attempts = len(server.requests)
    assert attempts > 5, "more than the 5 attempts a write gets"
    assert info.value.status == 503 and info.value.attempts == attempts == len(sleeps) + 1
    assert 29 < sum(sleeps) <= 30, "the waits use up the budget, and no more"
    assert max(sleeps) <= 4, "each wait is capped"


def test_a_read_that_gets_through_within_the_budget_succeeds():
    sleeps: list[float] = []
    answer = {"presetList": [], "errNum": 0, "errMsg": "success"}
    steps = [BUSY, Reply(429, {"Error": {"Code": "Throttling", "Message": "m"}}), Drop()] * 4 + [Reply(200, answer)]
    with ScriptedServer(steps) as server:
        assert scripted_client(server.url, sleeps).get_preset_list(withDetail=1) == answer["presetList"]
    assert len(server.requests) == 13


def test_dropped_connections_count_against_the_budget_too():
    sleeps: list[float] = []
    with ScriptedServer([Drop()] * 500) as server:
        with pytest.raises(ServiceUnreachable) as info:
            scripted_client(server.url, sleeps, retry=RetryPolicy(budget=10)).get_task_list(marker=0)
    assert f"after {len(server.requests)} attempts in " in str(info.value)
    assert 9 < sum(sleeps) <= 10


def test_a_zero_budget_means_one_attempt_for_reads():
    with ScriptedServer([BUSY] * 3) as server:
        with pytest.raises(ApiError):
            scripted_client(server.url, [], retry=RetryPolicy(budget=0)).get_task_by_task_id(taskid="a" * 40)
    assert len(server.requests) == 1


def test_writes_keep_their_attempt_limit_and_outcome_unknown_whatever_the_budget():
    policy = RetryPolicy(budget=10_000)
    with ScriptedServer([BUSY] * 20) as server:
        with pytest.raises(ApiError):
            scripted_client(server.url, [], retry=policy).del_preset(preset="p1")
    assert len(server.requests) == 5
    with ScriptedServer([BUSY] * 20) as server:
        with pytest.raises(OutcomeUnknown):
            scripted_client(server.url, [], retry=policy).create_task({"preset": "p1"})
    assert len(server.requests) == 1, "a CreateTask that may have arrived is never re-sent"


# --------------------------------------------------------------------------------------------
# --retry-budget and retry_budget


@pytest.fixture
def failing(local_service, monkeypatch, tmp_path):
    creds = local_service.credentials
    monkeypatch.setenv("KS_ACCESS_KEY_ID", creds.access_key_id)
    monkeypatch.setenv("KS_SECRET_ACCESS_KEY", creds.secret_access_key)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "presets").mkdir()
    (tmp_path / "presets" / "p.yaml").write_text("presets:\n  - {preset: p1, presettype: avop, param: {f: mp4}}\n")
    local_service.set_faults(Faults(fail_rate=1.0, seed=1))
    return local_service


def write_config(path, text: str) -> None:
    (path / "presetsync.yaml").write_text(text, encoding="utf-8")


def test_the_flag_and_the_config_set_the_budget(failing, tmp_path, capsys):
    write_config(tmp_path, f"endpoint: {failing.url}\nretry_budget: 0\n")
    assert main(["plan"]) == 4
    assert "GetPresetList failed: HTTP 503" in capsys.readouterr().err
    assert failing.stats.count("GetPresetList") == 1, "budget 0 from the config: no retry"

    write_config(tmp_path, f"endpoint: {failing.url}\nretry_budget: 100000\n")
    assert main(["plan", "--retry-budget", "0"]) == 4, "the flag wins over the config"
    assert main(["tasks", "list", "--retry-budget", "0"]) == 4
    assert failing.stats.by_action() == {"GetPresetList": 2, "GetTaskList": 1}


@pytest.mark.parametrize("value", ["-1", "nan", "inf"])
def test_a_bad_budget_flag_exits_1_and_sends_nothing(failing, tmp_path, capsys, value):
    write_config(tmp_path, f"endpoint: {failing.url}\n")
    assert main(["plan", "--retry-budget", value]) == 1
    assert "--retry-budget must be a number of seconds, at least 0" in capsys.readouterr().err
    assert failing.stats.total == 0


def test_a_bad_budget_in_the_config_names_file_and_line(failing, tmp_path, capsys):
    write_config(tmp_path, f"endpoint: {failing.url}\nretry_budget: -5\n")
    assert main(["plan"]) == 1
    assert "presetsync.yaml:2:" in capsys.readouterr().err
    assert failing.stats.total == 0


# --------------------------------------------------------------------------------------------
# 200 plans through 20% 503, 10% 429 and 5% dropped connections

PRESETS = 5
FAULT_MIX = Faults(fail_rate=0.2, throttle_rate=0.1, drop_rate=0.05, seed=20)


def test_200_consecutive_plans_succeed_under_faults(local_service, make_client, tmp_path):
    account = local_service.credentials.access_key_id
    files = []
    with local_service.store.transaction(write=True) as tx:  # seeded directly: no requests, no faults
        for i in range(PRESETS):
            param = {"f": "mp4", "VIDEO": {"vb": f"{500 + i}k", "width": 640, "height": 360}}
            tx.insert_preset(account, PresetRow(f"p{i:02d}", "avop", "", json.dumps(param), time.time(), None))
            files.append(f"  - {{preset: p{i:02d}, presettype: avop, param: {json.dumps(param)}}}")
    (tmp_path / "presets.yaml").write_text("presets:\n" + "\n".join(files) + "\n", encoding="utf-8")
    desired = load_presets([tmp_path / "presets.yaml"]).presets
    client = make_client(local_service)  # the default policy (a 60 s budget); its waits are skipped
    local_service.set_faults(FAULT_MIX)

    outcomes = []
    for _ in range(200):
        try:
            plan = build_plan(desired, fetch_live(client))  # what `presetsync plan` does with the service
            outcomes.append("no changes" if not plan.has_changes else "changes")
        except ServiceError as exc:
            outcomes.append(str(exc))

    assert outcomes == ["no changes"] * 200
    faults = local_service.fault_counts
    assert faults["fail"] > 40 and faults["throttle"] > 20 and faults["drop_before"] + faults["drop_after"] > 5
    assert local_service.stats.count("GetPresetList") == 200 + sum(faults.values())
