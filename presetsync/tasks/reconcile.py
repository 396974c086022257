"""Reconciliation: the service, not the journal, decides whether a task exists.

Before anything is sent, and again after a round that left tasks in doubt, every scope task
that the journal does not know to exist (missing from the journal, ``planned``, ``failed``,
or ``sending`` with a gone owner: see :mod:`.journal`) is looked for in the service, so that
a fresh journal (a new CI runner, another laptop) or a crash never sends a task twice:

* **the window**: GetTaskList over the creation days from the earliest of: *lookback_days*
  ago (30 by default: ``tasks.lookback_days``, ``--since``), when the earliest unsettled
  scope task was planned or last sent; minus :data:`~.listing.MARGIN` for clock skew; the
  UTC days widened by a day each way, since the service's time zone is not stated
  (:func:`~.listing.covering_days`). Paged, one page in memory at a time; the tasks seen go
  to the journal's ``listed`` table.
* **the match**: a listed task is the scope task with the same identity
  (:func:`~.identity.task_identity` of its CreateTask fields, as listed) whose task id the
  journal does not know (now or in its history: a task that failed and was sent again by
  ``retry`` is not taken for its new attempt). TopTaskByTaskID sets ``isTop`` after
  creation, so a listed task with ``isTop`` 1 also matches the same body with ``isTop`` 0.
* **the copy**: with several listed copies, the earliest live one (init, exec, succ), else
  the latest failed or deleted one. Two live copies of one task are *duplicates*: reported,
  and the command exits non-zero.
* **the grace**: tasks in doubt are settled only once :data:`DEFAULT_GRACE` seconds passed
  since they were last in doubt, so that a request still travelling lands before the list
  is read. A task in doubt that the list does not show certainly was not created (or will
  not be), and is planned again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from ..api.client import OfflineClient
from .identity import task_identity
from .journal import BATCH, SENDING, SUBMITTED, Journal
from .journal_db import Row
from .journal_schema import LIVE, UNKNOWN_TASKID
from .listing import MARGIN, covering_days, iter_tasks

DEFAULT_GRACE = 5.0
DEFAULT_LOOKBACK_DAYS = 30
_PAGE = 500


@dataclass
class Reconciliation:
    """What one reconciliation did: ``listed`` service tasks read; ``found`` scope tasks that
    exist in the service (``found_ids`` for a dry run); of the tasks in doubt,
    ``doubts_found`` and ``doubts_not_found`` (planned again); ``duplicates``."""

    listed: int = 0
    found: int = 0
    found_ids: dict[str, str] = field(default_factory=dict)
    doubts_found: list[str] = field(default_factory=list)
    doubts_not_found: list[str] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)
    duplicate_count: int = 0


def listed_identities(info: dict[str, Any]) -> list[str]:
    """The identities a listed task may have (see the module doc)."""
    identities = [task_identity(info)]
    if str(info.get("isTop", "0")) not in ("0", ""):
        identities.append(task_identity({**info, "isTop": 0}))
    return identities


def wait_grace(
    journal: Journal, grace: float, clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep
) -> None:
    """Wait until *grace* seconds passed since any journal task was last in doubt."""
    last = journal.last_doubt()
    if last is not None and last + grace > clock():
        sleep(last + grace - clock())


def read_service(
    client: OfflineClient, journal: Journal, *, lookback_days: float, clock: Callable[[], float] = time.time
) -> int:
    """Read the service's tasks of the window (see the module doc) into the journal's
    ``listed`` table, a page at a time; returns how many were read."""
    now = clock()
    since = min(now - lookback_days * 86400.0, journal.unsettled_since() or now)
    start, end = covering_days(since - MARGIN, now)
    journal.db.execute("DELETE FROM listed")
    insert = "INSERT INTO listed (taskid, id, status, created) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING"
    count = 0
    page: list[tuple[str, str, str, str]] = []  # taskid, identity, status, created
    for info in iter_tasks(client, start, end):
        taskid = info["taskid"]  # every listed task has one (GetTaskList's declared result)
        count += 1
        status, created = str(info.get("taskStatus") or "unknown"), str(info.get("createTime") or "")
        page += [(taskid, identity, status, created) for identity in listed_identities(info)]
        if len(page) >= _PAGE:
            journal.db.executemany(insert, page)
            page = []
    journal.db.executemany(insert, page)
    return count


def settle(
    journal: Journal, *, after: int = 0, record: bool = True, clock: Callable[[], float] = time.time
) -> Reconciliation:
    """Decide the scope's unsettled tasks (after scope position *after*) with the tasks
    :func:`read_service` read: found ones are submitted; tasks in doubt not found are planned
    again. Without *record* nothing is written (``found_ids`` tells what would be)."""
    doubts = journal.in_doubt(after) if record else []
    result = Reconciliation()
    _resolve(journal, result, clock(), record=record, after=after)
    if doubts:
        states = journal.states_of([e.id for e in doubts])
        result.doubts_found = [e.id for e in doubts if states.get(e.id) == SUBMITTED]
        gone = [(e.id, e.owner) for e in doubts if states.get(e.id) != SUBMITTED]
        journal.settle_not_found(gone, clock())
        result.doubts_not_found = [task_id for task_id, _ in gone]
    return result


def reconcile(
    client: OfflineClient,
    journal: Journal,
    *,
    lookback_days: float = DEFAULT_LOOKBACK_DAYS,
    grace: float = DEFAULT_GRACE,
    record: bool = True,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> Reconciliation:
    """Reconcile the whole scope with the service: wait out the grace, read the service,
    settle (see the module doc). Without *record* (dry runs) nothing is written and nothing
    waits. Raises ServiceError when the list cannot be read: nothing is recorded then."""
    if record:
        wait_grace(journal, grace, clock, sleep)
    listed = read_service(client, journal, lookback_days=lookback_days, clock=clock)
    result = settle(journal, record=record, clock=clock)
    result.listed = listed
    return result


# --------------------------------------------------------------------------------------------
# Matching, in SQL: the scope and the ``listed`` table of the journal's database


def _best(copies: list[tuple[str, str, str]]) -> tuple[str, str]:
    """Of the listed copies (taskid, status, created) of one task, the one it is: the earliest
    live one (init, exec, succ), else the latest failed or deleted one."""
    live = [c for c in copies if c[1] not in ("fail", "deleted")]
    chosen = min(live, key=lambda c: (c[2], c[0])) if live else max(copies, key=lambda c: (c[2], c[0]))
    return chosen[0], chosen[1]


def _resolve(journal: Journal, result: Reconciliation, now: float, *, record: bool, after: int) -> None:
    """Match the scope's unsettled tasks (after *after*) with the listed service tasks (same
    identity, a task id the journal does not know): each found one becomes ``submitted`` with
    the id of its copy (:func:`_best`). Claims of submitters still alive are left alone.
    Without *record* nothing is written and ``found_ids`` tells what would be."""
    db = journal.db
    live = db.live_owners() - {db.owner}
    sql = (
        "SELECT s.seq, s.id, COALESCE(t.state, 'new'), t.owner, l.taskid, l.status, l.created "
        "FROM scope s LEFT JOIN tasks t ON t.id = s.id JOIN listed l ON l.id = s.id "
        "WHERE s.seq > ? AND COALESCE(t.state, 'new') IN ('new', 'planned', 'failed', 'sending') "
        f"AND {UNKNOWN_TASKID} ORDER BY s.seq, l.created, l.taskid LIMIT ?"
    )
    position = after
    while True:
        rows = db.rows(sql, [position, BATCH])
        if not rows:
            break
        if len(rows) == BATCH and rows[0][0] != rows[-1][0]:  # the last task may go on in the next page
            rows = [row for row in rows if row[0] != rows[-1][0]]
        groups: dict[str, list[Row]] = {}
        for row in rows:
            groups.setdefault(row[1], []).append(row)
        found: list[tuple[str, str, str]] = []
        for task_id, copies in groups.items():
            state, owner = copies[0][2], copies[0][3]
            if state == SENDING and owner in live:
                continue
            taskid, status = _best([(c[4], c[5], c[6]) for c in copies])
            found.append((task_id, taskid, status))
        if record and not journal.readonly:
            found = _record_found(journal, found, now)
        result.found += len(found)
        if not record:
            result.found_ids.update((task_id, taskid) for task_id, taskid, _ in found)
        position = rows[-1][0]
    result.duplicate_count, result.duplicates = _duplicates(journal, after)


def _record_found(journal: Journal, found: list[tuple[str, str, str]], now: float) -> list[tuple[str, str, str]]:
    done: list[tuple[str, str, str]] = []
    with journal.db.transaction() as db:
        for task_id, taskid, status in found:
            changed = db.execute(
                "UPDATE tasks SET state = 'submitted', taskid = ?, error = NULL, submitted_at = ?, status = ?, "
                "status_error = NULL, status_at = ?, owner = NULL, updated_at = ? "
                "WHERE id = ? AND state IN ('planned', 'failed', 'sending') "
                "AND NOT EXISTS (SELECT 1 FROM tasks k WHERE k.taskid = ?)",
                (taskid, now, status, now, now, task_id, taskid),
            )
            if changed:
                journal.event(task_id, now, "found", taskid, "found in GetTaskList")
                done.append((task_id, taskid, status))
    return done


def _duplicates(journal: Journal, after: int, limit: int = 20) -> tuple[int, list[tuple[str, str]]]:
    """Scope tasks (after *after*) with a live copy in the service besides their own live one."""
    live = ", ".join(f"'{s}'" for s in LIVE)
    sql = (
        "FROM scope s JOIN tasks t ON t.id = s.id JOIN listed l ON l.id = s.id "
        f"WHERE s.seq > ? AND t.state = 'submitted' AND l.taskid != t.taskid AND l.status IN ({live}) "
        "AND COALESCE(t.status, 'init') NOT IN ('fail', 'deleted') "
        "AND NOT EXISTS (SELECT 1 FROM tasks k WHERE k.taskid = l.taskid) "
        "AND NOT EXISTS (SELECT 1 FROM history h WHERE h.taskid = l.taskid AND h.id != s.id)"
    )
    count = journal.db.count(f"SELECT count(DISTINCT s.id) {sql}", [after])
    if not count:
        return 0, []
    rows = journal.db.rows(f"SELECT s.id, l.taskid {sql} ORDER BY s.seq LIMIT ?", [after, limit])
    return count, [(row[0], row[1]) for row in rows]
