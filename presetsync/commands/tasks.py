"""``presetsync tasks submit|retry|status|wait``: the commands that work on a manifest, and the
steps every tasks command shares (settings, the journal of the Context's target, the
manifest, task tables).

The parser, the usage and the exit codes are in :mod:`.tasks_parser`; single tasks and the
account's list in :mod:`.tasks_single`; the work in :mod:`presetsync.tasks`. Each command
takes the :class:`~.context.Context` (its one client included); cli.py maps exceptions to
exit statuses.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ..errors import ExitStatus
from .context import Context

if TYPE_CHECKING:
    from ..api.client import OfflineClient
    from ..config import Config
    from ..inputs.problems import Problem
    from ..tasks.journal import Journal
    from ..tasks.manifest import Manifest
    from ..terminal import Table

TASKID = re.compile(r"[A-Za-z0-9]{35,45}")
STATUSES = ("init", "exec", "succ", "fail")


# --------------------------------------------------------------------------------------------
# Shared steps


def checked_parallelism(ctx: Context) -> int:
    """``--parallelism`` (else the configuration's), checked: 1 to 64 requests in flight."""
    from ..errors import InputError

    value = ctx.parallelism
    if not 1 <= value <= 64:
        raise InputError(f"--parallelism must be from 1 to 64, got {value}")
    return value


def _seconds_setting(config: Config, key: str, default: float) -> float:
    from ..errors import ConfigError

    value = config.tasks.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ConfigError(f"tasks.{key} must be a number, at least 0, not {value!r}")
    return float(value)


def _grace(config: Config) -> float:
    from ..tasks.reconcile import DEFAULT_GRACE

    return _seconds_setting(config, "settle_grace", DEFAULT_GRACE)


def _lookback_days(ctx: Context) -> float:
    """How many days back the service is searched for the manifest's tasks (``--since``
    overrides ``tasks.lookback_days``)."""
    from ..tasks.listing import parse_day
    from ..tasks.reconcile import DEFAULT_LOOKBACK_DAYS

    since = getattr(ctx.args, "since", None)
    if since:
        return max(0.0, (date.today() - parse_day(since, "--since")).days + 1.0)
    return _seconds_setting(ctx.config, "lookback_days", DEFAULT_LOOKBACK_DAYS)


def open_journal(ctx: Context, *, mode: str = "write") -> Journal:
    """The journal of the Context's target (``local``, or the endpoint URL and access key id).

    *mode*: ``write`` (submit, retry: created if missing), ``read`` (status, wait, delete: an
    existing journal is updated with the statuses read, a missing one is not created) or
    ``dry`` (dry runs: nothing is written).
    """
    import os

    from ..tasks.journal import Journal, journal_path, target_key

    endpoint = ctx.target.endpoint
    key = target_key(endpoint, ctx.client().credentials.access_key_id)
    url = os.environ.get("PRESETSYNC_JOURNAL") or ctx.config.journal
    readonly = mode == "dry" or (mode == "read" and not url and not journal_path(ctx.state_dir, key).exists())
    return Journal.open(ctx.state_dir, key, endpoint=endpoint, readonly=readonly, url=url)


def _manifest(path: Path) -> Manifest | None:
    """The manifest, or None after printing its problems."""
    from ..tasks.manifest import load_manifest

    manifest = load_manifest(path)
    if manifest.problems:
        _print_problems(manifest.problems, manifest.file)
        return None
    return manifest


def _print_problems(problems: Iterable[Problem], file: str) -> None:
    problems = list(problems)
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"presetsync: {len(problems)} problem(s) in {file}; nothing was sent", file=sys.stderr)


# --------------------------------------------------------------------------------------------
# submit, retry


def run_submit(ctx: Context) -> int:
    return _submit(ctx, retry=False)


def run_retry(ctx: Context) -> int:
    ctx.args.dry_run = False
    return _submit(ctx, retry=True)


def _submit(ctx: Context, *, retry: bool) -> int:
    from ..tasks.check import submit_problems

    args = ctx.args
    config = ctx.config
    workers = checked_parallelism(ctx)
    grace = _grace(config)
    lookback = _lookback_days(ctx)
    manifest = _manifest(args.manifest)
    if manifest is None:
        return ExitStatus.ERROR
    client = ctx.client()
    problems = submit_problems(manifest, client, config)
    if problems:
        _print_problems(problems, manifest.file)
        return ExitStatus.ERROR
    with open_journal(ctx, mode="dry" if args.dry_run else "write") as record:
        if args.dry_run:
            return _dry_run(manifest, record, client, lookback)
        record.lock()
        return _send(ctx, manifest, record, parallelism=workers, grace=grace, lookback=lookback, retry=retry)


