"""The client's own HTTP transport (issue 12): keep-alive pool, what counts as sent, answers
of every form, timeouts, TLS verification and proxies, against loopback servers."""

from __future__ import annotations

import base64
import json
import random
import select
import socket
import threading

import pytest
from loopback import LoopbackProxy, RawServer, answer, make_authority
from scripted import Drop, Reply, ScriptedServer
from test_client_retries import CREDS, PRESET_BODY, TASK

from presetsync.api import OfflineClient, RetryPolicy
from presetsync.api.transport import Transport
from presetsync.errors import OutcomeUnknown, ServiceUnreachable

CREATED = {"taskid": TASK, "errNum": 0, "errMsg": "success"}
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


def make_client(url, **options) -> OfflineClient:
    options.setdefault("sleep", lambda seconds: None)
    options.setdefault("credentials", CREDS)
    return OfflineClient(endpoint=url, rng=random.Random(5), **options)


def task(n: int) -> dict:
    return {"preset": "p1", "srcInfo": [{"path": f"/in/{n}.mp4"}], "dstBucket": "b", "dstObjectKey": f"{n}.mp4"}


@pytest.fixture(autouse=True)
def no_proxy_settings(monkeypatch):
    """The tests set the proxy variables they need; none leaks in from the environment."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


def wait_until_readable(sock: socket.socket) -> None:
    """Until the server's close of *sock* reached this side (no timing involved)."""
    assert select.select([sock], [], [], 30)[0], "the server's close never arrived"


# --- the pool ------------------------------------------------------------------------------


