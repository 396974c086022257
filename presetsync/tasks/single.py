"""``presetsync tasks list|show|top|delete|meta``: the account's task list and single tasks
by id (the parser is in :mod:`.parser`)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date
from typing import TYPE_CHECKING

from ..errors import ExitStatus
from .command import _client, _config, _journal, _list_cells, _list_table, _print_tasks, _task_info

if TYPE_CHECKING:
    pass

# --------------------------------------------------------------------------------------------
# list, show, top, delete, meta


def run_list(args: argparse.Namespace) -> int:
    from ..errors import InputError
    from .listing import iter_tasks, parse_day

    today = date.today()
    start = parse_day(args.start, "--from") if args.start else today.replace(day=1)
    end = parse_day(args.end, "--to") if args.end else today
    if end < start:
        raise InputError(f"--to {args.end} is before --from {start:%Y%m%d}")
    config = _config(args)
    count = 0
    with _client(args, config) as client:
        table = _list_table(sys.stdout) if args.format == "table" else None
        for info in iter_tasks(client, start, end):
            if args.status and info.get("taskStatus") != args.status:
                continue
            count += 1
            if table is None:
                sys.stdout.write(json.dumps(info, ensure_ascii=False) + "\n")
            else:
                table.row(_list_cells(info))
    which = f" with status {args.status}" if args.status else ""
    summary = f"{count} task{'s' if count != 1 else ''}{which} created from {start:%Y%m%d} to {end:%Y%m%d}"
    if args.format == "table":
        print(summary)
    else:
        print(summary, file=sys.stderr)
    return ExitStatus.OK


def run_show(args: argparse.Namespace) -> int:
    config = _config(args)
    with _client(args, config) as client:
        _print_tasks((_task_info(client, taskid) for taskid in args.taskids), args.format)
    return ExitStatus.OK


def run_top(args: argparse.Namespace) -> int:
    from ..errors import ApiError
    from .status import confirmed

    config = _config(args)
    with _client(args, config) as client:
        for taskid in args.taskids:
            try:
                status = (_task_info(client, taskid).get("taskStatus") or "").lower()
                if status in ("succ", "fail"):
                    print(f"{taskid}: already finished ({status}): there is no queue to move it in")
                    continue
                client.top_task_by_task_id(taskid=taskid)
            except ApiError as exc:
                raise confirmed(client, taskid, exc) from None
            print(f"{taskid}: moved to the head of the queue ({status or 'waiting'})")
    return ExitStatus.OK


def run_delete(args: argparse.Namespace) -> int:
    from ..errors import ApiError
    from .status import TaskMissing, confirmed

    config = _config(args)
    with _client(args, config) as client:
        with _journal(args, config, client, mode="read") as journal:
            for taskid in args.taskids:
                try:
                    client.del_task_by_task_id(taskid=taskid)
                except ApiError as exc:
                    # DelTaskByTaskID is retried after a lost answer: an error, then, is done when
                    # the task list confirms the task is gone
                    error = confirmed(client, taskid, exc)
                    if not (isinstance(error, TaskMissing) and exc.attempts > 1):
                        raise error from None
                journal.record_statuses([(taskid, "deleted", "deleted with presetsync tasks delete")], time.time())
                print(f"{taskid}: deleted")
    return ExitStatus.OK


def run_meta(args: argparse.Namespace) -> int:
    from ..errors import ApiError, ServiceError
    from .meta import AVINFO_ONLY, meta_error, meta_items, summarise

    config = _config(args)
    with _client(args, config) as client:
        for n, taskid in enumerate(args.taskids):
            try:
                listed = client.get_task_meta_info(taskid=taskid)
            except ApiError as exc:
                raise meta_error(client, taskid, exc) from None
            items = list(meta_items(listed))
            if not items:
                raise ServiceError(f"task {taskid}: GetTaskMetaInfo answered no meta information; {AVINFO_ONLY}")
            if args.format == "json":
                print(json.dumps(items[0][1] if len(items) == 1 else dict(items), indent=2, ensure_ascii=False))
                continue
            if n:
                print()
            for item_id, meta in items:
                print(f"task {item_id or taskid}")
                for line in summarise(meta):
                    print(f"  {line}")
    return ExitStatus.OK
