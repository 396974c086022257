"""The connections of :mod:`.transport`: http.client's, with three changes.

* Timeouts in two parts: connecting (TCP, a proxy tunnel, the TLS handshake) within the
  connect timeout, then every read and write within the read timeout.
* A count of the bytes the kernel accepted for the request being written
  (:attr:`Connection.bytes_sent`): zero after a failure means nothing of it left this host.
* The header block and the body in one write (http.client writes them in two: two system
  calls, two TCP segments, and a server that may need two reads).
* Answers read without the email package (:class:`Answer`).
"""

from __future__ import annotations

import http.client
import select
import socket
import ssl
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from http.client import _DataType

_MAX_LINE = 65536  # as http.client: the longest status or header line, ...
_MAX_HEADERS = 100  # ... and the most header lines of an answer


class Answer(http.client.HTTPResponse):
    """http.client's answer, with its status and header lines read by a plain loop instead
    of the email package's parser, which costs ten times more: a fifth of the client's CPU
    per request. The rest (the body, chunked or not; keep-alive or close) is http.client's.

    ``fields`` has the headers by lower-case name (repeated ones joined with ``", "``).
    """

    fields: dict[str, str]

    def begin(self) -> None:
        # http.client's HTTPResponse.begin (the same in Python 3.9 to 3.13), but for the parser
        while True:
            version, status, reason = self._status_line()
            if status != http.client.CONTINUE:
                break
            self._header_lines()  # those of a "100 Continue": skipped
        self.status, self.reason = status, reason.strip()
        if version in ("HTTP/1.0", "HTTP/0.9"):
            self.version = 10
        elif version.startswith("HTTP/1."):
            self.version = 11
        else:
            raise http.client.UnknownProtocol(version)
        self.headers = self.msg = http.client.HTTPMessage()
        fields: dict[str, str] = {}
        for name, value in self._header_lines():
            self.headers[name] = value
            key = name.lower()
            fields[key] = f"{fields[key]}, {value}" if key in fields else value
        self.fields = fields
        self.chunked = fields.get("transfer-encoding", "").lower() == "chunked"
        self.chunk_left = None
        connection = fields.get("connection", "").lower()
        if self.version == 11:
            self.will_close = "close" in connection
        else:  # HTTP/1.0 closes unless it says otherwise
            self.will_close = not ("keep-alive" in fields or "keep-alive" in connection)
        self.length = None
        if not self.chunked and fields.get("content-length", "").strip().isdigit():
            self.length = int(fields["content-length"])
        if status in (http.client.NO_CONTENT, http.client.NOT_MODIFIED) or 100 <= status < 200:
            self.length = 0
        if not self.chunked and self.length is None:
            self.will_close = True  # the body ends when the connection does

    def _line(self, what: str) -> str:
        line = self.fp.readline(_MAX_LINE + 1)
        if len(line) > _MAX_LINE:
            raise http.client.LineTooLong(what)
        return line.decode("iso-8859-1")

    def _status_line(self) -> tuple[str, int, str]:
        line = self._line("status line")
        if not line:
            raise http.client.RemoteDisconnected("Remote end closed connection without response")
        version, _, rest = line.strip().partition(" ")
        code, _, reason = rest.strip().partition(" ")
        if not version.startswith("HTTP/") or not (code.isdigit() and 100 <= int(code) <= 999):
            raise http.client.BadStatusLine(line)
        return version, int(code), reason

    def _header_lines(self) -> list[tuple[str, str]]:
        """``(name, value)`` of each header line; a line starting with white space continues
        the previous one (obsolete line folding)."""
        pairs: list[tuple[str, str]] = []
        for _ in range(_MAX_HEADERS + 1):
            line = self._line("header line")
            if line in ("\r\n", "\n", ""):
                return pairs
            if line[0] in " \t" and pairs:
                name, value = pairs[-1]
                pairs[-1] = (name, f"{value} {line.strip()}")
                continue
            name, colon, value = line.partition(":")
            if colon:
                pairs.append((name.strip(), value.strip()))
        raise http.client.HTTPException(f"got more than {_MAX_HEADERS} headers")


class Connection(http.client.HTTPConnection):
    """One connection: timeouts split into connect and read, and a count of the bytes the
    kernel accepted for the request being written (what tells an unsent request)."""

    auto_open = 0  # never reconnect behind the pool's back
    response_class = Answer

    def __init__(self, host: str, port: int, connect_timeout: float, read_timeout: float, **options: Any) -> None:
        super().__init__(host, port, timeout=connect_timeout, **options)  # options: HTTPSConnection's context
        self.read_timeout = read_timeout
        self.bytes_sent = 0
        self._hold = False  # keep the next write back, to send it with the one after
        self._held = b""

    def write_request(self, method: str, target: str, headers: Sequence[tuple[str, str]], body: bytes) -> None:
        """Write one request: the request line, ``Host`` and ``Accept-Encoding`` (http.client's),
        *headers* in their order, then *body*, all in one write."""
        self.bytes_sent = 0
        self.putrequest(method, target)
        for name, value in headers:
            self.putheader(name, value)
        self._hold = bool(body)
        try:
            self.endheaders(body or None)  # the header block is held, then sent with the body
        finally:
            self._hold = False
        if self._held:  # (had http.client sent both at once, nothing would be held)
            self.send(b"")

    def connect(self) -> None:
        super().connect()  # TCP, then the proxy tunnel, then TLS: all within the connect timeout
        self.sock.settimeout(self.read_timeout)

    def send(self, data: _DataType | str) -> None:
        if not isinstance(data, bytes):  # http.client gives bytes; anything else the usual way
            super().send(data)
            return
        if self._hold:
            self._hold, self._held = False, data
            return
        if self._held:
            data, self._held = self._held + data, b""
        sock = self.sock
        if sock is None:
            raise http.client.NotConnected()
        sys.audit("http.client.send", self, data)
        view = memoryview(data)
        while view:
            count = sock.send(view)
            self.bytes_sent += count
            view = view[count:]


class TLSConnection(Connection, http.client.HTTPSConnection):
    def __init__(
        self, host: str, port: int, connect_timeout: float, read_timeout: float, context: ssl.SSLContext
    ) -> None:
        # the transport's context (made once) goes on to HTTPSConnection, next in the MRO
        super().__init__(host, port, connect_timeout, read_timeout, context=context)


def readable(sock: socket.socket) -> bool:
    """Whether *sock* can be read without blocking (at EOF included)."""
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return True
    try:
        if hasattr(select, "poll"):
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            return bool(poller.poll(0))
        return bool(select.select([sock], [], [], 0)[0])
    except (OSError, ValueError):
        return True
