"""Live status of a manifest's tasks: refresh, show, wait, and pick the failed ones for retry.

The journal keeps the last status seen for each submitted task. :func:`refresh` reads the
statuses that may still change (not ``succ``, ``fail`` or ``deleted``):

* a few tasks (up to :data:`FEW`): one GetTaskByTaskID each;
* more: one pass over GetTaskList across the days they were submitted (100 per request),
  then GetTaskByTaskID for any the list did not show.

A task is recorded as ``deleted`` only when GetTaskByTaskID answers an error *and*
GetTaskList does not list it in its creation days (:func:`listed_or_missing`): the service's
error numbers are not documented, so no number alone means "not found". An error about a
task that is listed is reported as the error it is.

:func:`wait` refreshes until every submitted task is finished, sleeping with capped
exponential backoff between polls, or until its timeout.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from itertools import islice
from typing import Any, Callable, TextIO, TypedDict

from ..api.client import OfflineClient
from ..errors import ApiError, ServiceError
from ..terminal import STATUS_STYLES, Column, Table
from .identity import output_of
from .journal import FAILED, SUBMITTED, Entry, Journal
from .listing import MARGIN, covering_days, creation_window, find_listed, iter_tasks

FEW = 50
RUNNING = ("init", "exec", "submitted")  # "submitted": status not read yet
ORDER = ("succ", "fail", "exec", "init", "submitted", "deleted", "sending", "failed", "planned", "new")
LABELS = {
    "submitted": "status unknown",
    "sending": "in doubt",
    "failed": "not submitted (refused)",
    "planned": "not submitted",
    "new": "not submitted",
}


def _error_of(info: dict[str, Any]) -> str | None:
    if info.get("taskStatus") != "fail":
        return None
    return f"errorCode {info.get('errorCode', '?')}: {info.get('errorMsg') or 'no message'}"


# --------------------------------------------------------------------------------------------
# Errors that may mean "no such task"


class TaskMissing(ServiceError):
    """GetTaskList confirmed that a task the service answered an error about does not exist."""

    def __init__(self, taskid: str, error: ApiError):
        start, end = creation_window(taskid) or (None, None)
        super().__init__(
            f"task {taskid} does not exist: GetTaskList does not list it among the tasks created "
            f"{start:%Y%m%d} to {end:%Y%m%d} ({error})"
        )


def may_mean_missing(error: ApiError) -> bool:
    """Whether *error* could be the service's way of saying "no such task": an application
    error (HTTP 200, errNum != 0) or an HTTP 4xx other than a refused signature or
    throttling, with a JSON body."""
    if error.excerpt is not None:
        return False
    return error.status == 200 or (400 <= error.status < 500 and error.status not in (401, 403, 429))


def listed_or_missing(client: OfflineClient, taskid: str, error: ApiError) -> dict[str, Any] | None:
    """After *error* answered a request about *taskid*: the task as GetTaskList shows it in
    its creation days, or None when it is not listed there (it does not exist). Raises
    *error* itself when this cannot be checked: an error that cannot mean "not found", or a
    task id that names no creation day."""
    if not may_mean_missing(error) or creation_window(taskid) is None:
        raise error
    return find_listed(client, [taskid]).get(taskid)


def confirmed(client: OfflineClient, taskid: str, error: ApiError) -> ServiceError:
    """What to report after *error* answered a request about *taskid*: :class:`TaskMissing`
    when the list confirms it, else *error* as it is."""
    return TaskMissing(taskid, error) if listed_or_missing(client, taskid, error) is None else error


def _within(window: tuple[date, date] | None, covered: tuple[date, date] | None) -> bool:
    return window is not None and covered is not None and covered[0] <= window[0] and window[1] <= covered[1]


def _confirm_deleted(
    client: OfflineClient, errors: dict[str, ApiError], covered: tuple[date, date] | None
) -> list[tuple[str, str, str | None]]:
    """Statuses ``deleted`` for the task ids whose GetTaskByTaskID answered an error and that
    GetTaskList does not list in their creation days (already listed in full when *covered*
    includes them); raises the error of one that is listed."""
    for taskid, error in errors.items():
        if not may_mean_missing(error) or creation_window(taskid) is None:
            raise error
    unsure = [taskid for taskid in errors if not _within(creation_window(taskid), covered)]
    for taskid in find_listed(client, unsure) if unsure else {}:
        raise errors[taskid]
    note = "the service no longer has this task (an error answer, and GetTaskList does not list it)"
    return [(taskid, "deleted", note) for taskid in errors]


def _status_by_id(client: OfflineClient, taskid: str) -> tuple[str, str, str | None] | ApiError:
    """(task id, status, error) from GetTaskByTaskID, or the ApiError it answered."""
    try:
        info = client.get_task_by_task_id(taskid=taskid)
    except ApiError as exc:
        return exc
    return taskid, str(info.get("taskStatus") or "unknown"), _error_of(info)


def _chunks(entries: Iterator[Entry], size: int) -> Iterator[list[Entry]]:
    while True:
        chunk = list(islice(entries, size))
        if not chunk:
            return
        yield chunk


def refresh(
    client: OfflineClient,
    journal: Journal,
    *,
    parallelism: int = 4,
    clock: Callable[[], float] = time.time,
) -> None:
    """Read the live status of the scope's unfinished submitted tasks into the journal."""
    started = clock()
    covered = None  # creation days listed in full by the pass below
    if sum(1 for _ in islice(journal.scope_to_refresh(), FEW + 1)) > FEW:
        span = journal.scope_submitted_range()
        if span is not None:
            start, end = covering_days(span[0] - MARGIN, max(span[1], started))
            covered = (start, end)
            page: list[tuple[str, str, str | None]] = []
            for info in iter_tasks(client, start, end):
                page.append((info["taskid"], str(info.get("taskStatus") or "unknown"), _error_of(info)))
                if len(page) >= 100:
                    journal.record_statuses(page, clock())
                    page = []
            journal.record_statuses(page, clock())
    with ThreadPoolExecutor(max(1, parallelism)) as pool:
        for chunk in _chunks(journal.scope_to_refresh(since=started), 200):
            answers = list(pool.map(lambda e: _status_by_id(client, e.taskid or ""), chunk))
            statuses = [answer for answer in answers if not isinstance(answer, ApiError)]
            errors = {e.taskid or "": a for e, a in zip(chunk, answers) if isinstance(a, ApiError)}
            if errors:
                statuses += _confirm_deleted(client, errors, covered)
            journal.record_statuses(statuses, clock())


