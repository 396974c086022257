"""Loopback servers for the transport tests: a raw HTTP server scripted per connection, an
HTTP proxy (absolute-form requests and CONNECT tunnels, optionally asking for credentials)
and a throwaway certificate authority made with the openssl command.
"""

from __future__ import annotations

import base64
import shutil
import socket
import ssl
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit


@dataclass
class Request:
    """One request as a server read it: the request line, the headers in order, the body."""

    line: str
    headers: list[tuple[str, str]]
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return next((v for n, v in self.headers if n.lower() == name.lower()), None)


def read_request(rfile) -> Request | None:
    """The next request on *rfile* (None when the client closed the connection first)."""
    line = rfile.readline()
    if not line:
        return None
    headers = []
    while True:
        raw = rfile.readline()
        if raw in (b"\r\n", b"\n", b""):
            break
        name, _, value = raw.decode("latin-1").partition(":")
        headers.append((name.strip(), value.strip()))
    request = Request(line.decode("latin-1").rstrip("\r\n"), headers)
    length = int(request.header("Content-Length") or 0)
    request.body = rfile.read(length) if length else b""
    return request


def answer(status: int = 200, body: bytes = b'{"errNum": 0, "errMsg": "success"}', *headers: str) -> bytes:
    """A keep-alive HTTP/1.1 answer with a Content-Length."""
    head = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}", *headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


class RawServer:
    """Accepts connections on 127.0.0.1; each is handled by ``serve(n, rfile, conn, server)``
    in a thread of its own (*n*: 0 for the first connection, 1 for the second...). Every
    request read through :meth:`read` is kept in ``requests`` as ``(n, Request)``; ``ended``
    counts the connections whose client closed them (seen as end of file)."""

    def __init__(self, serve):
        self.serve = serve
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        self.requests: list[tuple[int, Request]] = []
        self.ended = threading.Semaphore(0)
        self.release = threading.Event()  # what a handler holding a connection waits for
        self._conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        n = 0
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self._conns.append(conn)
            threading.Thread(target=self._handle, args=(n, conn), daemon=True).start()
            n += 1

    def _handle(self, n: int, conn: socket.socket) -> None:
        with conn, conn.makefile("rb") as rfile:
            try:
                self.serve(n, rfile, conn, self)
            except OSError:
                pass

    def read(self, n: int, rfile) -> Request | None:
        request = read_request(rfile)
        if request is None:
            self.ended.release()
        else:
            self.requests.append((n, request))
        return request

    def close(self) -> None:
        self.release.set()
        self.sock.close()
        for conn in self._conns:
            try:
                conn.close()
            except OSError:
                pass


@dataclass
class LoopbackProxy:
    """An HTTP proxy on 127.0.0.1: ``seen`` has each request it was sent (a CONNECT, or an
    absolute-form request it forwards to the origin); with *credentials* ("user:password")
    it answers 407 to requests without them. Forwarded requests carry ``Connection: close``."""

    credentials: str | None = None
    seen: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.server = RawServer(self._serve)
        self.port = self.server.port

    def url(self, userinfo: str = "") -> str:
        return f"http://{userinfo + '@' if userinfo else ''}127.0.0.1:{self.port}"

    def close(self) -> None:
        self.server.close()

    def _serve(self, n, rfile, conn, server) -> None:
        request = read_request(rfile)
        if request is None:
            return
        self.seen.append(request)
        method, target, _ = request.line.split(" ", 2)
        if self.credentials is not None:
            expected = "Basic " + base64.b64encode(self.credentials.encode()).decode()
            if request.header("Proxy-Authorization") != expected:
                conn.sendall(answer(407, b"", "Proxy-Authenticate: Basic"))
                return
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            with socket.create_connection((host, int(port)), timeout=30) as upstream:
                conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                _pipe(rfile, conn, upstream)
            return
        parts = urlsplit(target)
        forwarded = [(n, v) for n, v in request.headers if n.lower() not in ("proxy-authorization", "connection")]
        head = [f"{method} {parts.path or '/'}{'?' + parts.query if parts.query else ''} HTTP/1.1"]
        head += [f"{n}: {v}" for n, v in forwarded] + ["Connection: close"]
        with socket.create_connection((parts.hostname, parts.port or 80), timeout=30) as upstream:
            upstream.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + request.body)
            while data := upstream.recv(65536):
                conn.sendall(data)


def _pipe(rfile, client: socket.socket, upstream: socket.socket) -> None:
    """Relay bytes both ways until either side closes."""
    thread = threading.Thread(target=_relay, args=(upstream.recv, client), daemon=True)
    thread.start()
    _relay(rfile.read1, upstream)
    thread.join(30)


def _relay(read, to: socket.socket) -> None:
    """Send what *read* gives to *to* until it gives nothing (or fails); then shut *to* down."""
    try:
        while data := read(65536):
            to.sendall(data)
    except OSError:
        pass
    finally:
        try:
            to.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


@dataclass
class Authority:
    """A certificate authority (``ca``: its certificate file) and a server certificate it
    signed for localhost and 127.0.0.1 (``cert``, ``key``)."""

    ca: Path
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        return context


def make_authority(directory: Path) -> Authority | None:
    """A new authority in *directory*, or None when the openssl command is missing."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    (directory / "server.ext").write_text(
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nauthorityKeyIdentifier=keyid\nsubjectKeyIdentifier=hash\n"
    )
    ca = ["-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=presetsync test"]
    signed = ["-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem", "-days", "2"]
    for args in (
        ["req", "-x509", *key, *ca, "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        ["req", "-new", *key, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"],
        ["x509", "-req", "-in", "server.csr", *signed, "-extfile", "server.ext"],
    ):
        subprocess.run([openssl, *args], cwd=directory, check=True, capture_output=True, timeout=60)
    return Authority(directory / "ca.pem", directory / "server.pem", directory / "server.key")
