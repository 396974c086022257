"""``presetsync tasks list|show|top|delete|meta``: the account's task list and single tasks
by id (the parser is in :mod:`.tasks_parser`), through the Context's client."""

from __future__ import annotations

import json
import sys
import time
from datetime import date

from ..errors import ExitStatus
from .context import Context
from .tasks import list_cells, list_table, open_journal, print_tasks, task_info

# --------------------------------------------------------------------------------------------
# list, show, top, delete, meta


def run_list(ctx: Context) -> int:
    from ..errors import InputError
    from ..tasks.listing import iter_tasks, parse_day

    args = ctx.args
    today = date.today()
    start = parse_day(args.start, "--from") if args.start else today.replace(day=1)
    end = parse_day(args.end, "--to") if args.end else today
    if end < start:
        raise InputError(f"--to {args.end} is before --from {start:%Y%m%d}")
    count = 0
    client = ctx.client()
    table = list_table(sys.stdout) if args.format == "table" else None
    for info in iter_tasks(client, start, end):
        if args.status and info.get("taskStatus") != args.status:
            continue
        count += 1
        if table is None:
            sys.stdout.write(json.dumps(info, ensure_ascii=False) + "\n")
        else:
            table.row(list_cells(info))
    which = f" with status {args.status}" if args.status else ""
    summary = f"{count} task{'s' if count != 1 else ''}{which} created from {start:%Y%m%d} to {end:%Y%m%d}"
    if args.format == "table":
        print(summary)
    else:
        print(summary, file=sys.stderr)
    return ExitStatus.OK


def run_show(ctx: Context) -> int:
    client = ctx.client()
    print_tasks((task_info(client, taskid) for taskid in ctx.args.taskids), ctx.args.format)
    return ExitStatus.OK


def run_top(ctx: Context) -> int:
    from ..errors import ApiError
    from ..tasks.status import confirmed

    client = ctx.client()
    for taskid in ctx.args.taskids:
        try:
            status = (task_info(client, taskid).get("taskStatus") or "").lower()
            if status in ("succ", "fail"):
                print(f"{taskid}: already finished ({status}): there is no queue to move it in")
                continue
            client.top_task_by_task_id(taskid=taskid)
        except ApiError as exc:
            raise confirmed(client, taskid, exc) from None
        print(f"{taskid}: moved to the head of the queue ({status or 'waiting'})")
    return ExitStatus.OK


def run_delete(ctx: Context) -> int:
    from ..errors import ApiError
    from ..tasks.status import TaskMissing, confirmed

    client = ctx.client()
    with open_journal(ctx, mode="read") as journal:
        for taskid in ctx.args.taskids:
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


def run_meta(ctx: Context) -> int:
    from ..errors import ApiError, ServiceError
    from ..tasks.meta import AVINFO_ONLY, meta_error, meta_items, summarise

    client = ctx.client()
    for n, taskid in enumerate(ctx.args.taskids):
        try:
            listed = client.get_task_meta_info(taskid=taskid)
        except ApiError as exc:
            raise meta_error(client, taskid, exc) from None
        items = list(meta_items(listed))
        if not items:
            raise ServiceError(f"task {taskid}: GetTaskMetaInfo answered no meta information; {AVINFO_ONLY}")
        if ctx.args.format == "json":
            print(json.dumps(items[0][1] if len(items) == 1 else dict(items), indent=2, ensure_ascii=False))
            continue
        if n:
            print()
        for item_id, meta in items:
            print(f"task {item_id or taskid}")
            for line in summarise(meta):
                print(f"  {line}")
    return ExitStatus.OK