def reopen_failed(journal: Journal, clock: Callable[[], float] = time.time) -> int:
    """Turn the scope's submitted tasks whose status is ``fail`` back into ``failed`` (to be
    sent again); returns how many."""
    count = 0
    for entry in journal.scope_entries([SUBMITTED]):
        if entry.status == "fail":
            journal.reopen(entry, f"task {entry.taskid} failed: {entry.status_error or 'no reason given'}", clock())
            count += 1
    return count


# --------------------------------------------------------------------------------------------
# Showing


def condition(entry: Entry) -> str:
    """One word for where a task stands: its live status when submitted, else its journal state."""
    if entry.state == SUBMITTED:
        return entry.status or "submitted"
    return entry.state


def summary_text(counts: dict[str, int]) -> str:
    total = sum(counts.values())
    parts = [f"{counts[key]} {LABELS.get(key, key)}" for key in ORDER if counts.get(key)]
    parts += [f"{n} {key}" for key, n in sorted(counts.items()) if key not in ORDER and n]
    return f"{total} task{'s' if total != 1 else ''}: " + (", ".join(parts) if parts else "none")


class _TaskRecord(TypedDict):
    id: str
    source: str
    preset: str | None
    output: str
    state: str
    taskid: str | None
    status: str | None


class TaskRecord(_TaskRecord, total=False):
    """A task as ``tasks status --format json`` shows it: ``error`` only when there is one."""

    error: str


