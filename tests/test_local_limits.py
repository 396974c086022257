"""The local service's limits (issue 10, point 6): request bodies are capped before they are
read and before authentication, stalled connections are closed within seconds, and an
accounts file that other users can read gets the credentials warning.

Raw sockets show what a misbehaving client sees; each read is bounded by a socket timeout,
so a server that never closes the connection fails the test instead of hanging it.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from pathlib import Path

import pytest

from presetsync.api.credentials import resolve_credentials
from presetsync.local.auth import load_accounts
from presetsync.local.server import DEFAULT_MAX_BODY_BYTES, LocalService

WAIT = 5.0  # seconds a test waits for the server before calling it stuck


def connect(url: str) -> socket.socket:
    host, port = url.split("//")[1].rstrip("/").rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=WAIT)
    return sock


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (socket.timeout if it never does)."""
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def exchange(url: str, data: bytes) -> bytes:
    with connect(url) as sock:
        sock.sendall(data)
        return read_until_closed(sock)


def parse(answer: bytes) -> tuple[int, dict[str, str], dict]:
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, json.loads(body)


def post_head(length: int | None = None, extra: str = "") -> bytes:
    lines = [
        "POST / HTTP/1.1",
        "Host: 127.0.0.1",
        "X-Action: Preset",
        "X-Version: 2016-09-19",
        "Content-Type: application/json",
    ]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n" + extra + "\r\n").encode("latin-1")


# --------------------------------------------------------------------------------------------
# bodies


def test_an_oversized_body_is_refused_unread_and_before_authentication(local_service):
    assert local_service.max_body_bytes == DEFAULT_MAX_BODY_BYTES == 8 * 1024 * 1024

    # unsigned, and not a byte of the body sent: the answer comes from the Content-Length alone
    status, headers, body = parse(exchange(local_service.url, post_head(DEFAULT_MAX_BODY_BYTES + 1)))

    assert status == 413
    assert body["errNum"] == 4130 and body["Error"]["Code"] == "PayloadTooLarge"
    assert str(DEFAULT_MAX_BODY_BYTES) in body["errMsg"]
    assert headers["connection"] == "close"
    assert local_service.stats.answers() == {413: 1}


def test_a_body_at_the_limit_is_read_and_one_byte_more_is_not(service_factory, raw_call):
    service = service_factory(max_body_bytes=300)
    body = json.dumps({"preset": "p1", "presettype": "avop", "param": {"f": "mp4"}, "description": ""})
    body = body.replace('"description": ""', '"description": "' + "x" * (300 - len(body)) + '"').encode()
    assert len(body) == 300

    answer = raw_call(service, "Preset", body=body)
    assert (answer.status_code, answer.json()["errNum"]) == (200, 0)

    status, _, refused = parse(exchange(service.url, post_head(301)))
    assert (status, refused["errNum"]) == (413, 4130)


def test_a_chunked_body_is_refused(local_service):
    status, headers, body = parse(exchange(local_service.url, post_head(extra="Transfer-Encoding: chunked\r\n")))
    assert status == 411
    assert body["Error"]["Code"] == "LengthRequired" and "Content-Length" in body["errMsg"]
    assert headers["connection"] == "close"


# --------------------------------------------------------------------------------------------
# stalled connections


@pytest.fixture
def impatient(service_factory):
    return service_factory(request_timeout=0.5, idle_timeout=0.5)


def test_a_request_that_stops_halfway_through_its_headers_is_closed(impatient):
    assert exchange(impatient.url, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Act") == b""


def test_a_body_that_stops_halfway_gets_408_and_is_closed(impatient):
    status, headers, body = parse(exchange(impatient.url, post_head(100) + b'{"preset": '))
    assert status == 408
    assert body["Error"]["Code"] == "RequestTimeout" and headers["connection"] == "close"


def test_a_request_trickling_in_is_cut_at_its_deadline(impatient):
    """One byte per tenth of a second keeps every single read short: the whole request must
    still arrive within the request timeout."""
    closed = False
    with connect(impatient.url) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nX-Slow: ")
        sock.settimeout(0.1)  # paces the bytes; no sleeping
        for _ in range(100):  # at most ~10 s
            try:
                sock.sendall(b"a")
                closed = sock.recv(1) == b""
            except socket.timeout:
                continue
            except (BrokenPipeError, ConnectionResetError):
                closed = True
            if closed:
                break
    assert closed, "the server kept a trickling request open"


def test_an_idle_connection_is_closed(impatient):
    with connect(impatient.url) as sock:
        assert read_until_closed(sock) == b""


def test_a_kept_alive_connection_still_serves_request_after_request(impatient, make_client):
    client = make_client(impatient)
    for _ in range(5):
        assert client.call("GetPresetList", {"withDetail": 0})["errNum"] == 0
    assert impatient.stats.answers() == {200: 5}


def test_bad_limits_are_refused(tmp_path):
    with pytest.raises(ValueError, match="timeouts must be positive"):
        LocalService(tmp_path / "x.sqlite", request_timeout=0)
    with pytest.raises(ValueError, match="max_body_bytes"):
        LocalService(tmp_path / "x.sqlite", max_body_bytes=-1)


# --------------------------------------------------------------------------------------------
# presetsync serve: --accounts warning and the limit flags


def shared_file(path: Path, text: str, mode: int) -> Path:
    path.write_text(text, encoding="utf-8")
    os.chmod(path, mode)
    return path


def test_an_accounts_file_others_can_read_gets_the_credentials_warning(accounts_file, tmp_path, caplog, monkeypatch):
    credentials = shared_file(
        tmp_path / "credentials", "[default]\nks_access_key_id = AKLTEXAMPLEC\nks_secret_access_key = S\n", 0o644
    )
    monkeypatch.setenv("KS_SHARED_CREDENTIALS_FILE", str(credentials))
    for name in ("KS_ACCESS_KEY_ID", "KS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    os.chmod(accounts_file, 0o644)
    with caplog.at_level(logging.WARNING):
        resolve_credentials(home=tmp_path)
        load_accounts(accounts_file)
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert messages == [
        f"credentials file {path} is readable by other users (mode 0644); run: chmod 600 {path}"
        for path in (credentials, accounts_file)
    ]

    caplog.clear()
    os.chmod(accounts_file, 0o600)
    load_accounts(accounts_file)
    assert not caplog.records


def test_serve_warns_about_the_accounts_file_and_takes_the_limit_flags(serve_process, accounts_file):
    os.chmod(accounts_file, 0o640)
    process = serve_process(
        "--port", "0", "--accounts", str(accounts_file), "--max-body-bytes", "1000", "--request-timeout", "0.5"
    )
    try:
        status, _, _ = parse(exchange(process.url, post_head(1001)))
        assert status == 413
        assert exchange(process.url, b"GET / HTTP/1.1\r\nHost: x") == b"", "stalled: closed"
    finally:
        assert process.stop() == 0
    err = process.popen.stderr.read()
    assert f"credentials file {accounts_file} is readable by other users (mode 0640)" in err
    assert "ExampleSecretKey" not in err + "\n".join(process.lines)


@pytest.mark.parametrize(
    ("flag", "value"), [("--max-body-bytes", "0"), ("--request-timeout", "-1"), ("--idle-timeout", "nan")]
)
def test_serve_refuses_bad_limits(flag, value, capsys):
    from presetsync.cli import main

    assert main(["serve", "--port", "0", flag, value]) == 1
    assert f"{flag} must be a positive number" in capsys.readouterr().err
