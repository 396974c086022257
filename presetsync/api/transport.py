"""HTTP/1.1 for the client, on the standard library's http.client: keep-alive connections in
a bounded, thread-safe pool, connect and read timeouts, TLS with certificate verification,
and the proxies of the environment.

Why not requests: with it the client spent three times the CPU per request, and the client
needs to know one thing requests does not tell precisely: whether any byte of a request may
have reached the server. Every failure is a :class:`TransportError` whose ``sent`` says so:

* ``sent`` is False when the connection could not be made (refused, no such host, connect
  timeout, TLS handshake, proxy tunnel) or when the kernel accepted not one byte of the
  request: nothing can have been done, so even a CreateTask may be sent again;
* otherwise the server may have received the request and acted on it (a reset or a close
  before the whole answer, a read timeout).

A pooled connection may have been closed by the server while it was idle. Before reuse it
is checked, as urllib3 does: a socket that is readable while no request is pending has
been closed (or holds bytes nobody asked for), so it is dropped and another one is used. If
the server closes it in the instant between that check and the request, either the kernel
refuses the first write (nothing was sent: the request goes at once over a new connection),
or the request was accepted and the answer never comes: ``sent`` is True, and a write is
not re-sent, since a server that crashed after acting looks the same from here.

The request goes out as http.client writes it: the request line, ``Host`` and
``Accept-Encoding: identity`` (the two headers the official SDK's transport added), then the
caller's headers in the caller's order, in one write together with the body. The
connections themselves, and how an answer is read, are in :mod:`.connection`.
"""

from __future__ import annotations

import base64
import http.client
import socket
import ssl
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import unquote, urlsplit
from urllib.request import getproxies, proxy_bypass

from ..errors import ConfigError
from .connection import Answer, Connection, TLSConnection, readable

DEFAULT_PORTS = {"http": 80, "https": 443}


class TransportError(Exception):
    """No HTTP answer. ``sent``: whether the server may have received the request;
    ``retriable``: whether trying again can help."""

    sent = True
    retriable = True


class ConnectFailed(TransportError):
    """The connection could not be made: nothing was sent."""

    sent = False


class ConnectTimeout(ConnectFailed):
    """The connection (TCP, proxy tunnel or TLS handshake) took longer than the connect timeout."""


class CertificateError(ConnectFailed):
    """The server's TLS certificate did not verify: trying again cannot help."""

    retriable = False


class NotSent(TransportError):
    """The connection broke before the kernel accepted any byte of the request."""

    sent = False


class ReadTimeout(TransportError):
    """The request was sent and no (whole) answer came within the read timeout."""


class ConnectionLost(TransportError):
    """The connection broke after the request was sent, before the whole answer came."""


