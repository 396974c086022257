"""The task operations: CreateTask, GetTaskByTaskID, TopTaskByTaskID, DelTaskByTaskID,
GetTaskList and GetTaskMetaInfo.

Tasks need no worker: a task's status follows from the time since it was created, read from
the injectable clock. It is ``init`` for the first ``init_s`` seconds, then ``exec`` for
``exec_s`` seconds, then ``succ``, or ``fail`` (errorCode ``"3001"``) when its preset, or a
part of a chained ``avop|avlogo`` preset, did not exist in the account when it was created.
With a media root (``Operations(media=...)``) a worker does the task for real and sets those
times as it starts and ends (:mod:`presetsync.local.worker`); until then they are
:data:`~presetsync.local.store.NOT_YET`. Meta information comes from avinfo tasks only
(simulated: :func:`~presetsync.local.mediainfo.probe_source`; with media: probed).

``strict_create`` refuses a CreateTask whose preset does not exist (no task) instead of
failing the task later.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any, TypedDict

from .mediainfo import probe_source
from .operation_base import OperationsBase, int_arg, optional_text, required_text
from .protocol import NO_META_INFO, PRESET_NOT_FOUND, TASK_NOT_FOUND, TASK_PRESET_MISSING, AppError, invalid, success
from .store import NOT_YET, TaskRow

DEFAULT_LIMIT = 100
MAX_LIMIT = 100
ACLS = ("private", "public-read")


def _date_arg(args: Mapping[str, Any], name: str) -> date | None:
    """A yyyymmdd argument; absent or 0 means "use the default"."""
    value = int_arg(args, name, 0)
    if value == 0:
        return None
    try:
        return datetime.strptime(str(value), "%Y%m%d").date()
    except ValueError:
        raise invalid(f"{name} must be a date written yyyymmdd, got {value}") from None


def _yyyymmdd(day: date) -> int:
    return day.year * 10000 + day.month * 100 + day.day


class PageHead(TypedDict):
    """The paging fields of GetTaskList and GetTaskMetaInfo answers."""

    count: int
    total: int
    marker: int
    startdate: str
    enddate: str


class TaskOperations(OperationsBase):
    """The six task operations."""

    def create_task(self, account: str, args: Mapping[str, Any]) -> dict[str, Any]:
        preset = required_text(args, "preset")
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
        required_text(args, "dstBucket")
        if required_text(args, "dstObjectKey").startswith("/"):
            raise invalid("dstObjectKey must not start with '/'")
        acl = args.get("dstAcl")
        if acl is not None and acl not in ACLS:
            raise invalid(f"dstAcl must be one of {', '.join(ACLS)}, got {acl!r}")
        for name in ("dstDir", "cbUrl", "cbMethod"):
            optional_text(args, name)
        ext = args.get("extParam")
        if ext is not None and not isinstance(ext, (str, dict)):
            raise invalid(f"extParam must be a string holding JSON, got {ext!r}")
        is_top = int_arg(args, "isTop", 0)
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
        taskid = required_text(args, "taskid")
        with self.store.transaction() as tx:
            row = tx.get_task(account, taskid)
        if row is None:
            raise AppError(TASK_NOT_FOUND, f"task {taskid} does not exist")
        return row

    def get_task_by_task_id(self, account: str, args: Mapping[str, Any]) -> dict[str, Any]:
        return success(taskInfo=self._task_info(self._find_task(account, args), self._now()))

    def top_task_by_task_id(self, account: str, args: Mapping[str, Any]) -> dict[str, Any]:
        taskid = required_text(args, "taskid")
        with self.store.transaction(write=True) as tx:
            if not tx.set_task_top(account, taskid):
                raise AppError(TASK_NOT_FOUND, f"task {taskid} does not exist")
        return success()

    def del_task_by_task_id(self, account: str, args: Mapping[str, Any]) -> dict[str, Any]:
        taskid = required_text(args, "taskid")
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
        marker = int_arg(args, "marker", 0)
        if marker < 0:
            raise invalid(f"marker must not be negative, got {marker}")
        limit = int_arg(args, "limit", 0) or DEFAULT_LIMIT
        if not 0 < limit <= MAX_LIMIT:
            raise invalid(f"limit must be from 1 to {MAX_LIMIT} (0 means {DEFAULT_LIMIT}), got {limit}")
        return _yyyymmdd(start), _yyyymmdd(end), marker, limit

    def _list_page(
        self, account: str, args: Mapping[str, Any], now: float, *, meta: bool = False, taskid: str = ""
    ) -> tuple[PageHead, list[TaskRow]]:
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
        head: PageHead = {
            "count": len(rows),
            "total": total,
            "marker": marker,
            "startdate": str(start),
            "enddate": str(end),
        }
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
        taskid = optional_text(args, "taskid")
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
