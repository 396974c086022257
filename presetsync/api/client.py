"""OfflineClient: one generic path that serialises, signs, sends and parses any operation.

The request bytes match the official SDK's (see tests/test_vectors.py): the same headers in
the same order, the same query encoding, the same JSON body and the same SigV4 signature.
What differs is on purpose: errors are raised as typed exceptions instead of returned, and
non-idempotent operations are never re-sent once they may have reached the server.
"""

from __future__ import annotations

import json
import logging
import platform
import random
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, TypeVar

from .. import __version__
from ..errors import ApiError, OutcomeUnknown, ParamValidationError, ServiceUnreachable
from . import operations as ops
from . import sigv4
from .credentials import Credentials, find_ks_domain, resolve_credentials
from .endpoints import DEFAULT_REGION, check_region, resolve_endpoint
from .operations import API_VERSION, OPERATIONS, Operation
from .results import JsonObject, Page
from .transport import Response, Transport, TransportError

log = logging.getLogger("presetsync.api")

THROTTLING_CODES = frozenset({"Throttling", "ThrottlingException"})
RETRY_STATUSES = frozenset({429, 503, 509})
EXCERPT = 200
R = TypeVar("R")


DEFAULT_WRITE_ATTEMPTS = 5
DEFAULT_BUDGET = 60.0


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep retrying, and how long to wait between attempts.

    Waits are capped exponential backoff with full jitter: after attempt n, sleep
    U(0, min(cap, base * 2**(n-1))), at least a ``Retry-After`` (up to ``cap``).

    * Reads (operations marked ``read``: GetPresetList, GetTaskList, GetTaskByTaskID, ...)
      are retried until ``budget`` seconds are spent, counting the attempts' own time and
      the waits (so a client whose sleep is a no-op gives up just the same), and at most
      ``max_attempts`` attempts when that is given.
    * Every other operation: at most ``max_attempts`` attempts (default
      :data:`DEFAULT_WRITE_ATTEMPTS`).
    """

    max_attempts: int | None = None
    base: float = 0.5
    cap: float = 20.0
    budget: float = DEFAULT_BUDGET

    def delay(self, attempt: int, rng: random.Random, retry_after: float | None = None) -> float:
        wait = rng.uniform(0, min(self.cap, self.base * 2 ** min(attempt - 1, 60)))
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.cap))
        return wait

    def next_wait(
        self, op: Operation[Any], attempt: int, spent: float, rng: random.Random, retry_after: float | None = None
    ) -> float | None:
        """Seconds to wait before another attempt, after *attempt* attempts that took *spent*
        seconds in all (waits included); None when there must be no other attempt."""
        limit = self.max_attempts if op.read else (self.max_attempts or DEFAULT_WRITE_ATTEMPTS)
        if limit is not None and attempt >= limit:
            return None
        wait = self.delay(attempt, rng, retry_after)
        if not op.read:
            return wait
        remaining = self.budget - spent
        return min(wait, remaining) if remaining > 0 else None


@dataclass(frozen=True)
class PreparedCall:
    """One signed request, ready to send: what the tests compare with the official SDK."""

    operation: str
    method: str
    url: str
    headers: list[tuple[str, str]]
    body: bytes


def _user_agent() -> str:
    return f"presetsync/{__version__} Python/{platform.python_version()} {platform.system()}/{platform.release()}"


def serialize(op: Operation[Any], args: Mapping[str, Any]) -> tuple[str, bytes]:
    """Return (query, body) for *op* called with *args*; validate GET arguments like the SDK.

    POST bodies are the caller's dict as ``json.dumps`` writes it (insertion order, ``", "``
    and ``": "`` separators, non-ASCII escaped). GET arguments go in the query in the
    caller's order.
    """
    if op.params is None:
        return "", json.dumps(dict(args)).encode("utf-8")
    problems = []
    for name, value in args.items():
        param = op.param(name)
        if param is None:
            allowed = ", ".join(p.name for p in op.params)
            problems.append(f"unknown parameter {name!r} for {op.name}, must be one of: {allowed}")
        elif param.type is int and (not isinstance(value, int) or isinstance(value, bool)):
            problems.append(f"{op.name} parameter {name!r} must be an integer, got {value!r}")
        elif param.type is str and not isinstance(value, str):
            problems.append(f"{op.name} parameter {name!r} must be a string, got {value!r}")
        elif param.type is str and len(value) < param.min_length:
            problems.append(
                f"{op.name} parameter {name!r} must be at least {param.min_length} characters, got {len(value)}"
            )
    if problems:
        raise ParamValidationError("; ".join(problems))
    return sigv4.encode_query(args.items()), b""


def redact(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Headers fit for a log line: no signature, no session token."""
    out = []
    for name, value in headers:
        if name.lower() == "authorization":
            value = value.split("Signature=")[0] + "Signature=<redacted>"
        elif name.lower() == "x-amz-security-token":
            value = "<redacted>"
        out.append((name, value))
    return out