def entry_record(entry: Entry) -> TaskRecord:
    body = entry.body
    record: TaskRecord = {
        "id": entry.id,
        "source": entry.source,
        "preset": body.get("preset"),
        "output": output_of(body),
        "state": entry.state,
        "taskid": entry.taskid,
        "status": entry.status if entry.state == SUBMITTED else None,
    }
    error = entry.status_error if entry.state == SUBMITTED else entry.error if entry.state == FAILED else None
    if error:
        record["error"] = error
    return record


TABLE_COLUMNS = (  # on a narrow terminal: ID left out, PRESET and OUTPUT cut, never TASKID
    Column("ID", 12, drop=1),
    Column("STATUS", 10, least=9, styles=STATUS_STYLES),
    Column("TASKID", 40),
    Column("PRESET", 24, least=10),
    Column("OUTPUT", least=12, keep_end=True),
)


def entry_cells(entry: Entry) -> tuple[list[str], str | None]:
    """A task's table cells, and its error if any."""
    body = entry.body
    cells = [entry.short_id, condition(entry), entry.taskid or "-", str(body.get("preset", "")), output_of(body)]
    return cells, entry_record(entry).get("error")


def print_scope(journal: Journal, out: TextIO, fmt: str) -> dict[str, int]:
    """Print every scope task (streamed) and the summary; returns the counts."""
    counts = journal.scope_statuses()
    if fmt == "json":
        out.write('{"tasks": [')
        for n, entry in enumerate(journal.scope_entries()):
            out.write(("," if n else "") + "\n  " + json.dumps(entry_record(entry), ensure_ascii=False))
        out.write('\n],\n"summary": ' + json.dumps(dict(sorted(counts.items()))) + "}\n")
        return counts
    table = Table(out, TABLE_COLUMNS)
    table.header()
    for entry in journal.scope_entries():
        table.row(*entry_cells(entry))
    out.write(summary_text(counts) + "\n")
    return counts


# --------------------------------------------------------------------------------------------
# Waiting


@dataclass
class Backoff:
    """Delays between polls: ``first``, then times ``factor`` each poll, at most ``cap``."""

    first: float = 1.0
    factor: float = 1.5
    cap: float = 30.0

    def delays(self) -> Iterator[float]:
        delay = self.first
        while True:
            yield delay
            delay = min(self.cap, delay * self.factor)


@dataclass
class WaitResult:
    counts: dict[str, int]
    timed_out: bool
    polls: int

    @property
    def running(self) -> int:
        return sum(self.counts.get(key, 0) for key in RUNNING)

    @property
    def all_succeeded(self) -> bool:
        return sum(self.counts.values()) == self.counts.get("succ", 0)


def wait(
    client: OfflineClient,
    journal: Journal,
    *,
    timeout: float | None,
    parallelism: int = 4,
    backoff: Backoff | None = None,
    report: Callable[[str], None] = lambda line: None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> WaitResult:
    """Poll until no submitted task of the scope is init or exec, or until *timeout* seconds
    (None: no limit). Each poll reports one line of counts."""
    deadline = None if timeout is None else clock() + timeout
    delays = (backoff or Backoff()).delays()
    polls = 0
    while True:
        refresh(client, journal, parallelism=parallelism)
        polls += 1
        result = WaitResult(journal.scope_statuses(), False, polls)
        report(f"waiting: {summary_text(result.counts)}")
        if result.running == 0:
            return result
        if deadline is not None and clock() >= deadline:
            result.timed_out = True
            return result
        delay = next(delays)
        if deadline is not None:
            delay = min(delay, max(0.0, deadline - clock()))
        sleep(delay)