@dataclass(frozen=True)
class Response:
    """A whole answer: status, headers (names in lower case) and body."""

    status: int
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class Proxy:
    """An HTTP proxy: ``headers`` go to the proxy itself (its credentials, when given)."""

    host: str
    port: int
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, url: str, variable: str = "the proxy") -> Proxy:
        """``[http://][user:password@]host[:port]``, as the ``*_proxy`` variables hold it."""
        parts = urlsplit(url if "://" in url else f"http://{url}")
        if parts.scheme != "http" or not parts.hostname:
            raise ConfigError(f"{variable} {url!r} must be an http:// proxy URL with a host name")
        try:
            port = parts.port or 80
        except ValueError:
            raise ConfigError(f"{variable} {url!r} has an invalid port") from None
        headers = {}
        if parts.username is not None:
            pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
            headers["Proxy-Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        return cls(parts.hostname, port, headers)


def environment_proxy(url: str) -> Proxy | None:
    """The proxy the environment gives for *url* (``http_proxy``, ``https_proxy``,
    ``all_proxy``, ``no_proxy``, as urllib.request reads them), or None."""
    parts = urlsplit(url)
    proxies = getproxies()
    chosen = proxies.get(parts.scheme) or proxies.get("all")
    if not chosen or proxy_bypass(parts.netloc):
        return None
    return Proxy.parse(chosen, f"the {parts.scheme}_proxy setting")


class Transport:
    """Requests to one origin (``scheme://host[:port]``), over pooled keep-alive connections.

    Thread-safe: each request takes an idle connection (the most recently used one) or opens
    a new one, and gives it back afterwards; at most *pool_size* idle connections are kept,
    more requests at once open more connections, closed after use. :meth:`close` closes the
    idle ones; a connection in use is closed when it comes back.
    """

    def __init__(
        self,
        endpoint: str,
        *,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        pool_size: int = 16,
        proxy: Proxy | Literal["environment"] | None = "environment",
        context: ssl.SSLContext | None = None,
    ) -> None:
        parts = urlsplit(endpoint)
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
            raise ValueError(f"not an http:// or https:// URL: {endpoint!r}")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or DEFAULT_PORTS[parts.scheme]
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.proxy: Proxy | None = environment_proxy(endpoint) if isinstance(proxy, str) else proxy
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.pool_size = max(1, pool_size)
        self._context: ssl.SSLContext | None = None
        if self.scheme == "https" and context is None:
            context = ssl.create_default_context()  # the system's CAs; verifies the certificate and host name
            context.set_alpn_protocols(["http/1.1"])
        if self.scheme == "https":
            self._context = context
        self._idle: list[Connection] = []
        self._lock = threading.Lock()
        self._closed = False
        self.connections_opened = 0

    def __repr__(self) -> str:
        via = f" via proxy {self.proxy.host}:{self.proxy.port}" if self.proxy else ""
        return f"Transport({self.origin}{via})"

    # -- requests -----------------------------------------------------------------------------

    def request(self, method: str, url: str, headers: Sequence[tuple[str, str]], body: bytes = b"") -> Response:
        """Send one request to *url* (on this transport's origin) and read the whole answer.

        *headers* go out in their order after ``Host`` and ``Accept-Encoding``; nothing else
        is added (a body needs its ``Content-Length`` among them). Raises
        :class:`TransportError` when no answer came.
        """
        target = self._target(url)
        if self.proxy is not None and self.scheme == "http":
            headers = [*headers, *self.proxy.headers.items()]
        conn = self._idle_connection()
        if conn is not None:
            try:
                return self._exchange(conn, method, target, headers, body)
            except NotSent:
                pass  # the server closed it meanwhile, and nothing of this request left: a new one
        return self._exchange(self._connect(), method, target, headers, body)

    def _exchange(
        self, conn: Connection, method: str, target: str, headers: Sequence[tuple[str, str]], body: bytes
    ) -> Response:
        """One request and its whole answer on *conn*; the connection goes back to the pool
        if it can be used again, else it is closed."""
        try:
            answer, data = self._write_and_read(conn, method, target, headers, body)
        except BaseException:
            conn.close()
            raise
        if answer.will_close or conn.sock is None:
            conn.close()
        else:
            self._release(conn)
        return Response(answer.status, answer.fields, data)

    def _target(self, url: str) -> str:
        """The request target: the path and query, or the whole URL through an http proxy."""
        if not url.startswith(self.origin) or url[len(self.origin) : len(self.origin) + 1] not in ("/", "?", ""):
            raise ValueError(f"{url!r} is not on {self.origin}")
        if self.proxy is not None and self.scheme == "http":
            return url
        target = url[len(self.origin) :].split("#", 1)[0]
        return target if target.startswith("/") else "/" + target

    def _write_and_read(
        self, conn: Connection, method: str, target: str, headers: Sequence[tuple[str, str]], body: bytes
    ) -> tuple[Answer, bytes]:
        try:
            conn.write_request(method, target, headers, body)
        except OSError as exc:
            if conn.bytes_sent == 0:
                raise NotSent(f"{_describe(exc)} before the request was sent") from exc
            if isinstance(exc, socket.timeout):
                raise ReadTimeout(f"the request could not be sent within {self.read_timeout:g} s") from exc
            raise ConnectionLost(f"{_describe(exc)} while sending the request") from exc
        try:
            answer = conn.getresponse()
            assert isinstance(answer, Answer)
            return answer, answer.read()
        except socket.timeout as exc:
            raise ReadTimeout(f"no answer from {self.origin} within {self.read_timeout:g} s") from exc
        except (OSError, http.client.HTTPException) as exc:
            raise ConnectionLost(f"{_describe(exc)} before the whole answer came") from exc

    # -- connections ----------------------------------------------------------------------------

    def _connect(self) -> Connection:
        """A new connection, made: to the origin, or to the proxy (tunnelled for https)."""
        host, port = (self.host, self.port) if self.proxy is None else (self.proxy.host, self.proxy.port)
        if self._context is None:
            conn = Connection(host, port, self.connect_timeout, self.read_timeout)
        else:
            conn = TLSConnection(host, port, self.connect_timeout, self.read_timeout, self._context)
            if self.proxy is not None:
                conn.set_tunnel(self.host, self.port, headers=dict(self.proxy.headers))
        where = f"{host}:{port}" + (" (the proxy)" if self.proxy else "")
        try:
            conn.connect()
        except ssl.SSLCertVerificationError as exc:
            conn.close()
            raise CertificateError(f"the TLS certificate of {self.host} did not verify: {exc.verify_message}") from exc
        except socket.timeout as exc:
            conn.close()
            raise ConnectTimeout(f"connecting to {where} took longer than {self.connect_timeout:g} s") from exc
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise ConnectFailed(f"{_describe(exc)} connecting to {where}") from exc
        with self._lock:
            self.connections_opened += 1
        return conn

    def _idle_connection(self) -> Connection | None:
        """The most recently used idle connection that the server has not closed, or None."""
        while True:
            with self._lock:
                if not self._idle:
                    return None
                conn = self._idle.pop()
            if conn.sock is not None and not readable(conn.sock):
                return conn
            conn.close()

    def _release(self, conn: Connection) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < self.pool_size:
                self._idle.append(conn)
                return
        conn.close()

    def idle(self) -> int:
        """How many connections wait in the pool."""
        with self._lock:
            return len(self._idle)

    def close(self) -> None:
        """Close the idle connections; those in use are closed when their request ends, and
        later requests use a connection each."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


def _describe(exc: BaseException) -> str:
    """``ConnectionRefusedError: [Errno 111] Connection refused``, briefly."""
    text = str(exc) or "no detail"
    return f"{type(exc).__name__}: {text}"
