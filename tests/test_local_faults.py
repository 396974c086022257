"""Fault injection: rates, reproducibility, and the two kinds of dropped connection."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from presetsync.api.client import RetryPolicy
from presetsync.errors import ApiError, ConfigError, OutcomeUnknown, ServiceUnreachable
from presetsync.local.faults import Fault, FaultInjector, Faults

ONCE = RetryPolicy(max_attempts=1)


def outcome(call) -> str:
    """What one request came to, as the client saw it."""
    try:
        call()
    except ApiError as exc:
        return str(exc.status)
    except (OutcomeUnknown, ServiceUnreachable):
        return "dropped"
    return "ok"


def test_same_seed_same_decisions_and_rates_add_up():
    faults = Faults(fail_rate=0.1, throttle_rate=0.2, drop_rate=0.3, seed=7)
    first = [FaultInjector(faults).decide() for _ in range(1)]
    a, b, c = FaultInjector(faults), FaultInjector(faults), FaultInjector(Faults(fail_rate=0.1, drop_rate=0.3, seed=8))

    seq_a = [a.decide() for _ in range(5000)]
    seq_b = [b.decide() for _ in range(5000)]
    seq_c = [c.decide() for _ in range(5000)]

    assert seq_a == seq_b and seq_a[:1] == first
    assert seq_a != seq_c
    share = {fault: seq_a.count(fault) / 5000 for fault in Fault}
    assert 0.08 < share[Fault.FAIL] < 0.12
    assert 0.18 < share[Fault.THROTTLE] < 0.22
    assert 0.13 < share[Fault.DROP_BEFORE] < 0.17 and 0.13 < share[Fault.DROP_AFTER] < 0.17
    assert a.counts == {
        "fail": seq_a.count(Fault.FAIL),
        "throttle": seq_a.count(Fault.THROTTLE),
        "drop_before": seq_a.count(Fault.DROP_BEFORE),
        "drop_after": seq_a.count(Fault.DROP_AFTER),
    }


@pytest.mark.parametrize(
    ("faults", "problem"),
    [
        (dict(fail_rate=1.5), "fail rate"),
        (dict(drop_rate=-0.1), "drop rate"),
        (dict(fail_rate=0.6, throttle_rate=0.6), "add up"),
        (dict(latency_ms=-1), "latency"),
    ],
)
def test_impossible_faults_are_refused(faults, problem):
    with pytest.raises(ConfigError, match=problem):
        Faults(**faults)


def test_observed_rates_over_two_thousand_requests(service_factory, make_client):
    service = service_factory(faults=Faults(fail_rate=0.2, throttle_rate=0.1, drop_rate=0.1, seed=1))
    clients = [make_client(service, retry=ONCE) for _ in range(4)]

    with ThreadPoolExecutor(4) as pool:
        seen = list(pool.map(lambda i: outcome(lambda: clients[i % 4].get_preset_list(withDetail=0)), range(2000)))

    share = {kind: seen.count(kind) / 2000 for kind in ("503", "429", "dropped", "ok")}
    assert 0.16 <= share["503"] <= 0.24
    assert 0.07 <= share["429"] <= 0.13
    assert 0.07 <= share["dropped"] <= 0.13
    counts = service.fault_counts
    assert counts["fail"] == seen.count("503") and counts["throttle"] == seen.count("429")
    assert counts["drop_before"] + counts["drop_after"] == seen.count("dropped")
    assert service.stats.count("GetPresetList") == 2000
    assert service.stats.answers() == {200: seen.count("ok"), 503: counts["fail"], 429: counts["throttle"]} | {
        "dropped": seen.count("dropped")
    }


def test_same_seed_gives_the_same_sequence_over_http(service_factory, make_client):
    def run(db_name):
        service = service_factory(db_name, faults=Faults(fail_rate=0.15, throttle_rate=0.15, drop_rate=0.15, seed=42))
        client = make_client(service, retry=ONCE)
        return [outcome(lambda: client.get_preset_list(withDetail=0)) for _ in range(300)]

    first, second = run("a.sqlite"), run("b.sqlite")

    assert first == second
    assert {"ok", "503", "429", "dropped"} == set(first)


def test_set_faults_restarts_the_sequence(local_service, make_client):
    client = make_client(local_service, retry=ONCE)
    faults = Faults(fail_rate=0.5, seed=3)
    local_service.set_faults(faults)
    first = [outcome(lambda: client.get_preset_list(withDetail=0)) for _ in range(50)]
    local_service.set_faults(faults)
    second = [outcome(lambda: client.get_preset_list(withDetail=0)) for _ in range(50)]
    local_service.set_faults(Faults())
    third = [outcome(lambda: client.get_preset_list(withDetail=0)) for _ in range(20)]

    assert first == second and "503" in first and "ok" in first
    assert third == ["ok"] * 20
    assert local_service.fault_counts == {}


def test_drops_before_and_after_processing_both_happen(local_service, make_client):
    client = make_client(local_service, retry=ONCE)
    local_service.set_faults(Faults(drop_rate=1.0, seed=5))
    names = [f"p{i:02d}" for i in range(40)]
    for name in names:
        with pytest.raises(OutcomeUnknown):
            client.preset({"preset": name, "presettype": "avop", "param": {"f": "mp4"}})
    counts = local_service.fault_counts
    local_service.set_faults(Faults())

    existing = {p["preset"] for p in client.get_preset_list(withDetail=0)}

    assert counts["drop_after"] > 0 and counts["drop_before"] > 0
    assert counts["drop_after"] + counts["drop_before"] == 40
    assert len(existing) == counts["drop_after"]  # lost responses: done, but never answered
    assert existing < set(names)


def test_create_task_with_lost_response_is_outcome_unknown_and_not_resent(local_service, make_client):
    client = make_client(local_service)  # default retries: a CreateTask is still never re-sent
    client.preset({"preset": "web", "presettype": "avop", "param": {"f": "mp4"}})
    local_service.set_faults(Faults(drop_rate=1.0, seed=5))
    body = {"preset": "web", "srcInfo": [{"path": "/b/a.mp4"}], "dstBucket": "b", "dstObjectKey": "a.mp4"}

    with pytest.raises(OutcomeUnknown):
        client.create_task(body)
    counts = local_service.fault_counts
    local_service.set_faults(Faults())

    assert local_service.stats.count("CreateTask") == 1
    assert counts in ({"drop_after": 1}, {"drop_before": 1})
    assert client.get_task_list().total == counts.get("drop_after", 0)


def test_safe_operations_are_retried_through_faults(local_service, make_client):
    client = make_client(local_service)  # default RetryPolicy, sleeps replaced by no-ops
    local_service.set_faults(Faults(fail_rate=0.1, throttle_rate=0.1, drop_rate=0.1, seed=11))  # seeded: same every run

    answers = [client.call("GetPresetList", {"withDetail": 0})["errNum"] for _ in range(30)]

    assert answers == [0] * 30
    assert local_service.stats.count("GetPresetList") > 30


def test_faults_are_decided_before_authentication(local_service):
    local_service.set_faults(Faults(fail_rate=0.5, throttle_rate=0.5, seed=2))

    answers = [requests.get(local_service.url, timeout=30) for _ in range(20)]

    assert {a.status_code for a in answers} == {503, 429}
    throttled = next(a.json() for a in answers if a.status_code == 429)
    failed = next(a.json() for a in answers if a.status_code == 503)
    assert throttled["Error"]["Code"] == "Throttling" and throttled["errNum"] == 4290
    assert failed["Error"]["Code"] == "ServiceUnavailable" and failed["errNum"] == 5030
    assert local_service.stats.count("") == 20


def test_a_dropped_request_gets_no_answer_whatever_it_would_have_been(local_service):
    local_service.set_faults(Faults(drop_rate=1.0, seed=9))

    for _ in range(10):  # unsigned: each would be a 403, were it not dropped
        with pytest.raises(requests.ConnectionError):
            requests.get(local_service.url, timeout=30)

    counts = local_service.fault_counts
    assert counts["drop_before"] + counts["drop_after"] == 10 and min(counts.values()) > 0
    assert local_service.stats.answers() == {"dropped": 10}
