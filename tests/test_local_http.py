"""The HTTP layer: routing by X-Action / Action, the version, paths, keep-alive, headers."""

from __future__ import annotations

import http.client
import json
import socket
from urllib.parse import urlsplit

import pytest

from presetsync.api import sigv4


def signed_headers(service, method, url, headers, body=b""):
    creds = service.credentials
    return sigv4.sign(
        method,
        url,
        headers,
        body,
        access_key_id=creds.access_key_id,
        secret_access_key=creds.secret_access_key,
        region="cn-beijing-6",
        now=service.clock(),
    ).headers


def request(service, method="GET", target="/", headers=(), body=b""):
    """Sign and send one request with exactly these headers; return (status, JSON body)."""
    url = service.url.rstrip("/") + target
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request(
            method, target, body=body or None, headers=dict(signed_headers(service, method, url, headers, body))
        )
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


BASE = [("Content-Type", "application/json"), ("X-Action", "GetPresetList"), ("X-Version", "2016-09-19")]


def test_the_php_sdks_action_and_version_in_the_query_are_accepted(local_service):
    status, body = request(local_service, target="/?Action=GetPresetList&Version=2016-09-19&withDetail=0", headers=BASE)

    assert (status, body) == (200, {"presetList": [], "errNum": 0, "errMsg": "success"})


def test_version_from_the_query_when_there_is_no_header(local_service):
    headers = [h for h in BASE if h[0] != "X-Version"]

    good = request(local_service, target="/?Version=2016-09-19", headers=headers)
    bad = request(local_service, target="/?Version=2017-01-01", headers=headers)

    assert good[0] == 200
    assert bad[0] == 400 and bad[1]["errNum"] == 4001 and "2017-01-01" in bad[1]["errMsg"]


def test_disagreeing_actions_are_refused(local_service):
    status, body = request(local_service, target="/?Action=DelPreset&preset=x", headers=BASE)

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
def test_action_and_version_checks(local_service, headers, status, err_num, words):
    answer = request(local_service, headers=headers)

    assert (answer[0], answer[1]["errNum"]) == (status, err_num)
    assert words in answer[1]["errMsg"]


def test_only_the_root_path_exists(local_service):
    status, body = request(local_service, target="/other/", headers=BASE)

    assert (status, body["errNum"], body["Error"]["Code"]) == (404, 4040, "NotFound")


def test_connections_are_kept_alive_and_answers_carry_request_ids(local_service):
    parts = urlsplit(local_service.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    ids, socks = [], []
    try:
        for _ in range(3):
            conn.request(
                "GET",
                "/?withDetail=0",
                headers=dict(signed_headers(local_service, "GET", local_service.url + "?withDetail=0", BASE)),
            )
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
