"""What each of the eleven operations does, given an authenticated account.

:class:`Operations` has one method per operation, named like the client's methods
(``preset``, ``get_task_list``, ...). Each validates its arguments (an invalid one raises an
:class:`~presetsync.local.protocol.AppError` whose message names the field), does its reads
and writes in one store transaction, and returns the answer shaped like the examples in
offline-api-examples.md. The errNum table is in :mod:`presetsync.local.protocol`.

Tasks need no worker: a task's status follows from the time since it was created, read from
the injectable clock. It is ``init`` for the first ``init_s`` seconds, then ``exec`` for
``exec_s`` seconds, then ``succ``, or ``fail`` (errorCode ``"3001"``) when its preset, or a
part of a chained ``avop|avlogo`` preset, did not exist in the account when it was created.
With a media root (``Operations(media=...)``) a worker does the task for real and sets those
times as it starts and ends (:mod:`presetsync.local.worker`); until then they are
:data:`~presetsync.local.store.NOT_YET`. Meta information comes from avinfo tasks only
(simulated: :func:`~presetsync.local.mediainfo.probe_source`; with media: probed).

Where the documents allow two readings, a switch picks one: ``strict_create`` refuses a
CreateTask whose preset does not exist (no task) instead of failing the task later;
``later_preset_rules`` applies the later documents' name rule and fixed presettype, which
the 2016 documents do not state.

Times on the wire (``createTime``, task id dates, ``startdate``/``enddate``) are in the
service's time zone: the machine's local zone unless one is given, which matches the SDK's
default ``startdate`` (the first day of the caller's local month). Each second is formatted
once (a bounded cache), since a 10,000-preset listing writes 20,000 times.

GetPresetList writes its list as JSON text (:class:`~presetsync.local.protocol.RawJSON`), each
item with the param the store keeps in its answered form (``param_wire``): the same bytes as
encoding :meth:`Operations._preset_item` of every preset, a fifth of the time.
"""

from __future__ import annotations

import functools
import json
import math
import re
import uuid
from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone, tzinfo
from json.encoder import encode_basestring as _quote  # what the answer's encoder writes for a str
from typing import TYPE_CHECKING, Any, Callable
from zoneinfo import ZoneInfo

from ..api.operations import OPERATIONS
from .mediainfo import probe_source
from .params import PRESET_TYPES, check_param, check_preset_name, check_preset_type, echo_param
from .protocol import (
    NO_META_INFO,
    PRESET_EXISTS,
    PRESET_NOT_FOUND,
    TASK_NOT_FOUND,
    TASK_PRESET_MISSING,
    AppError,
    RawJSON,
    invalid,
    success,
)
from .store import NOT_YET, PresetRow, Store, TaskRow

if TYPE_CHECKING:
    from .worker import MediaWorkers

DEFAULT_LIMIT = 100
MAX_LIMIT = 100
ACLS = ("private", "public-read")
_INTEGER = re.compile(r"-?[0-9]+", re.ASCII)
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
# Formatted seconds kept per service (about 6 MB at most): 10,000 presets created and updated in
# distinct seconds list from the cache.
_SECOND_TEXTS = 1 << 15
# A timestamp whose fraction is below this keeps its second when datetime rounds it to microseconds.
_NO_CARRY = 0.999999


