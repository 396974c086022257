"""The ``presetsync tasks`` command group: its parser. The commands are in :mod:`.tasks`
(submit, retry, status, wait) and :mod:`.tasks_single` (list, show, top, delete, meta); the
work is done by :mod:`presetsync.tasks`.

    presetsync tasks submit MANIFEST [--parallelism N] [--dry-run] [--allow-overwrite] [--since YYYYMMDD] [--quiet]
    presetsync tasks retry MANIFEST [--parallelism N] [--allow-overwrite] [--quiet]
    presetsync tasks status [MANIFEST | TASKID...] [--format table|json]
    presetsync tasks wait MANIFEST [--timeout S]
    presetsync tasks list [--from YYYYMMDD] [--to YYYYMMDD] [--status S] [--format table|json]
    presetsync tasks show TASKID... [--format text|json]
    presetsync tasks top TASKID...
    presetsync tasks delete TASKID...
    presetsync tasks meta TASKID... [--format text|json]

Every command takes ``-c/--config``, ``--endpoint`` (a URL or ``local``), ``--region`` and
``--use-ssl``. Exit codes (on top of README's table):

* submit, retry: 0 every task of the manifest is submitted; 1 invalid manifest, a preset
  that does not exist, bad flags (nothing sent); 3 refused (the journal is in use by another
  submission, or tasks would overwrite the outputs of other submitted tasks without
  ``--allow-overwrite``); 4 some tasks failed, are in doubt, exist twice or were not sent
  (reported), or a service error; 130 interrupted (what stands is reported);
* wait: 0 every task succeeded; 4 some task failed, was deleted or is not submitted;
  5 the timeout passed with tasks still running;
* status, list, show, top, delete, meta: 0; 1 bad arguments; 4 service error (a task id that
  does not exist included).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ExitStatus
from .context import Context, add_config_option, add_connection_options
from .tasks import STATUSES, run_retry, run_status, run_submit, run_wait
from .tasks_single import run_delete, run_list, run_meta, run_show, run_top

if TYPE_CHECKING:
    from .context import Subparsers

# --------------------------------------------------------------------------------------------
# The parser


def _common(parser: argparse.ArgumentParser) -> None:
    add_config_option(parser)
    add_connection_options(parser)


def _task_ids(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("taskids", nargs="+", metavar="TASKID", help="task id(s), as CreateTask returned them")


def _add(
    sub: Subparsers, name: str, help: str, description: str, func: Callable[[Context], int]
) -> argparse.ArgumentParser:
    parser = sub.add_parser(name, help=help, description=description)
    parser.set_defaults(func=func)
    return parser


def register(sub: Subparsers) -> argparse.ArgumentParser:
    """Add ``presetsync tasks ...`` to the main parser's subparsers."""
    tasks = sub.add_parser(
        "tasks",
        help="task manifests: submit (each task exactly once), status, wait, list, retry",
        description="Transcoding tasks as code: submit a manifest's tasks exactly once (a journal under "
        ".presetsync/ survives crashes), follow them, and manage single tasks.",
        epilog="Exit codes: 0 ok, 1 invalid input (nothing sent), 3 refused (nothing sent), "
        "4 failures or service error (reported), 5 'wait' timed out.",
    )
    tasks.set_defaults(func=lambda ctx: _print_help(tasks))
    group = tasks.add_subparsers(dest="tasks_command", metavar="COMMAND")

    submit = _add(
        group,
        "submit",
        "send a manifest's tasks, each exactly once",
        "Validate the manifest, check its presets exist in the service, then send every task not yet "
        "submitted. Safe to run again after any interruption: tasks in doubt are settled through "
        "GetTaskList before anything is sent again.",
        run_submit,
    )
    submit.add_argument("manifest", type=Path, metavar="MANIFEST")
    _submit_options(submit)
    submit.add_argument("--dry-run", action="store_true", help="show what would be sent; send nothing")
    _common(submit)

    retry = _add(
        group,
        "retry",
        "send again the manifest's failed tasks",
        "Resubmit the manifest's tasks whose status is fail and those the service refused, recording their "
        "new task ids (the old ones stay in the journal's history). Tasks not yet submitted are sent too.",
        run_retry,
    )
    retry.add_argument("manifest", type=Path, metavar="MANIFEST")
    _submit_options(retry)
    _common(retry)

    status = _add(
        group,
        "status",
        "status of a manifest's tasks, or of task ids",
        "Show each task of MANIFEST with its live status (read from the service), or the tasks given "
        "by id; without arguments, every task in the journal.",
        run_status,
    )
    status.add_argument("targets", nargs="*", metavar="MANIFEST|TASKID")
    status.add_argument("--format", choices=("table", "json"), default="table")
    status.add_argument("--parallelism", type=int, default=None, metavar="N", help="requests in flight")
    _common(status)

    wait = _add(
        group,
        "wait",
        "wait until a manifest's tasks are finished",
        "Poll (with backoff) until every submitted task of MANIFEST is succ or fail. Exit 0 when all "
        "succeeded, 4 when some failed or are not submitted, 5 on timeout.",
        run_wait,
    )
    wait.add_argument("manifest", type=Path, metavar="MANIFEST")
    wait.add_argument("--timeout", type=float, default=None, metavar="S", help="give up after S seconds (exit 5)")
    wait.add_argument("--parallelism", type=int, default=None, metavar="N", help="requests in flight")
    _common(wait)

    listing = _add(
        group,
        "list",
        "list the account's tasks (streamed)",
        "Page through GetTaskList (100 per request) and print each task as it comes. JSON output is one "
        "object per line.",
        run_list,
    )
    listing.add_argument("--from", dest="start", metavar="YYYYMMDD", help="first creation day (default: 1st of month)")
    listing.add_argument("--to", dest="end", metavar="YYYYMMDD", help="last creation day (default: today)")
    listing.add_argument("--status", choices=STATUSES, help="only tasks in this status")
    listing.add_argument("--format", choices=("table", "json"), default="table")
    _common(listing)

    show = _add(group, "show", "show tasks by id", "Print tasks as GetTaskByTaskID returns them.", run_show)
    _task_ids(show)
    show.add_argument("--format", choices=("text", "json"), default="text")
    _common(show)

    top = _add(group, "top", "put tasks at the head of the queue", "Call TopTaskByTaskID for each task.", run_top)
    _task_ids(top)
    _common(top)

    delete = _add(group, "delete", "delete tasks", "Call DelTaskByTaskID for each task.", run_delete)
    _task_ids(delete)
    _common(delete)

    meta = _add(
        group,
        "meta",
        "media information of finished tasks",
        "Read GetTaskMetaInfo and summarise its ffprobe-shaped meta_info: container, duration, size, "
        "bitrate, and each stream. --format json prints the parsed object.",
        run_meta,
    )
    _task_ids(meta)
    meta.add_argument("--format", choices=("text", "json"), default="text")
    _common(meta)
    return tasks


def _submit_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--parallelism", type=int, default=None, metavar="N", help="CreateTask requests in flight (default: config, 4)"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    parser.add_argument(
        "--since",
        metavar="YYYYMMDD",
        help="search the service's tasks created since this day for the manifest's tasks before sending "
        "(default: tasks.lookback_days, 30 days)",
    )
    parser.add_argument(
        "--allow-overwrite",
        action="store_true",
        help="send tasks even when an earlier submitted task with a different body wrote the same output",
    )


def _print_help(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return ExitStatus.ERROR  # a command group alone is bad usage
