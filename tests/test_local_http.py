"""The HTTP layer: routing by X-Action / Action, the version, paths, keep-alive, headers."""

from __future__ import annotations

import http.client
import socket
from urllib.parse import urlsplit

import pytest

BASE = [("Content-Type", "application/json"), ("X-Action", "GetPresetList"), ("X-Version", "2016-09-19")]


@pytest.fixture
def signed_get(local_service, raw_call):
    """Send a signed GetPresetList-ish request with exactly *headers*; (status, JSON body)."""

    def send(query="", headers=BASE, path="/"):
        answer = raw_call(local_service, "", query=query, headers=list(headers), path=path)
        return answer.status_code, answer.json()

    return send


def test_the_php_sdks_action_and_version_in_the_query_are_accepted(signed_get):
    status, body = signed_get("Action=GetPresetList&Version=2016-09-19&withDetail=0")

    assert (status, body) == (200, {"presetList": [], "errNum": 0, "errMsg": "success"})


def test_version_from_the_query_when_there_is_no_header(signed_get):
    headers = [h for h in BASE if h[0] != "X-Version"]

    good = signed_get("Version=2016-09-19", headers)
    bad = signed_get("Version=2017-01-01", headers)

    assert good[0] == 200
    assert bad[0] == 400 and bad[1]["errNum"] == 4001 and "2017-01-01" in bad[1]["errMsg"]


def test_disagreeing_actions_are_refused(signed_get):
    status, body = signed_get("Action=DelPreset&preset=x")

    assert (status, body["errNum"], body["Error"]["Code"]) == (400, 4002, "InvalidAction")


@pytest.mark.parametrize(
    ("headers", "status", "err_num", "words"),
    [
        ([("X-Action", "GetPresetList"), ("X-Version", "2016-09-19")], 200, 0, "success"),
        ([("X-Action", "GetPresetList"), ("X-Version", "2017-01-01")], 400, 4001, "2016-09-19"),
        ([("X-Action", "GetPresetList")], 400, 4001, "None"),
        ([("X-Action", "ListBuckets"), ("X-Version", "2016-09-19")], 400, 4000, "ListBuckets"),
    ],
)
def test_action_and_version_checks(signed_get, headers, status, err_num, words):
    answer = signed_get(headers=headers)

    assert (answer[0], answer[1]["errNum"]) == (status, err_num)
    assert words in answer[1]["errMsg"]


def test_only_the_root_path_exists(signed_get):
    status, body = signed_get(path="/other/")

    assert (status, body["errNum"], body["Error"]["Code"]) == (404, 4040, "NotFound")


def test_connections_are_kept_alive_and_answers_carry_request_ids(local_service, client):
    url = local_service.url + "?withDetail=0"
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    ids, socks = [], []
    try:
        for _ in range(3):
            call = client.prepare("GetPresetList", {"withDetail": 0})
            conn.request("GET", "/?withDetail=0", headers=dict(call.headers))
            response = conn.getresponse()
            assert response.status == 200
            assert response.getheader("Content-Type") == "application/json"
            assert response.read() == b'{"presetList":[],"errNum":0,"errMsg":"success"}'
            ids.append(response.getheader("X-Request-Id"))
            socks.append(conn.sock)
    finally:
        conn.close()

    assert socks[0] is not None and socks[0] is socks[1] is socks[2]
    assert len(set(ids)) == 3 and all(len(i) == 32 for i in ids)
    assert local_service.stats.count("GetPresetList") == 3


def test_a_bad_content_length_is_a_400(local_service):
    parts = urlsplit(local_service.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nX-Action: Preset\r\nContent-Length: -5\r\n\r\n")
        answer = sock.makefile("rb").read()

    assert answer.startswith(b"HTTP/1.1 400 ")
    assert b'"errNum":4003' in answer