def test_concurrent_requests_share_a_pool_of_kept_alive_connections():
    with ScriptedServer([Reply(200, {"presetList": [], "errNum": 0})] * 200) as server:
        client = make_client(server.url, pool_size=8)
        threads = [
            threading.Thread(target=lambda: [client.get_preset_list(withDetail=0) for _ in range(20)]) for _ in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        opened = client.transport.connections_opened
        assert len(server.requests) == 160
        assert opened <= 8, "never more connections than requests at once"
        assert len({r.client_port for r in server.requests}) == opened
        client.close()
        assert client.transport.idle() == 0


def test_the_pool_keeps_at_most_pool_size_idle_connections():
    with ScriptedServer([Reply(200, {"presetList": [], "errNum": 0})] * 100) as server:
        client = make_client(server.url, pool_size=2)
        barrier = threading.Barrier(6)

        def call() -> None:
            barrier.wait()
            client.get_preset_list(withDetail=0)

        threads = [threading.Thread(target=call) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert client.transport.idle() <= 2
        client.close()


def test_close_closes_the_kept_alive_connections():
    def serve(n, rfile, conn, server):
        while server.read(n, rfile) is not None:
            conn.sendall(answer())

    server = RawServer(serve)
    try:
        client = make_client(server.url)
        for n in range(3):
            client.del_preset(preset=f"p{n}")
        assert {n for n, _ in server.requests} == {0}, "one connection, kept alive"
        client.close()
        assert client.transport.idle() == 0
        assert server.ended.acquire(timeout=30), "the server saw the connection closed"
    finally:
        server.close()


# --- what was sent, and what may be sent again ---------------------------------------------


def test_a_connection_the_server_closed_while_idle_is_replaced_even_for_a_create():
    def serve(n, rfile, conn, server):
        if server.read(n, rfile) is not None:
            conn.sendall(answer(200, json.dumps(CREATED).encode()))  # then closes, saying nothing

    server = RawServer(serve)
    try:
        client = make_client(server.url, retry=RetryPolicy(max_attempts=1))
        assert client.create_task(task(1)) == TASK
        wait_until_readable(client.transport._idle[-1].sock)
        assert client.create_task(task(2)) == TASK, "sent over a new connection, not lost in the closed one"
        assert [n for n, _ in server.requests] == [0, 1]
        assert [json.loads(r.body)["dstObjectKey"] for _, r in server.requests] == ["1.mp4", "2.mp4"]
    finally:
        server.close()


def test_a_request_the_kernel_refused_on_a_kept_alive_connection_goes_once_over_a_new_one():
    """The first connection cannot be written to any more (as when a reset arrives just
    after the pool's check): not a byte of the CreateTask left, so it is sent again at once."""

    def serve(n, rfile, conn, server):
        if server.read(n, rfile) is not None:
            conn.sendall(answer(200, json.dumps(CREATED).encode()))
        if n == 0:
            server.release.wait(60)  # holds the connection open, reading nothing more
            return
        while server.read(n, rfile) is not None:
            conn.sendall(answer(200, json.dumps(CREATED).encode()))

    server = RawServer(serve)
    try:
        client = make_client(server.url, retry=RetryPolicy(max_attempts=1))
        assert client.create_task(task(1)) == TASK
        client.transport._idle[-1].sock.shutdown(socket.SHUT_WR)
        assert client.create_task(task(2)) == TASK
        assert [(n, json.loads(r.body)["dstObjectKey"]) for n, r in server.requests] == [(0, "1.mp4"), (1, "2.mp4")]
        assert client.calls == {"CreateTask": 2}, "one attempt each"
    finally:
        server.close()


def test_a_write_lost_on_a_kept_alive_connection_is_never_sent_again():
    with ScriptedServer([Reply(200, CREATED), Drop(), Reply(200, CREATED)]) as server:
        client = make_client(server.url)
        client.create_task(task(1))
        with pytest.raises(OutcomeUnknown) as info:
            client.create_task(task(2))
    assert len(server.requests) == 2
    assert server.requests[0].client_port == server.requests[1].client_port, "the kept-alive connection"
    assert "ConnectionLost" in info.value.reason


def test_a_read_lost_on_a_kept_alive_connection_is_sent_again():
    listed = {"presetList": [{"preset": "p1"}], "errNum": 0}
    with ScriptedServer([Reply(200, listed), Drop(), Reply(200, listed)]) as server:
        client = make_client(server.url)
        client.get_preset_list(withDetail=0)
        assert client.get_preset_list(withDetail=0) == listed["presetList"]
    assert len(server.requests) == 3


def test_a_connect_timeout_sent_nothing_so_even_a_create_is_tried_again():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    queued = socket.create_connection(("127.0.0.1", port))  # the accept queue is full: SYNs go unanswered
    try:
        client = make_client(f"http://127.0.0.1:{port}/", connect_timeout=0.2, retry=RetryPolicy(max_attempts=2))
        with pytest.raises(ServiceUnreachable) as info:
            client.create_task(task(1))
    finally:
        queued.close()
        listener.close()
    assert "after 2 attempts" in str(info.value) and "ConnectTimeout" in str(info.value)
    assert client.calls == {"CreateTask": 2}


# --- answers of every form -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "body", "headers", "kept"),
    [
        (
            b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"a":\r\n3\r\n 1}\r\n0\r\n\r\n',
            b'{"a": 1}',
            {"transfer-encoding": "chunked"},
            True,
        ),
        (b"HTTP/1.0 200 OK\r\nX-Request-Id: r1\r\n\r\n{}", b"{}", {"x-request-id": "r1"}, False),
        (b"HTTP/1.1 100 Continue\r\n\r\n" + answer(201, b"[]", "Retry-After: 3"), b"[]", {"retry-after": "3"}, True),
        (
            answer(503, b"", "X-Note: folded", " over two lines", "Via: a", "Via: b"),
            b"",
            {"x-note": "folded over two lines", "via": "a, b"},
            True,
        ),
        (answer(200, b"{}", "Connection: close"), b"{}", {"connection": "close"}, False),
    ],
    ids=["chunked", "http-1.0-until-close", "100-continue", "folded-and-repeated", "connection-close"],
)
def test_answers_of_every_form_are_read_whole(raw, body, headers, kept):
    def serve(n, rfile, conn, server):
        while server.read(n, rfile) is not None:
            conn.sendall(raw)
            if not kept:
                return

    server = RawServer(serve)
    try:
        transport = Transport(server.url)
        first = transport.request("GET", server.url, [])
        second = transport.request("GET", server.url, [])
        transport.close()
    finally:
        server.close()
    assert first.body == second.body == body
    assert headers.items() <= dict(first.headers).items()
    assert [n for n, _ in server.requests] == ([0, 0] if kept else [0, 1])