def _send(
    ctx: Context,
    manifest: Manifest,
    journal: Journal,
    *,
    parallelism: int,
    grace: float,
    lookback: float,
    retry: bool,
) -> int:
    from ..tasks.progress import Progress
    from ..tasks.status import refresh, reopen_failed
    from ..tasks.submit import Submitter

    args, client = ctx.args, ctx.client()
    total = manifest.count()
    progress = Progress(total, enabled=not args.quiet)
    submitter = Submitter(
        client,
        journal,
        parallelism=parallelism,
        grace=grace,
        lookback_days=lookback,
        allow_overwrite=args.allow_overwrite,
        progress=progress,
    )
    progress.note(f"submitting {manifest.file}: {total} task(s), {parallelism} in parallel")
    try:
        if retry:
            journal.add_scope(manifest.tasks(), persist=True)
            refresh(client, journal, parallelism=parallelism)
            progress.note(f"retry: {reopen_failed(journal)} task(s) with status fail will be sent again")
            result = submitter.run()
        else:
            result = submitter.run(manifest.tasks())
    except KeyboardInterrupt:  # before the submitter started sending (it reports its own interrupts)
        progress.finish()
        print("Interrupted: nothing was sent. Run the same command again to submit.")
        return ExitStatus.INTERRUPTED
    finally:
        progress.finish()  # also after an error: the bar ends its line and the cursor is shown again
    if result.overwrites:
        print(
            f"presetsync: refused: {result.overwrites} task(s) would write outputs that other, already submitted "
            f"tasks wrote (a task whose body changed is a new task); {result.sent} task(s) before them were sent:",
            file=sys.stderr,
        )
        for entry, taskid in result.overwrite_examples:
            print(f"  {entry.source}: {entry.body.get('dstBucket')}/{entry.body.get('dstObjectKey')} "
                  f"(written by task {taskid})", file=sys.stderr)  # fmt: skip
        print("Pass --allow-overwrite to send them anyway.", file=sys.stderr)
        return ExitStatus.REFUSED
    for line in result.summary():
        print(line)
    if result.interrupted:
        return ExitStatus.INTERRUPTED
    return ExitStatus.OK if result.ok else ExitStatus.PARTIAL


def _dry_run(manifest: Manifest, journal: Journal, client: OfflineClient, lookback: float) -> int:
    """Print what submit would do, task by task, and a summary; send and write nothing.
    The service is searched for the manifest's tasks as submit would (same numbers)."""
    from ..tasks.reconcile import reconcile

    total = journal.add_scope(manifest.tasks(), persist=False)
    found = reconcile(client, journal, lookback_days=lookback, record=False).found_ids
    verbs = {"new": "send", "planned": "send", "failed": "send", "sending": "settle", "submitted": "skip"}
    counts = {"send": 0, "skip": 0, "exists": 0, "settle": 0}
    for entry in journal.scope_entries():
        verb = verbs.get(entry.state, "skip")
        taskid = entry.taskid
        if entry.id in found and entry.state != "submitted":
            verb, taskid = "exists", found[entry.id]
        counts[verb] += 1
        note = f"  (submitted as {taskid})" if taskid else ""
        print(f"{verb:<6}  {entry.short_id}  {entry.source}  {entry.body_json}{note}")
    overwrites, _ = journal.overwrites()
    print(
        f"Dry run: {total} task(s): {counts['send']} would be sent, {counts['skip']} already submitted, "
        f"{counts['exists']} found in the service (not sent again), {counts['settle']} in doubt "
        "(settled through GetTaskList first); nothing was sent."
    )
    if overwrites:
        print(
            f"warning: {overwrites} task(s) would overwrite outputs of other submitted tasks: "
            "submit refuses them without --allow-overwrite"
        )
    return ExitStatus.OK


# --------------------------------------------------------------------------------------------
# status, wait


def _split_targets(targets: list[str]) -> tuple[Path | None, list[str]]:
    from ..errors import InputError

    manifests = [t for t in targets if Path(t).is_file() or t.endswith((".yaml", ".yml"))]
    ids = [t for t in targets if t not in manifests]
    bad = [t for t in ids if not TASKID.fullmatch(t)]
    if bad:
        raise InputError(f"{bad[0]!r} is neither a manifest file nor a task id (35 to 45 letters and digits)")
    if manifests and (ids or len(manifests) > 1):
        raise InputError("give one manifest, or task ids, not both")
    return (Path(manifests[0]) if manifests else None), ids


