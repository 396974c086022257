"""The requests captured from the official SDK, reproduced byte for byte.

tests/fixtures/sdk-vectors.json is a copy of shared/ref/offline-sigv4-vectors.json: the SDK's
requests captured on the wire with a frozen clock and fake keys.
"""

from __future__ import annotations

import json
import socket
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest

from presetsync.api import Credentials, OfflineClient, sigv4

VECTORS = json.loads((Path(__file__).parent / "fixtures" / "sdk-vectors.json").read_text(encoding="utf-8"))
FROZEN = datetime(2024, 5, 20, 8, 30, tzinfo=timezone.utc)
CASES = VECTORS["ops"] + VECTORS["extra_encoding_vectors"]
IDS = [f"{c['operation']}-{i}" for i, c in enumerate(CASES)]
# http.client adds these two itself, first, exactly as it did under the SDK.
TRANSPORT_HEADERS = [("Host", "offline.api.ksyun.com"), ("Accept-Encoding", "identity")]


def vector_client(**kwargs) -> OfflineClient:
    creds = VECTORS["credentials"]
    return OfflineClient(
        VECTORS["region"],
        credentials=Credentials(creds["access_key_id"], creds["secret_access_key"]),
        clock=lambda: FROZEN,
        **kwargs,
    )


def without_user_agent(headers):
    return [(n, v) for n, v in headers if n != "User-Agent"]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_prepared_request_matches_the_sdk(case):
    call = vector_client().prepare(case["operation"], case["inputs"])
    assert call.method == case["method"]
    assert call.url == case["url"]
    assert call.body.decode("utf-8") == case["body"]
    expected = [h for h in case["headers"] if h[0] not in ("Host", "Accept-Encoding", "Content-Length")]
    assert without_user_agent(call.headers) == [tuple(h) for h in without_user_agent(expected)]
    assert dict(call.headers)["Authorization"] == case["authorization"]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_canonical_request_string_to_sign_and_signature_match(case):
    call = vector_client().prepare(case["operation"], case["inputs"])
    creds = VECTORS["credentials"]
    unsigned = [(n, v) for n, v in call.headers if n not in ("X-Amz-Date", "Authorization")]
    signed = sigv4.sign(
        call.method,
        call.url,
        unsigned,
        call.body,
        access_key_id=creds["access_key_id"],
        secret_access_key=creds["secret_access_key"],
        region=VECTORS["region"],
        now=FROZEN,
    )
    assert signed.canonical_request == case["canonical_request"]
    assert signed.string_to_sign == case["string_to_sign"]
    assert signed.signature == case["signature"]


def test_signing_key_matches():
    key = sigv4.signing_key(VECTORS["credentials"]["secret_access_key"], "20240520", VECTORS["region"])
    assert key.hex() == VECTORS["signing_key_hex"]


class Recorder:
    """A raw socket that records the exact bytes of one request and answers 200."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.raw = b""
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        conn, _ = self.sock.accept()
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            head, _, body = data.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            while len(body) < length:
                body += conn.recv(65536)
            self.raw = head + b"\r\n\r\n" + body
            answer = b'{"errNum": 0, "errMsg": "success"}'
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(answer), answer))
        self.sock.close()


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_bytes_on_the_wire_match_the_sdk_capture(case, monkeypatch):
    """Send to offline.api.ksyun.com:80 with name resolution pointed at a loopback recorder."""
    recorder = Recorder()
    real_getaddrinfo = socket.getaddrinfo

    def loopback(host, port, *args, **kwargs):
        if host == "offline.api.ksyun.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", recorder.port))]
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", loopback)
    user_agent = dict(case["headers"])["User-Agent"]
    result = vector_client(user_agent=user_agent).call(case["operation"], case["inputs"])
    recorder.thread.join(5)
    assert result == {"errNum": 0, "errMsg": "success"}
    assert recorder.raw.decode("utf-8") == case["raw_request"]


def test_wrapper_defaults_match_the_sdk(monkeypatch):
    """getOfflineClient's defaults send what the SDK sent (local month start, limit=0 quirk)."""
    import presetsync.offline as compat

    monkeypatch.setattr(compat, "_first_of_local_month", lambda: 20261101)
    observed = VECTORS["wrapper_defaults_observed"]
    client = compat.getOfflineClient(
        "offline", "cn-beijing-6", ks_access_key_id="AKLTEXAMPLE", ks_secret_access_key="x"
    )
    sent = []
    monkeypatch.setattr(client.client, "call", lambda op, args: sent.append(client.client.prepare(op, args)) or {})
    for call_text in observed["calls"]:
        eval(call_text, {"client": client})
    assert [f"GET /{p.url.split('/', 3)[3]} HTTP/1.1" for p in sent] == observed["requests"]
    assert [f"X-Action: {dict(p.headers)['X-Action']}" for p in sent] == observed["x_action"]
