"""Retries, lost responses and error mapping, against a scripted loopback server."""

from __future__ import annotations

import random

import pytest
from scripted import Drop, Reply, ScriptedServer, SilentServer, closed_port_url

from presetsync.api import Credentials, OfflineClient, RetryPolicy
from presetsync.errors import ApiError, OutcomeUnknown, ServiceUnreachable

CREDS = Credentials("AKLTEXAMPLERETRY0000", "ExampleSecret/retry")
TASK = "40d309d3b2bf373cd3f08e5b5e1bddf720160816"
PRESET_BODY = {"preset": "p1", "presettype": "avop", "param": {"f": "mp4"}}


def make_client(url, sleeps=None, **kwargs):
    return OfflineClient(
        endpoint=url,
        credentials=CREDS,
        sleep=(sleeps.append if sleeps is not None else lambda s: None),
        rng=random.Random(7),
        **kwargs,
    )


@pytest.mark.parametrize(
    "failure",
    [
        Reply(503, {"Error": {"Code": "ServiceUnavailable", "Message": "m"}}),
        Reply(509, {"Error": {"Code": "LimitExceeded", "Message": "m"}}),
        Reply(429, {"Error": {"Code": "TooMany", "Message": "m"}}),
        Reply(400, {"Error": {"Code": "Throttling", "Message": "slow down"}}),
        Reply(400, {"Error": {"Code": "ThrottlingException", "Message": "m"}}),
        Drop(),
    ],
    ids=["503", "509", "429", "400-Throttling", "400-ThrottlingException", "dropped"],
)
def test_safe_operation_is_retried_until_it_succeeds(failure):
    steps = [failure, failure, Reply(200, {"taskInfo": {"taskid": TASK}, "errNum": 0, "errMsg": "success"})]
    sleeps = []
    with ScriptedServer(steps) as server:
        client = make_client(server.url, sleeps)
        result = client.get_task_by_task_id(taskid=TASK)
    assert result["taskid"] == TASK
    assert len(server.requests) == 3
    assert client.calls == {"GetTaskByTaskID": 3}
    assert len(sleeps) == 2
    # Each attempt is signed afresh: the requests are equal up to the signature and date.
    assert all(r.path == f"/?taskid={TASK}" for r in server.requests)


def test_retries_stop_at_max_attempts_and_raise_the_last_error():
    sleeps = []  # a write: reads are retried within a time budget instead (test_retry_budget.py)
    with ScriptedServer([Reply(503, {"Error": {"Code": "ServiceUnavailable", "Message": "busy"}})] * 9) as server:
        with pytest.raises(ApiError) as info:
            make_client(server.url, sleeps).del_preset(preset="p1")
    assert len(server.requests) == 5
    assert info.value.status == 503 and info.value.code == "ServiceUnavailable"
    assert info.value.attempts == 5
    assert len(sleeps) == 4


def test_backoff_is_capped_exponential_with_jitter():
    policy = RetryPolicy(max_attempts=8, base=0.5, cap=3.0)
    rng = random.Random(1)
    for attempt in range(1, 8):
        ceiling = min(3.0, 0.5 * 2 ** (attempt - 1))
        waits = [policy.delay(attempt, rng) for _ in range(200)]
        assert all(0 <= w <= ceiling for w in waits)
        assert max(waits) > ceiling * 0.8  # jitter spreads over the whole window
    assert policy.delay(1, rng, retry_after=2.5) >= 2.5
    assert policy.delay(1, rng, retry_after=99) == 3.0


def test_retry_after_header_is_honoured():
    sleeps = []
    steps = [Reply(429, {"Error": {"Code": "Throttling", "Message": "m"}}, {"Retry-After": "2"}), Reply()]
    with ScriptedServer(steps) as server:
        make_client(server.url, sleeps).del_preset(preset="p1")
    assert sleeps and sleeps[0] >= 2


@pytest.mark.parametrize("status", [500, 502, 504, 403, 404])
def test_other_errors_are_not_retried(status):
    with ScriptedServer([Reply(status, {"Error": {"Code": "X", "Message": "m"}})] * 3) as server:
        with pytest.raises(ApiError) as info:
            make_client(server.url).get_preset_list(withDetail=1)
    assert len(server.requests) == 1
    assert info.value.status == status


@pytest.mark.parametrize("operation", ["preset", "create_task"])
def test_dropped_connection_after_a_non_idempotent_body_gives_outcome_unknown(operation):
    with ScriptedServer([Drop(), Reply()]) as server:
        with pytest.raises(OutcomeUnknown) as info:
            getattr(make_client(server.url), operation)(PRESET_BODY)
    assert len(server.requests) == 1, "a Preset/CreateTask that may have arrived must not be re-sent"
    assert server.requests[0].body.startswith(b'{"preset": "p1"')
    assert info.value.attempts == 1


@pytest.mark.parametrize("status", [503, 509])
def test_ambiguous_server_errors_on_create_give_outcome_unknown(status):
    with ScriptedServer([Reply(status, {"Error": {"Code": "X", "Message": "m"}}), Reply()]) as server:
        with pytest.raises(OutcomeUnknown):
            make_client(server.url).preset(PRESET_BODY)
    assert len(server.requests) == 1


def test_throttling_is_retried_even_for_create_because_nothing_was_done():
    steps = [Reply(429, {"Error": {"Code": "Throttling", "Message": "m"}}), Reply(200, {"taskid": TASK, "errNum": 0})]
    with ScriptedServer(steps) as server:
        result = make_client(server.url).create_task({"preset": "p1"})
    assert result == TASK
    assert len(server.requests) == 2


def test_update_preset_is_safe_to_retry():
    with ScriptedServer([Drop(), Reply()]) as server:
        make_client(server.url).update_preset(PRESET_BODY)  # raises unless an attempt succeeded
    assert len(server.requests) == 2


def test_refused_connection_is_retried_even_for_create_then_reported():
    sleeps = []
    client = make_client(closed_port_url(), sleeps)
    with pytest.raises(ServiceUnreachable) as info:
        client.preset(PRESET_BODY)
    assert len(sleeps) == 4, "connection refused means nothing was sent: all 5 attempts are made"
    assert "after 5 attempts" in str(info.value)


def test_read_timeout_retries_a_safe_operation_but_not_a_create():
    with SilentServer() as server:
        with pytest.raises(ServiceUnreachable):
            make_client(server.url, read_timeout=0.1, retry=RetryPolicy(max_attempts=3)).get_preset_list()
        assert len(server.accepted) == 3
    with SilentServer() as server:
        with pytest.raises(OutcomeUnknown) as info:
            make_client(server.url, read_timeout=0.1).create_task({"preset": "p1"})
        assert len(server.accepted) == 1
    assert "ReadTimeout" in info.value.reason


def test_one_pooled_connection_is_reused_across_calls():
    with ScriptedServer([Reply(200, {"presetList": [], "errNum": 0})] * 5) as server:
        client = make_client(server.url)
        for _ in range(5):
            client.get_preset_list(withDetail=0)
    assert len(server.requests) == 5
    assert len({r.client_port for r in server.requests}) == 1