def _parse_json_body(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        value = json.loads(body)
    except ValueError as exc:
        raise invalid(f"the request body is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise invalid("the request body must be a JSON object")
    return value


def _int_arg(args: Mapping[str, Any], name: str, default: int) -> int:
    value = args.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value)
    raise invalid(f"{name} must be an integer, got {value!r}")


def _date_arg(args: Mapping[str, Any], name: str) -> date | None:
    """A yyyymmdd argument; absent or 0 means "use the default"."""
    value = _int_arg(args, name, 0)
    if value == 0:
        return None
    try:
        return datetime.strptime(str(value), "%Y%m%d").date()
    except ValueError:
        raise invalid(f"{name} must be a date written yyyymmdd, got {value}") from None


def _optional_text(args: Mapping[str, Any], name: str, default: str = "") -> str:
    value = args.get(name)
    if value is None:
        return default
    if not isinstance(value, str):
        raise invalid(f"{name} must be a string, got {value!r}")
    return value


def _required_text(args: Mapping[str, Any], name: str) -> str:
    value = args.get(name)
    if value is None or value == "":
        raise invalid(f"{name} is required")
    if not isinstance(value, str):
        raise invalid(f"{name} must be a string, got {value!r}")
    return value


def _csv(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


def _whole_seconds(tz: timezone) -> bool:
    return tz.utcoffset(None) % timedelta(seconds=1) == timedelta(0)


def _yyyymmdd(day: date) -> int:
    return day.year * 10000 + day.month * 100 + day.day


class Operations:
    """The eleven operations over one store. Thread-safe (all state is in the store)."""

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
        return getattr(self, op.snake_name)(account, args)

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

    # --- presets -------------------------------------------------------------------------

    def preset(self, account: str, args: Mapping[str, Any]) -> dict[str, Any]:
        name = check_preset_name(args.get("preset"), later_rule=self.later_preset_rules)
        presettype = check_preset_type(args.get("presettype"))
        param = check_param(presettype, args.get("param"))
        description = _optional_text(args, "description")
        row = PresetRow(name, presettype, description, json.dumps(param, ensure_ascii=False), self._now(), None)
        with self.store.transaction(write=True) as tx:
            if not tx.insert_preset(account, row):
                raise AppError(PRESET_EXISTS, f"preset {name} already exists")
        return success()

    def update_preset(self, account: str, args: Mapping[str, Any]) -> dict[str, Any]:
        name = _required_text(args, "preset")
        new_type = args.get("presettype")
        if new_type not in (None, ""):
            check_preset_type(new_type)
        with self.store.transaction(write=True) as tx:
            row = tx.get_preset(account, name)
            if row is None:
                raise AppError(PRESET_NOT_FOUND, f"preset {name} does not exist")
            presettype = new_type or row.presettype
            if presettype != row.presettype and self.later_preset_rules:
                raise invalid(f"presettype cannot be changed: preset {name} is {row.presettype}, got {new_type!r}")
            param = check_param(presettype, args["param"] if "param" in args else json.loads(row.param or "{}"))
            description = _optional_text(args, "description", row.description)
            updated = PresetRow(
                name, presettype, description, json.dumps(param, ensure_ascii=False), row.created_at, self._now()
            )
            tx.update_preset(account, updated)
        return success()

    def del_preset(self, account: str, args: Mapping[str, Any]) -> dict[str, Any]:
        name = _required_text(args, "preset")
        with self.store.transaction(write=True) as tx:
            if not tx.delete_preset(account, name):
                raise AppError(PRESET_NOT_FOUND, f"preset {name} does not exist")
        return success()

    def _preset_item(self, row: PresetRow) -> dict[str, Any]:
        item: dict[str, Any] = {
            "preset": row.name,
            "presetType": row.presettype,
            "description": row.description,
            "createTime": self._time_text(row.created_at),
            "updateTime": self._time_text(row.updated_at),
        }
        if row.param is not None:
            item["param"] = echo_param(json.loads(row.param))
        return item

    def get_preset_list(self, account: str, args: Mapping[str, Any]) -> dict[str, Any]:
        with_detail = _int_arg(args, "withDetail", 0)
        if with_detail not in (0, 1):
            raise invalid(f"withDetail must be 0 or 1, got {with_detail}")
        type_field = "presettype" if args.get("presettype") else "presetType"
        types = _csv(args.get(type_field))
        for presettype in types:
            if presettype not in PRESET_TYPES:
                raise invalid(f"{type_field} must list values from {', '.join(PRESET_TYPES)}, got {presettype!r}")
        names = _csv(args.get("presets"))
        with self.store.transaction() as tx:
            rows = tx.list_presets_wire(account, types or None, names or None, with_param=bool(with_detail))
        return success(presetList=RawJSON(f"[{','.join([self._preset_item_text(row) for row in rows])}]"))

    def _preset_item_text(self, row: tuple) -> str:
        """:meth:`_preset_item` of a :meth:`~presetsync.local.store.Tx.list_presets_wire` row,
        as the answer encodes it: the same bytes, with the stored wire param spliced in."""
        name, presettype, description, wire, created_at, updated_at = row
        text = (
            f'{{"preset":{_quote(name)},"presetType":{_quote(presettype)},"description":{_quote(description)},'
            f'"createTime":"{self._time_text(created_at)}","updateTime":"{self._time_text(updated_at)}"'
        )  # time texts are digits, '-', ':' and ' ': nothing to escape
        return f'{text},"param":{wire}}}' if wire is not None else text + "}"

    def get_preset_detail(self, account: str, args: Mapping[str, Any]) -> dict[str, Any]:
        name = _required_text(args, "preset")
        with self.store.transaction() as tx:
            row = tx.get_preset(account, name)
        if row is None:
            raise AppError(PRESET_NOT_FOUND, f"preset {name} does not exist")
        item = self._preset_item(row)
        detail = {key: item[key] for key in ("presetType", "param", "description", "createTime", "updateTime")}
        return success(presetdetail=detail)

    # --- tasks ---------------------------------------------------------------------------

    def create_task(self, account: str, args: Mapping[str, Any]) -> dict[str, Any]:
        preset = _required_text(args, "preset")
        parts = preset.split("|")
        if any(not part for part in parts):
            raise invalid(f"preset must be a preset name or names joined by '|', got {preset!r}")
        sources = args.get("srcInfo")
        if sources is None or sources == [] or sources == "":
            raise invalid("srcInfo is required: a list of {path, type, index}")
        if not isinstance(sources, list):
            raise invalid("srcInfo must be a list of {path, type, index} objects")
        for index, source in enumerate(sources):
            if not isinstance(source, dict):
                raise invalid(f"srcInfo[{index}] must be an object with a path")
            path = source.get("path")
            if not isinstance(path, str) or not path:
                raise invalid(f"srcInfo[{index}].path is required")
        _required_text(args, "dstBucket")
        if _required_text(args, "dstObjectKey").startswith("/"):
            raise invalid("dstObjectKey must not start with '/'")
        acl = args.get("dstAcl")
        if acl is not None and acl not in ACLS:
            raise invalid(f"dstAcl must be one of {', '.join(ACLS)}, got {acl!r}")
        for name in ("dstDir", "cbUrl", "cbMethod"):
            _optional_text(args, name)
        ext = args.get("extParam")
        if ext is not None and not isinstance(ext, (str, dict)):
            raise invalid(f"extParam must be a string holding JSON, got {ext!r}")
        is_top = _int_arg(args, "isTop", 0)
        if is_top not in (0, 1):
            raise invalid(f"isTop must be 0 or 1, got {is_top}")

        with self.store.transaction(write=True) as tx:
            # The time is read inside the write transaction, so that creation order (the
            # listing order) and createTime agree even for concurrent requests.
            now = self._now()
            created = self._local(now)
            taskid = uuid.uuid4().hex + created.strftime("%Y%m%d")
            rows = [tx.get_preset(account, part) for part in parts]
            missing = [part for part, row in zip(parts, rows) if row is None]
            first = rows[0]
            if missing and self.strict_create:
                raise AppError(PRESET_NOT_FOUND, f"preset {missing[0]} does not exist")
            if missing or first is None:
                code, message, meta = TASK_PRESET_MISSING, f"preset {missing[0]} does not exist", None
            elif self.media is not None:  # a media worker does it and sets its times
                code, message, meta = 0, "", None
            else:  # meta information comes from avinfo tasks only, which probe their source
                code, message = 0, ""
                meta = probe_source(sources[0]["path"]) if first.presettype == "avinfo" else None
            queued = self.media is not None and not code
            exec_at = NOT_YET if queued else now + self.init_seconds
            tx.insert_task(
                account,
                TaskRow(
                    taskid=taskid,
                    create_date=_yyyymmdd(created.date()),
                    created_at=now,
                    exec_at=exec_at,
                    done_at=exec_at if queued else exec_at + self.exec_seconds,
                    preset=preset,
                    body=json.dumps(dict(args), ensure_ascii=False),
                    is_top=is_top,
                    error_code=code,
                    error_msg=message,
                    meta=meta,
                ),
            )
        if queued and self.media is not None:
            self.media.wake()
        return success(taskid=taskid)

    @staticmethod
    def _status(row: TaskRow, now: float) -> str:
        if now < row.exec_at:
            return "init"
        if now < row.done_at:
            return "exec"
        return "fail" if row.error_code else "succ"

    def _task_info(self, row: TaskRow, now: float) -> dict[str, Any]:
        body = json.loads(row.body)
        status = self._status(row, now)
        failed = status == "fail"
        return {
            "taskid": row.taskid,
            "preset": row.preset,
            "srcInfo": body["srcInfo"],
            "dstBucket": body["dstBucket"],
            "dstDir": body.get("dstDir") or "",
            "dstObjectKey": body["dstObjectKey"],
            "dstAcl": body.get("dstAcl") or "public-read",
            "cbUrl": body.get("cbUrl") or "",
            "cbMethod": body.get("cbMethod") or "",
            "extParam": body.get("extParam") or "",
            "taskStatus": status,
            "isTop": str(row.is_top),
            "errorCode": str(row.error_code) if failed else "0",
            "errorMsg": row.error_msg if failed else "",
            "createTime": self._time_text(row.created_at),
        }

    def _find_task(self, account: str, args: Mapping[str, Any]) -> TaskRow:
        taskid = _required_text(args, "taskid")
        with self.store.transaction() as tx:
            row = tx.get_task(account, taskid)
        if row is None:
            raise AppError(TASK_NOT_FOUND, f"task {taskid} does not exist")
        return row

    def get_task_by_task_id(self, account: str, args: Mapping[str, Any]) -> dict[str, Any]:
        return success(taskInfo=self._task_info(self._find_task(account, args), self._now()))

    def top_task_by_task_id(self, account: str, args: Mapping[str, Any]) -> dict[str, Any]:
        taskid = _required_text(args, "taskid")
        with self.store.transaction(write=True) as tx:
            if not tx.set_task_top(account, taskid):
                raise AppError(TASK_NOT_FOUND, f"task {taskid} does not exist")
        return success()

    def del_task_by_task_id(self, account: str, args: Mapping[str, Any]) -> dict[str, Any]:
        taskid = _required_text(args, "taskid")
        with self.store.transaction(write=True) as tx:
            if not tx.delete_task(account, taskid):
                raise AppError(TASK_NOT_FOUND, f"task {taskid} does not exist")
        return success()

    def _page(self, args: Mapping[str, Any], now: float) -> tuple[int, int, int, int]:
        """(startdate, enddate, marker, limit) with the documented defaults and limits."""
        today = self._local(now).date()
        start = _date_arg(args, "startdate") or today.replace(day=1)
        end = _date_arg(args, "enddate")
        if end is None:
            end = min(start + timedelta(days=30), today)
        elif end < start:
            raise invalid(f"enddate {_yyyymmdd(end)} is before startdate {_yyyymmdd(start)}")
        marker = _int_arg(args, "marker", 0)
        if marker < 0:
            raise invalid(f"marker must not be negative, got {marker}")
        limit = _int_arg(args, "limit", 0) or DEFAULT_LIMIT
        if not 0 < limit <= MAX_LIMIT:
            raise invalid(f"limit must be from 1 to {MAX_LIMIT} (0 means {DEFAULT_LIMIT}), got {limit}")
        return _yyyymmdd(start), _yyyymmdd(end), marker, limit

    def _list_page(self, account: str, args: Mapping[str, Any], now: float, *, meta: bool = False, taskid: str = ""):
        """(paging fields, rows): a page of the tasks created in the date range, or with *meta*
        of those that have meta information by *now*; with *taskid*, that task alone (no row
        when it does not exist), while ``total`` still counts the range."""
        start, end, marker, limit = self._page(args, now)
        succeeded_by = now if meta else None
        with self.store.transaction() as tx:
            total = tx.count_tasks(account, start, end, succeeded_by=succeeded_by)
            if taskid:
                found = tx.get_task(account, taskid)
                rows = [] if found is None else [found]
            else:
                rows = tx.list_tasks(account, start, end, marker, limit, succeeded_by=succeeded_by)
        head = {"count": len(rows), "total": total, "marker": marker, "startdate": str(start), "enddate": str(end)}
        return head, rows

    def get_task_list(self, account: str, args: Mapping[str, Any]) -> dict[str, Any]:
        now = self._now()
        head, rows = self._list_page(account, args, now)
        return success(**head, taskInfo=[self._task_info(row, now) for row in rows])

    def _meta_item(self, row: TaskRow) -> dict[str, Any]:
        return {"taskid": row.taskid, "meta_info": row.meta, "createTime": self._time_text(row.created_at)}

    def get_task_meta_info(self, account: str, args: Mapping[str, Any]) -> dict[str, Any]:
        """The meta information of succeeded avinfo tasks: one task's by ``taskid``, else a page
        of those created in the date range. Both answers carry the paging fields, as the usage
        document's example (a taskid with its dates) shows: ``total`` counts the range's
        tasks with meta information, ``count`` the items of this answer."""
        now = self._now()
        taskid = _optional_text(args, "taskid")
        head, rows = self._list_page(account, args, now, meta=True, taskid=taskid)
        if taskid:
            if not rows:
                raise AppError(TASK_NOT_FOUND, f"task {taskid} does not exist")
            status = self._status(rows[0], now)
            if status != "succ":
                raise AppError(NO_META_INFO, f"task {taskid} has no meta information: its status is {status}")
            if rows[0].meta is None:
                raise AppError(
                    NO_META_INFO,
                    f"task {taskid} has no meta information: it is not an avinfo task (preset {rows[0].preset}); "
                    "meta information comes from avinfo tasks, which probe their source",
                )
        return success(**head, metaInfo=[self._meta_item(row) for row in rows])