# --- TLS -------------------------------------------------------------------------------------


@pytest.fixture
def authority(tmp_path):
    made = make_authority(tmp_path)
    if made is None:
        pytest.skip("the openssl command is not installed: no certificates for the TLS tests")
    return made


def tls_server(authority, steps) -> ScriptedServer:
    server = ScriptedServer(steps)
    server.httpd.socket = authority.server_context().wrap_socket(server.httpd.socket, server_side=True)
    server.url = f"https://localhost:{server.httpd.server_address[1]}/"
    return server


def test_an_unverified_certificate_is_refused_at_once_and_nothing_is_sent(authority):
    sleeps: list[float] = []
    with tls_server(authority, [Reply()]) as server:
        with pytest.raises(ServiceUnreachable) as info:
            make_client(server.url, sleep=sleeps.append).create_task(task(1))
    assert "CertificateError" in str(info.value) and "did not verify" in str(info.value)
    assert server.requests == [] and sleeps == [], "not sent, and not tried again"


def test_a_certificate_of_a_trusted_authority_is_accepted(authority, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(authority.ca))
    with tls_server(authority, [Reply(200, CREATED)]) as server:
        assert make_client(server.url).create_task(task(1)) == TASK
    assert json.loads(server.requests[0].body) == task(1)
    assert dict(server.requests[0].headers)["Host"] == server.url.split("/")[2]


# --- proxies ---------------------------------------------------------------------------------


@pytest.fixture
def proxy():
    made = LoopbackProxy(credentials="presetsync:p@ss word")
    yield made
    made.close()


def test_http_goes_through_the_environments_proxy_with_its_credentials(proxy, local_service, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", proxy.url("presetsync:p%40ss%20word"))
    client = make_client(local_service.url, credentials=local_service.credentials)
    client.preset(PRESET_BODY)  # signed for the service's host: the service checks the signature
    assert [p["preset"] for p in client.get_preset_list(withDetail=0)] == ["p1"]
    lines = [request.line for request in proxy.seen]
    origin = local_service.url.rstrip("/")
    assert lines == [f"POST {origin}/ HTTP/1.1", f"GET {origin}/?withDetail=0 HTTP/1.1"], "absolute-form"
    expected = "Basic " + base64.b64encode(b"presetsync:p@ss word").decode()
    assert all(request.header("Proxy-Authorization") == expected for request in proxy.seen)
    assert all(request.header("Host") == origin.split("//")[1] for request in proxy.seen)


def test_no_proxy_sends_straight_to_the_service(proxy, local_service, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", proxy.url())
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    client = make_client(local_service.url, credentials=local_service.credentials)
    assert client.get_preset_list(withDetail=0) == []
    assert proxy.seen == []


def test_https_goes_through_a_connect_tunnel_and_is_verified_end_to_end(authority, proxy, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", proxy.url("presetsync:p%40ss%20word"))
    monkeypatch.setenv("SSL_CERT_FILE", str(authority.ca))
    with tls_server(authority, [Reply(200, CREATED)] * 2) as server:
        client = make_client(server.url)
        assert [client.create_task(task(n)) for n in range(2)] == [TASK, TASK]
    port = server.url.split(":")[2].rstrip("/")
    # one tunnel, reused (http.client says HTTP/1.0 before Python 3.12, HTTP/1.1 since)
    assert [request.line.rsplit("/", 1)[0] for request in proxy.seen] == [f"CONNECT localhost:{port} HTTP"]
    assert [json.loads(r.body) for r in server.requests] == [task(0), task(1)]


def test_a_proxy_refusing_the_tunnel_sent_nothing(authority, proxy, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", proxy.url())  # no credentials: 407
    with tls_server(authority, [Reply()]) as server:
        with pytest.raises(ServiceUnreachable) as info:
            make_client(server.url, retry=RetryPolicy(max_attempts=2)).create_task(task(1))
    assert "407" in str(info.value) and "after 2 attempts" in str(info.value)
    assert server.requests == []
