"""The local offline service over HTTP: :class:`LocalService`, its settings and life cycle
(start, stop, accounts, faults), routing, and :class:`RequestStats`.

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

Steps 1, 2 and the answer are :mod:`presetsync.local.http`'s; steps 3 to 5 are
:meth:`LocalService._process`'s. Every answer is JSON with ``errNum``/``errMsg`` (table in
:mod:`presetsync.local.protocol`) and an ``X-Request-Id`` header. Connections are kept alive
(HTTP/1.1); each connection has its own daemon thread; :meth:`LocalService.stop` closes them
all and waits for them. A connection waits at most ``idle_timeout`` seconds for a request,
and a request, once its first byte arrived, must arrive whole (line, headers, body) within
``request_timeout`` seconds however slowly it trickles; otherwise the connection is closed
(HTTP 408 when the body was late), so a stalled client cannot hold a thread for long.

Example::

    with LocalService(tmp_path / "local.sqlite", task_durations=(0, 0)) as service:
        client = service.client()
        client.preset({"preset": "p1", "presettype": "avop", "param": {"f": "mp4"}})
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Mapping
from datetime import datetime, timezone, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from ..api.client import OfflineClient
from ..api.credentials import Credentials
from ..api.operations import API_VERSION, OPERATIONS
from .auth import Authenticator, new_dev_account
from .faults import FaultInjector, Faults
from .handlers import Operations
from .http import ServiceHTTPServer
from .protocol import (
    ACTION_MISMATCH,
    BAD_VERSION,
    METHOD_NOT_ALLOWED,
    NOT_FOUND,
    UNKNOWN_ACTION,
    AppError,
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
        self._server: ServiceHTTPServer | None = None
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
            self._server = ServiceHTTPServer((self.host, self.port), self)
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
