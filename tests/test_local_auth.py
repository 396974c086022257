"""Signatures and accounts: every refusal case, no state change when refused, isolation."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import requests

from presetsync.api import sigv4
from presetsync.api.client import PreparedCall
from presetsync.api.credentials import Credentials
from presetsync.errors import ApiError, ConfigError
from presetsync.local.auth import load_accounts

PRESET = {"preset": "web", "presettype": "avop", "param": {"f": "mp4"}}


def send(call: PreparedCall, *, url: str | None = None, headers=None, body: bytes | None = None) -> requests.Response:
    """Send a prepared (possibly tampered with) request as it is."""
    return requests.request(
        call.method,
        url or call.url,
        headers=dict(headers if headers is not None else call.headers),
        data=call.body if body is None else body,
        timeout=30,
    )


def assert_refused(response: requests.Response, code: str, words: str) -> None:
    assert response.status_code == 403
    body = response.json()
    assert body["errNum"] == 4030
    assert body["Error"]["Code"] == code
    assert words in body["errMsg"]
    assert body["Error"]["Message"] == body["errMsg"]


def test_wrong_access_key_id(local_service, make_client):
    stranger = make_client(local_service, Credentials("AKLTEXAMPLEUNKNOWN0000", "ExampleSecret/00000"))

    with pytest.raises(ApiError) as info:
        stranger.preset(PRESET)

    assert (info.value.status, info.value.code, info.value.err_num) == (403, "InvalidAccessKeyId", 4030)
    assert "AKLTEXAMPLEUNKNOWN0000" in info.value.err_msg


def test_wrong_secret(local_service, make_client, client):
    key = local_service.credentials.access_key_id
    impostor = make_client(local_service, Credentials(key, "ExampleWrongSecret/0000000000000"))

    with pytest.raises(ApiError) as info:
        impostor.preset(PRESET)

    assert (info.value.status, info.value.code) == (403, "SignatureDoesNotMatch")
    assert client.get_preset_list(withDetail=0) == []


def test_tampered_body_is_refused_and_changes_nothing(local_service, client):
    call = client.prepare("Preset", PRESET)
    tampered = call.body.replace(b'"web"', b'"wex"')

    response = send(call, body=tampered)

    assert_refused(response, "SignatureDoesNotMatch", "does not match")
    assert client.get_preset_list(withDetail=0) == []
    assert send(call).json() == {"errNum": 0, "errMsg": "success"}  # the untouched request passes


def test_tampered_query_is_refused(local_service, client):
    client.preset(PRESET)
    call = client.prepare("DelPreset", {"preset": "other"})

    response = send(call, url=call.url.replace("preset=other", "preset=web"))

    assert_refused(response, "SignatureDoesNotMatch", "does not match")
    assert client.call("GetPresetDetail", {"preset": "web"})["errNum"] == 0


def test_tampered_signed_header_is_refused(local_service, client):
    client.preset(PRESET)
    call = client.prepare("GetPresetDetail", {"preset": "web"})
    headers = [(n, "DelPreset" if n == "X-Action" else v) for n, v in call.headers]

    response = send(call, headers=headers)

    assert_refused(response, "SignatureDoesNotMatch", "does not match")
    assert local_service.stats.count("DelPreset") == 1
    assert client.call("GetPresetDetail", {"preset": "web"})["errNum"] == 0


@pytest.mark.parametrize(("minutes", "accepted"), [(-16, False), (16, False), (-14, True), (14, True)])
def test_request_time_must_be_within_fifteen_minutes(local_service, make_client, minutes, accepted):
    skewed = make_client(local_service, clock=lambda: local_service.clock() + timedelta(minutes=minutes))

    if accepted:
        assert skewed.call("GetPresetList", {"withDetail": 0})["errNum"] == 0
    else:
        with pytest.raises(ApiError) as info:
            skewed.get_preset_list(withDetail=0)
        assert (info.value.status, info.value.code) == (403, "RequestExpired")
        assert "X-Amz-Date" in info.value.err_msg


def test_the_server_clock_is_injectable(service_factory, make_client, manual_clock):
    service = service_factory(clock=manual_clock)
    manual_clock.advance(seconds=20 * 60)
    real_time_client = make_client(service)
    same_clock_client = make_client(service, clock=manual_clock)

    with pytest.raises(ApiError) as info:
        real_time_client.get_preset_list(withDetail=0)

    assert info.value.code == "RequestExpired"
    assert same_clock_client.call("GetPresetList", {"withDetail": 0})["errNum"] == 0


def test_x_action_must_be_signed(local_service, client):
    creds = local_service.credentials
    url = local_service.url + "?withDetail=0"
    signed = sigv4.sign(
        "GET",
        url,
        [("Content-Type", "application/json"), ("X-Version", "2016-09-19")],
        b"",
        access_key_id=creds.access_key_id,
        secret_access_key=creds.secret_access_key,
        region="cn-beijing-6",
        now=local_service.clock(),
    )
    headers = [*signed.headers, ("X-Action", "GetPresetList")]  # added after signing

    response = requests.get(url, headers=dict(headers), timeout=30)

    assert_refused(response, "IncompleteSignature", "'x-action' must be signed")


def test_a_signed_header_missing_from_the_request_is_refused(local_service, client):
    call = client.prepare("GetPresetList", {"withDetail": 0})
    headers = [(n, v) for n, v in call.headers if n != "X-Amz-Target"]

    assert_refused(send(call, headers=headers), "IncompleteSignature", "'x-amz-target' is missing")


def test_unsigned_request_is_refused(local_service, client):
    call = client.prepare("CreateTask", {"preset": "web"})
    headers = [(n, v) for n, v in call.headers if n != "Authorization"]

    assert_refused(send(call, headers=headers), "MissingAuthenticationToken", "not signed")
    assert client.get_task_list().total == 0


def test_refused_requests_are_counted(local_service, make_client):
    stranger = make_client(local_service, Credentials("AKLTEXAMPLEUNKNOWN0000", "ExampleSecret/00000"))
    with pytest.raises(ApiError):
        stranger.create_task({"preset": "x"})

    assert local_service.stats.count("CreateTask") == 1
    assert local_service.stats.total == 1
    assert local_service.stats.answers() == {403: 1}


def test_accounts_are_isolated(service_factory, make_client, example_accounts):
    service = service_factory(accounts=example_accounts)
    (key_a, secret_a), (key_b, secret_b) = example_accounts.items()
    a = make_client(service, Credentials(key_a, secret_a))
    b = make_client(service, Credentials(key_b, secret_b))
    a.preset({**PRESET, "description": "A's"})
    taskid = a.create_task(
        {"preset": "web", "srcInfo": [{"path": "/b/a.mp4"}], "dstBucket": "b", "dstObjectKey": "a.mp4"}
    )

    assert b.get_preset_list(withDetail=1) == []
    assert b.get_task_list().total == 0
    assert b.call("GetTaskMetaInfo", {})["total"] == 0
    for call, args in [
        (b.get_preset_detail, {"preset": "web"}),
        (b.del_preset, {"preset": "web"}),
        (b.get_task_by_task_id, {"taskid": taskid}),
        (b.top_task_by_task_id, {"taskid": taskid}),
        (b.del_task_by_task_id, {"taskid": taskid}),
        (b.get_task_meta_info, {"taskid": taskid}),
    ]:
        with pytest.raises(ApiError) as info:
            call(**args)
        assert info.value.err_num in (1003, 1004)
    assert b.call("Preset", {**PRESET, "description": "B's"})["errNum"] == 0  # same name, other account
    assert a.get_preset_detail(preset="web")["description"] == "A's"
    assert b.get_preset_detail(preset="web")["description"] == "B's"
    assert a.get_task_by_task_id(taskid=taskid)["isTop"] == "0"


def test_configured_accounts_replace_the_development_account(service_factory, example_accounts):
    service = service_factory(accounts=example_accounts)

    assert service.accounts == example_accounts
    assert service.dev_credentials is None
    assert service.credentials.access_key_id in example_accounts


def test_development_account_is_created_once_and_kept(service_factory):
    first = service_factory("dev.sqlite")
    creds = first.dev_credentials
    first.stop()

    again = service_factory("dev.sqlite").dev_credentials

    assert creds.access_key_id.startswith("AKLTLOCAL")
    assert creds.access_key_id[9:].isupper() and len(creds.secret_access_key) >= 30
    assert (again.access_key_id, again.secret_access_key) == (creds.access_key_id, creds.secret_access_key)
    assert service_factory("other.sqlite").dev_credentials.access_key_id != creds.access_key_id


def test_load_accounts(accounts_file, example_accounts):
    assert load_accounts(accounts_file) == example_accounts


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("accounts: [", "not valid YAML at line"),
        ("- a\n- b\n", "must be a mapping with an 'accounts' list"),
        ("accounts: []\n", "non-empty list"),
        ("accounts:\n  - AKLTEXAMPLE\n", "accounts[0] must be a mapping"),
        ("accounts:\n  - secret_access_key: ExampleS3cret\n", "accounts[0]: access_key_id is missing"),
        ("accounts:\n  - access_key_id: AKLTEXAMPLE1\n", "accounts[0]: secret_access_key is missing"),
        ("accounts:\n  - {access_key_id: 'AKLT EX', secret_access_key: s}\n", "access_key_id must be"),
        ("accounts:\n  - {access_key_id: AKLTEXAMPLE1, secret_access_key: 12345}\n", "must be a non-empty string"),
        ("accounts:\n  - {access_key_id: AKLTEXAMPLE1, secret_access_key: ExampleS3cret, role: x}\n", "unknown key"),
        (
            "accounts:\n  - {access_key_id: AKLTEXAMPLE1, secret_access_key: ExampleS3cretOne}\n"
            "  - {access_key_id: AKLTEXAMPLE1, secret_access_key: ExampleS3cretTwo}\n",
            "accounts[1]: access_key_id AKLTEXAMPLE1 appears twice",
        ),
    ],
)
def test_bad_accounts_files_are_config_errors_naming_file_and_problem(tmp_path: Path, text, problem):
    path = tmp_path / "accounts.yaml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(ConfigError) as info:
        load_accounts(path)

    assert str(path) in str(info.value)
    assert problem in str(info.value)
    assert "ExampleS3cret" not in str(info.value)


def test_missing_accounts_file(tmp_path: Path):
    with pytest.raises(ConfigError, match=r"accounts file .*nope\.yaml: cannot read it"):
        load_accounts(tmp_path / "nope.yaml")