def _retry_after(response: Response) -> float | None:
    try:
        return float(response.headers["retry-after"])
    except (KeyError, ValueError):
        return None


class OfflineClient:
    """A client of the offline service. One pool of keep-alive connections per client
    (:class:`~presetsync.api.transport.Transport`); thread-safe.

    Every operation is a typed snake_case method (``get_preset_list(withDetail=1)``,
    ``preset({...})``) returning the value its answer holds (a task id, a list of presets,
    a :class:`~presetsync.api.results.Page` of tasks, ...), checked against the operation's
    declared result (see :mod:`presetsync.api.results`); they all go through :meth:`invoke`
    and :meth:`call`, which returns answers whole. Errors raise
    :class:`~presetsync.errors.ApiError`, :class:`~presetsync.errors.ServiceUnreachable`,
    :class:`~presetsync.errors.OutcomeUnknown` or, for a success answer of another shape,
    :class:`~presetsync.api.results.UnexpectedAnswer`.
    """

    def __init__(
        self,
        region: str = DEFAULT_REGION,
        *,
        endpoint: str | None = None,
        credentials: Credentials | None = None,
        use_ssl: bool = False,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        retry: RetryPolicy = RetryPolicy(),
        pool_size: int = 16,
        clock: Callable[[], datetime] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        user_agent: str | None = None,
    ):
        self.region = check_region(region)
        self.credentials = credentials or resolve_credentials()
        self.timeout = (connect_timeout, read_timeout)
        self._pool_size = pool_size
        self.endpoint = resolve_endpoint(self.region, use_ssl, endpoint, None if endpoint else find_ks_domain())
        self.retry = retry
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._user_agent = user_agent or _user_agent()
        self.calls: Counter[str] = Counter()  # requests sent, per operation (retries included)
        self._calls_lock = threading.Lock()

    @property
    def endpoint(self) -> str:
        """The base URL requests go to; setting it opens a new pool of connections to it."""
        return self._endpoint

    @endpoint.setter
    def endpoint(self, url: str) -> None:
        old: Transport | None = getattr(self, "transport", None)
        self._endpoint = url
        # proxies from the environment (http_proxy, https_proxy, no_proxy); TLS verified
        connect, read = self.timeout
        self.transport = Transport(url, connect_timeout=connect, read_timeout=read, pool_size=self._pool_size)
        if old is not None:
            old.close()

    def __repr__(self) -> str:
        return (
            f"OfflineClient(region={self.region!r}, endpoint={self.endpoint!r}, key={self.credentials.access_key_id!r})"
        )

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> OfflineClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the operations: one typed method each, all through invoke() ------------------------
    # POST operations take the body as a dict and/or keyword fields; GET operations take
    # keyword arguments, checked against the table and sent in the order given.

    def preset(self, body: Mapping[str, Any] | None = None, /, **fields: Any) -> None:
        """Preset: create a preset."""
        self.invoke(ops.PRESET, {**(body or {}), **fields})

    def update_preset(self, body: Mapping[str, Any] | None = None, /, **fields: Any) -> None:
        """UpdatePreset: change a preset (its name cannot change)."""
        self.invoke(ops.UPDATE_PRESET, {**(body or {}), **fields})

    def del_preset(self, **args: Any) -> None:
        """DelPreset(preset=NAME)."""
        self.invoke(ops.DEL_PRESET, args)

    def get_preset_list(self, **args: Any) -> list[JsonObject]:
        """GetPresetList(withDetail, presettype, presets): the presets listed, each with its name."""
        return self.invoke(ops.GET_PRESET_LIST, args)

    def get_preset_detail(self, **args: Any) -> JsonObject:
        """GetPresetDetail(preset=NAME): the ``presetdetail`` object."""
        return self.invoke(ops.GET_PRESET_DETAIL, args)

    def create_task(self, body: Mapping[str, Any] | None = None, /, **fields: Any) -> str:
        """CreateTask: the new task's id."""
        return self.invoke(ops.CREATE_TASK, {**(body or {}), **fields})

    def del_task_by_task_id(self, **args: Any) -> None:
        """DelTaskByTaskID(taskid=ID)."""
        self.invoke(ops.DEL_TASK_BY_TASK_ID, args)

    def top_task_by_task_id(self, **args: Any) -> None:
        """TopTaskByTaskID(taskid=ID): move the task to the head of the queue."""
        self.invoke(ops.TOP_TASK_BY_TASK_ID, args)

    def get_task_list(self, **args: Any) -> Page:
        """GetTaskList(startdate, enddate, marker, limit): a page of tasks, each with its id."""
        return self.invoke(ops.GET_TASK_LIST, args)

    def get_task_by_task_id(self, **args: Any) -> JsonObject:
        """GetTaskByTaskID(taskid=ID): the ``taskInfo`` object."""
        return self.invoke(ops.GET_TASK_BY_TASK_ID, args)

    def get_task_meta_info(self, **args: Any) -> list[JsonObject]:
        """GetTaskMetaInfo(taskid, startdate, enddate, marker, limit): the meta information items."""
        return self.invoke(ops.GET_TASK_META_INFO, args)

    # --- the generic path ----------------------------------------------------------------

    def invoke(self, op: Operation[R], args: Mapping[str, Any]) -> R:
        """Send *op* with *args* (see :meth:`call`) and return what its answer holds, checked
        against ``op.result``."""
        return op.result.extract(op.name, self.call(op.name, args))

    def prepare(self, operation: str, args: Mapping[str, Any], now: datetime | None = None) -> PreparedCall:
        """Serialise and sign one request without sending it."""
        op = OPERATIONS[operation]
        return self._sign(op, *serialize(op, args), now)

    def _sign(self, op: Operation[Any], query: str, body: bytes, now: datetime | None = None) -> PreparedCall:
        url = self.endpoint + (f"?{query}" if query else "")
        headers = [
            ("X-Amz-Target", f"offline.{op.name}"),
            ("Content-Type", "application/json"),
            ("Accept", "application/json"),
            ("X-Action", op.name),
            ("X-Version", API_VERSION),
            ("User-Agent", self._user_agent),
        ]
        creds = self.credentials
        signed = sigv4.sign(
            op.method,
            url,
            headers,
            body,
            access_key_id=creds.access_key_id,
            secret_access_key=creds.secret_access_key,
            token=creds.token,
            region=self.region,
            now=now or self._clock(),
        )
        return PreparedCall(op.name, op.method, url, signed.headers, body)

    def call(self, operation: str, args: Mapping[str, Any] | None = None) -> Any:
        """Send *operation* with *args*, retrying what is safe to retry; return the parsed JSON."""
        op = OPERATIONS[operation]
        query, body = serialize(op, dict(args or {}))  # validated before anything is sent
        attempt = 0
        spent = 0.0  # seconds: the attempts' own time plus the waits between them
        while True:
            attempt += 1
            call = self._sign(op, query, body)  # each attempt signed afresh, as the SDK does
            started = time.monotonic()
            try:
                response = self._send(call, attempt)
            except TransportError as exc:
                spent += time.monotonic() - started
                reason = f"{type(exc).__name__}: {exc}"
                if exc.sent and not op.retry_safe:
                    raise OutcomeUnknown(op.name, reason, attempt) from exc
                wait = self.retry.next_wait(op, attempt, spent, self._rng) if exc.retriable else None
                if wait is None:
                    raise ServiceUnreachable(
                        f"{op.name}: no answer from {self.endpoint} after {attempt} attempts "
                        f"in {spent:.1f} s ({reason})"
                    ) from exc
                spent += self._backoff(op, attempt, reason, wait)
                continue
            spent += time.monotonic() - started
            parsed, error = self._parse(op, response, attempt)
            if error is None:
                return parsed
            throttled = response.status == 429 or error.code in THROTTLING_CODES
            if throttled or response.status in RETRY_STATUSES:
                if not throttled and not op.retry_safe:
                    raise OutcomeUnknown(op.name, f"HTTP {response.status}", attempt) from error
                wait = self.retry.next_wait(op, attempt, spent, self._rng, _retry_after(response))
                if wait is not None:
                    spent += self._backoff(op, attempt, f"HTTP {response.status}", wait)
                    continue
            raise error

    def _backoff(self, op: Operation[Any], attempt: int, reason: str, wait: float) -> float:
        log.debug("%s attempt %d failed (%s); retrying in %.2f s", op.name, attempt, reason, wait)
        self._sleep(wait)
        return wait

    def _send(self, call: PreparedCall, attempt: int) -> Response:
        with self._calls_lock:
            self.calls[call.operation] += 1
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "%s attempt %d: %s %s headers=%s body=%s",
                call.operation,
                attempt,
                call.method,
                call.url,
                redact(call.headers),
                call.body[:2000].decode("utf-8", "replace"),
            )
        headers = call.headers
        if call.body or call.method == "POST":  # last, as the SDK's transport put it
            headers = [*headers, ("Content-Length", str(len(call.body)))]
        started = time.monotonic()
        response = self.transport.request(call.method, call.url, headers, call.body)
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "%s attempt %d: HTTP %d in %.1f ms, %d bytes",
                call.operation,
                attempt,
                response.status,
                (time.monotonic() - started) * 1000,
                len(response.body),
            )
        return response

    def _parse(self, op: Operation[Any], response: Response, attempt: int) -> tuple[Any, ApiError | None]:
        """Return (parsed body, None) on success or (body, ApiError) on any error."""
        status = response.status
        request_id = response.headers.get("x-amzn-requestid") or response.headers.get("x-request-id")
        text = response.body
        try:
            body = json.loads(text.decode("utf-8")) if text.strip() else {}
        except (UnicodeDecodeError, ValueError):
            excerpt = text[:EXCERPT].decode("utf-8", "replace")
            return None, ApiError(op.name, status=status, request_id=request_id, attempts=attempt, excerpt=excerpt)
        err_num = err_msg = code = None
        if isinstance(body, dict):
            request_id = request_id or body.get("RequestId")
            error = body.get("Error") or body.get("error")
            if isinstance(error, dict):
                code = error.get("Code") or error.get("code")
                err_msg = error.get("Message") or error.get("message")
            else:
                code = body.get("Code") or body.get("code")
                err_msg = body.get("Message") or body.get("message")
            if "errNum" in body:
                err_num = body.get("errNum")
                err_msg = body.get("errMsg", err_msg)
        failed = status >= 300 or (err_num not in (None, 0, "0"))
        if not failed:
            return body, None
        if isinstance(err_num, str) and err_num.lstrip("-").isdigit():
            err_num = int(err_num)
        return body, ApiError(
            op.name,
            status=status,
            err_num=err_num,
            err_msg=None if err_msg is None else str(err_msg),
            code=None if code is None else str(code),
            request_id=request_id,
            attempts=attempt,
            body=body,
        )
