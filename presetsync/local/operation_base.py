"""What the operations share: their state and dispatch, reading their arguments, and the
service's clock and time texts.

:class:`OperationsBase` runs an operation by name (``run``): its arguments come from the
query (GET operations) or the JSON body, and a bad one raises an
:class:`~presetsync.local.protocol.AppError` whose message names the field.

Times on the wire (``createTime``, task id dates, ``startdate``/``enddate``) are in the
service's time zone: the machine's local zone unless one is given, which matches the SDK's
default ``startdate`` (the first day of the caller's local month). Each second is formatted
once (a bounded cache), since a 10,000-preset listing writes 20,000 times.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING, Any, Callable
from zoneinfo import ZoneInfo

from ..api.operations import OPERATIONS
from .protocol import invalid
from .store import Store

if TYPE_CHECKING:
    from .worker import MediaWorkers

_INTEGER = re.compile(r"-?[0-9]+", re.ASCII)
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
# Formatted seconds kept per service (about 6 MB at most): 10,000 presets created and updated in
# distinct seconds list from the cache.
_SECOND_TEXTS = 1 << 15
# A timestamp whose fraction is below this keeps its second when datetime rounds it to microseconds.
_NO_CARRY = 0.999999


#: An operation: (account, arguments) -> the answer's body.
Handler = Callable[[str, Mapping[str, Any]], dict[str, Any]]


def _parse_json_body(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        value: object = json.loads(body)
    except ValueError as exc:
        raise invalid(f"the request body is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise invalid("the request body must be a JSON object")
    return value


def int_arg(args: Mapping[str, Any], name: str, default: int) -> int:
    value = args.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value)
    raise invalid(f"{name} must be an integer, got {value!r}")


def optional_text(args: Mapping[str, Any], name: str, default: str = "") -> str:
    value = args.get(name)
    if value is None:
        return default
    if not isinstance(value, str):
        raise invalid(f"{name} must be a string, got {value!r}")
    return value


def required_text(args: Mapping[str, Any], name: str) -> str:
    value = args.get(name)
    if value is None or value == "":
        raise invalid(f"{name} is required")
    if not isinstance(value, str):
        raise invalid(f"{name} must be a string, got {value!r}")
    return value


def _whole_seconds(tz: timezone) -> bool:
    return tz.utcoffset(None) % timedelta(seconds=1) == timedelta(0)


class OperationsBase:
    """The operations' state over one store, their dispatch and clock; the operations are
    :class:`~presetsync.local.handlers.Operations`' methods. Thread-safe (all state is in the store)."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Callable[[], datetime],
        tz: tzinfo | None = None,
        task_durations: tuple[float, float] = (1.0, 2.0),
        media: MediaWorkers | None = None,
        strict_create: bool = False,
        later_preset_rules: bool = False,
    ):
        self.store = store
        self._clock = clock
        self._tz = tz
        self._second_text: Callable[[int], str] | None = None
        if tz is None or isinstance(tz, ZoneInfo) or (isinstance(tz, timezone) and _whole_seconds(tz)):
            # local times change at whole seconds only (the machine's zone, zoneinfo zones, fixed
            # offsets of whole seconds): a timestamp's text is that of its second, kept once formatted
            self._second_text = functools.lru_cache(maxsize=_SECOND_TEXTS)(self._format_second)
        self.init_seconds, self.exec_seconds = task_durations
        self.media = media  # --media-root: workers transcode the tasks (presetsync.local.worker)
        self.strict_create = strict_create  # CreateTask refuses a preset that does not exist
        self.later_preset_rules = later_preset_rules  # the later name rule; presettype fixed

    def run(self, action: str, account: str, query: Mapping[str, str], body: bytes) -> dict[str, Any]:
        """Run *action* (a known operation name) for *account*; return the answer body."""
        op = OPERATIONS[action]
        args: Mapping[str, Any] = _parse_json_body(body) if op.params is None else query
        handler: Handler = getattr(self, op.snake_name)  # a method of Operations, named like the client's
        return handler(account, args)

    # --- time ----------------------------------------------------------------------------

    def _now(self) -> float:
        return self._clock().timestamp()

    def _local(self, timestamp: float) -> datetime:
        return datetime.fromtimestamp(timestamp, self._tz)

    def _format_second(self, second: int) -> str:
        return self._local(second).strftime(TIME_FORMAT)

    def _time_text(self, timestamp: float | None) -> str:
        if timestamp is None:
            return ""
        second = math.floor(timestamp)
        if self._second_text is not None and timestamp - second < _NO_CARRY:
            return self._second_text(second)
        return self._local(timestamp).strftime(TIME_FORMAT)
