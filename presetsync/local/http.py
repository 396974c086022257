"""The local service's HTTP side: reading requests and writing answers.

:class:`RequestHandler` takes one request through the steps listed in
:mod:`presetsync.local.server` up to the operation: counting it, fault injection (refuse,
throttle, drop the connection), reading the body within its limit (413 when too large, 411
when chunked, 408 when late), then the service's ``_process`` (authentication, routing,
method and version checks, the operation); it writes the JSON answer in one write.
:class:`ServiceHTTPServer` accepts connections, each on its own daemon thread, and knows them
so that the service can close them when it stops. Reads are timed by the connection's
deadline: ``idle_timeout`` between requests, ``request_timeout`` for a whole request from its
first byte.
"""

from __future__ import annotations

import io
import logging
import selectors
import socket
import sys
import threading
import time
import uuid
from collections.abc import Mapping
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Union
from urllib.parse import parse_qsl

from .faults import Fault
from .protocol import (
    BAD_REQUEST,
    INTERNAL_ERROR,
    LENGTH_REQUIRED,
    REQUEST_TIMEOUT,
    THROTTLED,
    TOO_LARGE,
    UNAVAILABLE,
    AppError,
    encode,
)

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

    from .server import LocalService

log = logging.getLogger("presetsync.local")

DROPPED = "dropped"
#: What socketserver hands a server for each request: a TCP server's is its connection.
_Request = Union[socket.socket, tuple[bytes, socket.socket]]


class _DeadlineReader(io.RawIOBase):
    """A connection's reads: waiting for a request for at most *idle* seconds; from the first
    byte of a request (until :meth:`next_request`), the rest must come within *limit*
    seconds in all, however slowly it trickles. Late: ``socket.timeout``."""

    def __init__(self, sock: socket.socket, idle: float, limit: float):
        self._sock = sock
        self._idle = idle
        self._limit = limit
        self._deadline: float | None = None

    def readable(self) -> bool:
        return True

    def next_request(self) -> None:
        self._deadline = None

    def readinto(self, buffer: WriteableBuffer) -> int:
        if self._deadline is None:
            self._sock.settimeout(self._idle)
        else:
            remaining = self._deadline - time.monotonic()
            if remaining <= 0:
                raise socket.timeout(f"the request did not arrive within {self._limit:g} s")
            self._sock.settimeout(remaining)
        count = self._sock.recv_into(buffer)
        if self._deadline is None:
            self._deadline = time.monotonic() + self._limit
        return count


class RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    server_version = "presetsync-local"
    disable_nagle_algorithm = True
    timeout = None  # reads are timed by _DeadlineReader, writes in _send
    server: ServiceHTTPServer

    def setup(self) -> None:
        super().setup()
        service = self.server.service
        self.rfile.close()
        self._reader = _DeadlineReader(self.connection, service.idle_timeout, service.request_timeout)
        self.rfile = io.BufferedReader(self._reader)

    def handle_one_request(self) -> None:
        self._reader.next_request()
        super().handle_one_request()

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    # Methods no operation uses: answered 405 (with Allow) once authenticated and routed.
    def do_PUT(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s - %s", self.address_string(), format % args)

    def _read_body(self) -> bytes:
        """The body, read only once its Content-Length is known to be within the limit."""
        limit = self.server.service.max_body_bytes
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            raise AppError(
                LENGTH_REQUIRED,
                "a request body must come with a Content-Length (chunked bodies are refused)",
                status=411,
                code="LengthRequired",
            )
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        try:
            size = int(length)
        except ValueError:
            size = -1
        if size < 0:
            self.close_connection = True
            raise AppError(BAD_REQUEST, f"invalid Content-Length {length!r}", status=400, code="BadRequest")
        if size > limit:
            self.close_connection = True
            raise AppError(
                TOO_LARGE,
                f"the request body is {size} bytes, over the limit of {limit} bytes",
                status=413,
                code="PayloadTooLarge",
            )
        try:
            return self.rfile.read(size)
        except socket.timeout as exc:
            self.close_connection = True
            raise AppError(REQUEST_TIMEOUT, f"request timeout: {exc}", status=408, code="RequestTimeout") from None

    def _handle(self) -> None:
        service = self.server.service
        request_id = uuid.uuid4().hex
        started = time.perf_counter()
        path, _, query = self.path.partition("?")
        action = self.headers.get("X-Action") or ""
        params = dict(reversed(parse_qsl(query, keep_blank_values=True)))  # the first value wins
        service.stats.arrived(action or params.get("Action", ""))
        injector = service._injector  # read once: set_faults may swap it meanwhile
        fault = injector.decide(action or params.get("Action", ""))
        if injector.faults.latency_ms:
            time.sleep(injector.faults.latency_ms / 1000)
        headers: dict[str, str] = {}
        try:
            body = self._read_body()  # also when failing: the connection must stay in step
        except AppError as exc:
            fault, status, answer = Fault.NONE, exc.status, exc.body(request_id)
        else:
            if fault is Fault.FAIL:
                error = AppError(
                    UNAVAILABLE, "service unavailable (injected fault)", status=503, code="ServiceUnavailable"
                )
                status, answer = error.status, error.body(request_id)
            elif fault is Fault.THROTTLE:
                error = AppError(THROTTLED, "request rate exceeded (injected fault)", status=429, code="Throttling")
                status, answer = error.status, error.body(request_id)
            elif fault is not Fault.DROP_BEFORE:
                status, answer, headers = self._run(path, query, params, body, request_id)
        if fault in (Fault.DROP_BEFORE, Fault.DROP_AFTER):
            self.close_connection = True
            service.stats.answered(DROPPED)
            log.debug("%s %s: dropped the connection (%s)", request_id, action, fault.value)
            return
        service.stats.answered(status)  # before sending: a client that has the answer sees it counted
        self._send(status, encode(answer), request_id, headers)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s %s: HTTP %d in %.1f ms", request_id, action, status, (time.perf_counter() - started) * 1000)

    def _run(
        self, path: str, query: str, params: dict[str, str], body: bytes, request_id: str
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Authenticate, route and run the request; errors become their answers.
        Returns (HTTP status, body, extra headers)."""
        service = self.server.service
        try:
            return 200, service._process(self.command, path, query, params, self.headers.items(), body), {}
        except AppError as exc:
            return exc.status, exc.body(request_id, service.error_numbering), exc.headers
        except Exception:
            log.exception("%s: internal error", request_id)
            error = AppError(INTERNAL_ERROR, "internal error", status=500, code="InternalError")
            return error.status, error.body(request_id), {}

    def _send(self, status: int, payload: bytes, request_id: str, headers: Mapping[str, str] | None = None) -> None:
        """Status line, headers and body in one write (no Nagle stall between them)."""
        lines = [
            f"HTTP/1.1 {status} {HTTPStatus(status).phrase}",
            f"Server: {self.server_version}",
            f"Date: {formatdate(usegmt=True)}",
            "Content-Type: application/json",
            f"Content-Length: {len(payload)}",
            f"X-Request-Id: {request_id}",
            *(f"{name}: {value}" for name, value in (headers or {}).items()),
        ]
        if self.close_connection:
            lines.append("Connection: close")
        self.connection.settimeout(self.server.service.request_timeout)  # a client that does not read
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload)


class ServiceHTTPServer(ThreadingHTTPServer):
    """ThreadingHTTPServer that knows its open connections, so that stop() can close them,
    and whose accept loop sleeps until a connection or :meth:`wake_to_stop` (no polling)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], service: LocalService):
        self.service = service
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self._connections: set[socket.socket] = set()
        self._idle = threading.Condition()
        self._wake_r, self._wake_w = socket.socketpair()
        super().__init__(address, RequestHandler)

    def accept_loop(self) -> None:
        """Accept connections (each gets its thread) until :meth:`wake_to_stop`."""
        with selectors.DefaultSelector() as selector:
            selector.register(self, selectors.EVENT_READ)
            selector.register(self._wake_r, selectors.EVENT_READ)
            while True:
                for key, _ in selector.select():
                    if key.fileobj is self._wake_r:
                        return
                    self._handle_request_noblock()  # type: ignore[attr-defined]  # socketserver's step, not in typeshed

    def handle_error(self, request: _Request, client_address: object) -> None:
        """A client that went away mid-answer is routine; anything else is logged (not printed)."""
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            log.debug("connection from %s ended: %s", client_address, exc)
        else:
            log.error("error while serving %s", client_address, exc_info=True)

    def wake_to_stop(self) -> None:
        self._wake_w.send(b"x")

    def server_close(self) -> None:
        super().server_close()
        self._wake_r.close()
        self._wake_w.close()

    def process_request(self, request: _Request, client_address: object) -> None:
        if isinstance(request, socket.socket):  # always: a TCP server's request is its connection
            with self._idle:
                self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: _Request) -> None:
        try:
            super().shutdown_request(request)
        finally:
            with self._idle:
                if isinstance(request, socket.socket):
                    self._connections.discard(request)
                self._idle.notify_all()

    def close_connections(self, timeout: float) -> bool:
        """Shut every open connection and wait for their threads; False if some lingered."""
        with self._idle:
            for sock in list(self._connections):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            return self._idle.wait_for(lambda: not self._connections, timeout)
