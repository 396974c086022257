"""The local offline service over HTTP: :class:`LocalService`.

One request goes through these steps, in this order:

1. counted in :attr:`LocalService.stats` under the action it names (even if refused later);
2. fault injection decides its fate (:mod:`presetsync.local.faults`), before anything else;
   then the body is read, unless it is too large (``max_body_bytes``, from Content-Length:
   HTTP 413) or has no Content-Length (chunked: HTTP 411), both refused unread and before
   authentication;
3. the SigV4 signature is checked (:mod:`presetsync.local.auth`): 403 when refused;
4. routing: the action comes from the ``X-Action`` header (the official Python SDK) or the
   ``Action`` query parameter (the PHP SDK); the HTTP method must be the one the SDK sends
   for that operation (HTTP 405 with ``Allow`` otherwise), and the version ``2016-09-19``;
5. the operation runs (:mod:`presetsync.local.handlers`) in one store transaction.

Every answer is JSON with ``errNum``/``errMsg`` (table in :mod:`presetsync.local.protocol`)
and an ``X-Request-Id`` header. Connections are kept alive (HTTP/1.1); each connection has
its own daemon thread; :meth:`LocalService.stop` closes them all and waits for them. A
connection waits at most ``idle_timeout`` seconds for a request, and a request, once its
first byte arrived, must arrive whole (line, headers, body) within ``request_timeout``
seconds however slowly it trickles; otherwise the connection is closed (HTTP 408 when the
body was late), so a stalled client cannot hold a thread for long.

Example::

    with LocalService(tmp_path / "local.sqlite", task_durations=(0, 0)) as service:
        client = service.client()
        client.preset({"preset": "p1", "presettype": "avop", "param": {"f": "mp4"}})
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
from collections import Counter
from collections.abc import Mapping
from datetime import datetime, timezone, tzinfo
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable
from urllib.parse import parse_qsl

from ..api.client import OfflineClient
from ..api.credentials import Credentials
from ..api.operations import API_VERSION, OPERATIONS
from .auth import Authenticator, new_dev_account
from .faults import Fault, FaultInjector, Faults
from .handlers import Operations
from .protocol import (
    ACTION_MISMATCH,
    BAD_REQUEST,
    BAD_VERSION,
    INTERNAL_ERROR,
    LENGTH_REQUIRED,
    METHOD_NOT_ALLOWED,
    NOT_FOUND,
    REQUEST_TIMEOUT,
    THROTTLED,
    TOO_LARGE,
    UNAVAILABLE,
    UNKNOWN_ACTION,
    AppError,
    encode,
    error_numbering,
)
from .store import Store

if TYPE_CHECKING:
    from .worker import MediaWorkers

log = logging.getLogger("presetsync.local")

DEFAULT_TASK_DURATIONS = (1.0, 2.0)
DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024
DEFAULT_REQUEST_TIMEOUT = 10.0  # seconds for a whole request, from its first byte
DEFAULT_IDLE_TIMEOUT = 30.0  # seconds a connection may wait for its next request
DROPPED = "dropped"


class RequestStats:
    """What reached the service: requests per action (as named by the request, refused or
    not; ``""`` when none was named) and answers per HTTP status (or ``"dropped"``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._actions: Counter[str] = Counter()
        self._answers: Counter[int | str] = Counter()

    def arrived(self, action: str) -> None:
        with self._lock:
            self._actions[action] += 1

    def answered(self, status: int | str) -> None:
        with self._lock:
            self._answers[status] += 1

    def count(self, action: str | None = None) -> int:
        """Requests received for *action*, or for all actions when None."""
        with self._lock:
            return sum(self._actions.values()) if action is None else self._actions[action]

    @property
    def total(self) -> int:
        return self.count()

    def by_action(self) -> dict[str, int]:
        with self._lock:
            return dict(self._actions)

    def answers(self) -> dict[int | str, int]:
        """How requests were answered: ``{200: n, 403: n, "dropped": n, ...}``."""
        with self._lock:
            return dict(self._answers)

    def reset(self) -> None:
        with self._lock:
            self._actions.clear()
            self._answers.clear()


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

    def readinto(self, buffer: Any) -> int:
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


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    server_version = "presetsync-local"
    disable_nagle_algorithm = True
    timeout = None  # reads are timed by _DeadlineReader, writes in _send
    server: _HTTPServer

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


class _HTTPServer(ThreadingHTTPServer):
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
        super().__init__(address, _Handler)

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

    def handle_error(self, request: Any, client_address: Any) -> None:
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

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._idle:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        try:
            super().shutdown_request(request)
        finally:
            with self._idle:
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


class LocalService:
    """The offline service, locally: SQLite state, SigV4 auth, optional injected faults.

    *accounts* maps access key ids to secrets; without it the service uses (creating it on
    first start) a development account kept in the database. *task_durations* is
    ``(init_s, exec_s)``: how long a task stays ``init``, then ``exec``. *clock* returns the
    current time as an aware datetime (signature checks, timestamps, task status); *tz* is
    the zone times are shown in on the wire (default: the machine's local zone).
    *error_numbers* changes the errNum of application errors (``{"task_not_found": 40001}``;
    names in :data:`~presetsync.local.protocol.ERROR_NAMES`). *max_body_bytes* caps request
    bodies (HTTP 413); *request_timeout* and *idle_timeout* bound how long a connection may
    take to send a request, and wait between requests (seconds). With *media_root* tasks are
    really transcoded with PyAV by *media_workers* threads, buckets being its directories
    (:mod:`presetsync.local.worker`); without it they are simulated and ``av`` is never imported.

    Two switches choose between readings of the documents where they are ambiguous or silent:
    *strict_create* refuses a CreateTask whose preset does not exist (``preset_not_found``,
    no task created) instead of accepting it and failing the task; *later_preset_rules*
    applies the later documents' preset rules, which the 2016 ones do not state: names of 2 to
    32 ``[A-Za-z0-9_]``, and a presettype that UpdatePreset cannot change.
    """

    def __init__(
        self,
        db_path: str | Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        accounts: Mapping[str, str] | None = None,
        faults: Faults | None = None,
        task_durations: tuple[float, float] = DEFAULT_TASK_DURATIONS,
        clock: Callable[[], datetime] | None = None,
        tz: tzinfo | None = None,
        error_numbers: Mapping[str, int] | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        media_root: str | Path | None = None,
        media_workers: int = 2,
        strict_create: bool = False,
        later_preset_rules: bool = False,
    ):
        if accounts is not None and not accounts:
            raise ValueError("accounts must not be empty (use None for the development account)")
        if min(task_durations) < 0:
            raise ValueError(f"task durations must not be negative, got {task_durations}")
        if max_body_bytes < 0:
            raise ValueError(f"max_body_bytes must not be negative, got {max_body_bytes}")
        if not (request_timeout > 0 and idle_timeout > 0):
            raise ValueError(f"timeouts must be positive, got {request_timeout} and {idle_timeout}")
        self.error_numbering = error_numbering(error_numbers)
        self.strict_create = strict_create
        self.later_preset_rules = later_preset_rules
        self.max_body_bytes = max_body_bytes
        self.request_timeout = float(request_timeout)
        self.idle_timeout = float(idle_timeout)
        self.db_path = Path(db_path)
        self.host = host
        self.port = port
        self.task_durations = (float(task_durations[0]), float(task_durations[1]))
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.tz = tz
        self.stats = RequestStats()
        self._configured_accounts = dict(accounts) if accounts is not None else None
        self._accounts: dict[str, str] = {}
        self._dev_account: tuple[str, str] | None = None
        self._injector = FaultInjector(faults or Faults())
        self._store: Store | None = None
        self._ops: Operations | None = None
        self._auth: Authenticator | None = None
        self._server: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.media_root: Path | None = None
        self.media_workers = media_workers
        self.media: MediaWorkers | None = None  # the running workers, with a media root
        if media_root is not None:
            from .worker import check_media_root

            self.media_root = check_media_root(media_root, media_workers)

    def __repr__(self) -> str:
        state = f"url={self.url!r}" if self._server else "stopped"
        return f"LocalService({str(self.db_path)!r}, {state})"

    # --- life cycle ----------------------------------------------------------------------

    def start(self) -> LocalService:
        """Open the database and serve in a background thread; returns self."""
        if self._server is not None:
            raise RuntimeError("the service is already running")
        store = Store(self.db_path)
        try:
            if self._configured_accounts is not None:
                self._accounts = dict(self._configured_accounts)
                self._dev_account = None
            else:
                self._dev_account = self._load_dev_account(store)
                self._accounts = dict([self._dev_account])
            self._server = _HTTPServer((self.host, self.port), self)
        except BaseException:
            store.close()
            raise
        self._store = store
        self.media = self._start_media(store)
        self._ops = Operations(
            store,
            clock=self.clock,
            tz=self.tz,
            task_durations=self.task_durations,
            media=self.media,
            strict_create=self.strict_create,
            later_preset_rules=self.later_preset_rules,
        )
        self._auth = Authenticator(self._accounts, self.clock)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.accept_loop, name="presetsync-local", daemon=True)
        self._thread.start()
        log.info("local offline service listening on %s (database %s)", self.url, self.db_path)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting, close open connections, wait for their threads, close the database."""
        server, self._server = self._server, None
        if server is None:
            return
        server.wake_to_stop()
        if self._thread is not None:
            self._thread.join(timeout)
        server.server_close()
        if not server.close_connections(timeout):
            log.warning("some connections were still busy after %.1f s", timeout)
        if self.media is not None:
            self.media.stop(timeout)
        if self._store is not None:
            self._store.close()
        log.info("local offline service stopped")

    def __enter__(self) -> LocalService:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def url(self) -> str:
        """``http://host:port/``: the endpoint to give clients."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    # --- accounts ------------------------------------------------------------------------

    @staticmethod
    def _load_dev_account(store: Store) -> tuple[str, str]:
        with store.transaction(write=True) as tx:
            found = tx.first_account()
            if found is None:
                found = new_dev_account()
                tx.insert_account(*found, time.time())
        return found

    @property
    def accounts(self) -> dict[str, str]:
        """``{access_key_id: secret}`` of every account the running service accepts."""
        self._require_started()
        return dict(self._accounts)

    @property
    def dev_credentials(self) -> Credentials | None:
        """The development account, when the service runs without configured accounts."""
        self._require_started()
        if self._dev_account is None:
            return None
        return Credentials(*self._dev_account, source=f"local development account ({self.db_path})")

    @property
    def credentials(self) -> Credentials:
        """The development account, or else the first configured account."""
        dev = self.dev_credentials
        if dev is not None:
            return dev
        key, secret = next(iter(self._accounts.items()))
        return Credentials(key, secret, source="local service account")

    def client(self, credentials: Credentials | None = None, **options: Any) -> OfflineClient:
        """An :class:`~presetsync.api.client.OfflineClient` for this service (default: :attr:`credentials`)."""
        return OfflineClient(endpoint=self.url, credentials=credentials or self.credentials, **options)

    # --- faults and internals ------------------------------------------------------------

    @property
    def faults(self) -> Faults:
        return self._injector.faults

    def set_faults(self, faults: Faults) -> None:
        """Inject *faults* from now on; restarts the random sequence (and ``fault_counts``)."""
        self._injector = FaultInjector(faults)

    @property
    def fault_counts(self) -> dict[str, int]:
        """Faults injected since the last :meth:`set_faults`: ``{"fail": n, "throttle": n,
        "drop_before": n, "drop_after": n}`` (kinds never injected are absent)."""
        return dict(self._injector.counts)

    @property
    def store(self) -> Store:
        """The open store (for tests that need to set up lots of state fast)."""
        self._require_started()
        assert self._store is not None
        return self._store

    def _start_media(self, store: Store) -> MediaWorkers | None:
        if self.media_root is None:
            return None
        from .worker import MediaWorkers

        workers = MediaWorkers(store, self.media_root, clock=self.clock, workers=self.media_workers)
        workers.start()
        return workers

    def _require_started(self) -> None:
        if self._server is None and self._store is None:
            raise RuntimeError("start the service first")

    def _process(
        self,
        method: str,
        path: str,
        query: str,
        params: dict[str, str],
        headers: list[tuple[str, str]],
        body: bytes,
    ) -> dict[str, Any]:
        """Authenticate, route and run one request; raises AppError for error answers."""
        assert self._auth is not None and self._ops is not None
        account = self._auth.authenticate(method, path, query, headers, body)
        if path != "/":
            raise AppError(NOT_FOUND, f"no such path {path!r}: the service answers on '/'", status=404, code="NotFound")
        lookup = {name.lower(): value for name, value in headers}
        query_action, query_version = params.pop("Action", None), params.pop("Version", None)
        header_action = lookup.get("x-action")
        version = lookup.get("x-version") or query_version
        if header_action and query_action and header_action != query_action:
            raise AppError(
                ACTION_MISMATCH,
                f"X-Action {header_action!r} and Action {query_action!r} disagree",
                status=400,
                code="InvalidAction",
            )
        action = header_action or query_action
        if not action:
            raise AppError(UNKNOWN_ACTION, "no action: send an X-Action header", status=400, code="InvalidAction")
        if action not in OPERATIONS:
            raise AppError(
                UNKNOWN_ACTION,
                f"unknown action {action!r}; the actions are {', '.join(OPERATIONS)}",
                status=400,
                code="InvalidAction",
            )
        expected = OPERATIONS[action].method  # as the SDK sends it (api/operations.py)
        if method != expected:
            raise AppError(
                METHOD_NOT_ALLOWED,
                f"{action} must be sent with {expected}, not {method}",
                status=405,
                code="MethodNotAllowed",
                headers={"Allow": expected},
            )
        if version != API_VERSION:
            raise AppError(
                BAD_VERSION,
                f"version must be {API_VERSION}, got {version!r}",
                status=400,
                code="InvalidVersion",
            )
        return self._ops.run(action, account, params, body)