def run_status(ctx: Context) -> int:
    from ..tasks.status import print_scope, refresh

    args = ctx.args
    manifest_path, ids = _split_targets(args.targets)
    workers = checked_parallelism(ctx)
    if ids:
        client = ctx.client()
        print_tasks((task_info(client, taskid) for taskid in ids), args.format)
        return ExitStatus.OK
    manifest = None
    if manifest_path is not None:
        manifest = _manifest(manifest_path)
        if manifest is None:
            return ExitStatus.ERROR
    client = ctx.client()
    with open_journal(ctx, mode="read") as journal:
        if manifest is not None:
            journal.add_scope(manifest.tasks(), persist=False)
        else:
            journal.scope_all()
        refresh(client, journal, parallelism=workers)
        print_scope(journal, sys.stdout, args.format)
    return ExitStatus.OK


def run_wait(ctx: Context) -> int:
    from ..errors import InputError
    from ..tasks.status import summary_text, wait

    args = ctx.args
    if args.timeout is not None and args.timeout < 0:
        raise InputError(f"--timeout must not be negative, got {args.timeout}")
    workers = checked_parallelism(ctx)
    manifest = _manifest(args.manifest)
    if manifest is None:
        return ExitStatus.ERROR
    client = ctx.client()
    with open_journal(ctx, mode="read") as journal:
        journal.add_scope(manifest.tasks(), persist=False)
        result = wait(
            client,
            journal,
            timeout=args.timeout,
            parallelism=workers,
            report=lambda line: print(line, file=sys.stderr, flush=True),
        )
        print(summary_text(result.counts))
        if result.timed_out:
            print(f"Timed out after {args.timeout:g} s: {result.running} task(s) still running.")
            return ExitStatus.TIMEOUT
        if result.all_succeeded:
            print("All tasks succeeded.")
            return ExitStatus.OK
        _print_unsuccessful(journal)
    return ExitStatus.PARTIAL


def _print_unsuccessful(journal: Journal, limit: int = 20) -> None:
    from ..tasks.status import TABLE_COLUMNS, condition, entry_cells
    from ..terminal import Table

    shown = 0
    table = Table(sys.stdout, TABLE_COLUMNS, indent="  ")
    for entry in journal.scope_entries():
        if condition(entry) == "succ":
            continue
        if shown == limit:
            print("  ... and more ('presetsync tasks status MANIFEST' lists them all)")
            break
        table.row(*entry_cells(entry))
        shown += 1


# --------------------------------------------------------------------------------------------
# Tasks by id (status, and the commands in tasks_single.py)


def list_table(out: TextIO) -> Table:
    """The table of service tasks (a narrow terminal leaves CREATED out and cuts PRESET and
    OUTPUT, never TASKID), its header written."""
    from ..terminal import STATUS_STYLES, Column, Table

    table = Table(
        out,
        (
            Column("TASKID", 40),
            Column("STATUS", 6, styles=STATUS_STYLES),
            Column("CREATED", 19, drop=1),
            Column("PRESET", 24, least=10),
            Column("OUTPUT", least=12, keep_end=True),
        ),
    )
    table.header()
    return table


def list_cells(info: Mapping[str, Any]) -> list[str]:
    output = f"{info.get('dstBucket', '')}/{info.get('dstObjectKey', '')}"
    fields = ("taskid", "taskStatus", "createTime", "preset")
    return [*(str(info.get(name, "")) for name in fields), output]


def task_info(client: OfflineClient, taskid: str) -> dict[str, Any]:
    """GetTaskByTaskID's task; an error saying the task does not exist only when the task list
    confirms it."""
    from ..errors import ApiError
    from ..tasks.status import confirmed

    try:
        return client.get_task_by_task_id(taskid=taskid)
    except ApiError as exc:  # "does not exist" only when the task list confirms it
        raise confirmed(client, taskid, exc) from None


def print_tasks(infos: Iterable[Mapping[str, Any]], fmt: str) -> None:
    if fmt == "json":
        print(json.dumps(list(infos), indent=2, ensure_ascii=False))
        return
    if fmt == "table":
        table = list_table(sys.stdout)
        for info in infos:
            table.row(list_cells(info))
        return
    for n, info in enumerate(infos):
        if n:
            print()
        width = max((len(k) for k in info), default=0)
        for key, value in info.items():
            shown = json.dumps(value, ensure_ascii=False) if isinstance(value, (list, dict)) else value
            print(f"{key + ':':<{width + 1}} {shown}")
