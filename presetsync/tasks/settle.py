"""Settling tasks in doubt: did their CreateTask create a task or not? Ask GetTaskList.

A task is in doubt when the journal says ``sending``: the process died around a CreateTask,
or the client raised OutcomeUnknown (a dropped connection, a read timeout, a 503). Sending it
again could transcode it twice, never sending it again could leave a hole; so before
anything is sent, :func:`settle` reads the service's task list and decides:

* **the window**: tasks created from the earliest sending time minus :data:`MARGIN` (clock
  skew between this machine and the service: up to the 15 minutes a signature tolerates,
  plus timeouts) until now. GetTaskList selects by creation *day* in the service's time
  zone, which the API does not state, so the days asked for are the UTC days widened by one
  day each way, and a task whose ``createTime`` is before the window in every time zone
  (UTC-12 to UTC+14) is skipped;
* **the match**: same preset, dstBucket, dstObjectKey and srcInfo paths. A listed task whose
  id the journal already knows (another task's, or an earlier attempt's of this one, now in
  the history) is never taken, so an older task writing the same output is not mistaken for
  this one. When several tasks in doubt share all four, the remaining fields (dstAcl, cbUrl,
  extParam...) decide; if they cannot, those tasks stay in doubt;
* **the grace**: before listing, wait until :data:`DEFAULT_GRACE` seconds have passed since
  the last moment each task was in doubt, so that a request still travelling to the service
  lands before the list is read.

Found: the task is submitted, with the id it got. Not found: it certainly was not created
(or will not be), and may be sent again.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from ..api.client import OfflineClient
from .identity import match_key, normalise
from .journal import Entry, Journal
from .listing import covering_days, iter_tasks

MARGIN = 20 * 60.0
DEFAULT_GRACE = 5.0
_MOST_WESTERN_OFFSET = 12 * 3600.0  # UTC-12: the latest a local time can be, in UTC, is +12 h


@dataclass
class Settlement:
    """What a settlement found: ``found`` (id -> task id), ``not_found`` (ids), ``undecided``
    (ids left in doubt), ``duplicates`` ((id, task id) of extra service tasks that match a
    task already found: somebody else created the same task too)."""

    found: dict[str, str] = field(default_factory=dict)
    not_found: list[str] = field(default_factory=list)
    undecided: list[str] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)


def surely_before(create_time: Any, moment: float) -> bool:
    """Whether a ``createTime`` ("YYYY-MM-DD HH:MM:SS", service time zone) is before *moment*
    (Unix seconds) in every time zone."""
    try:
        naive = datetime.strptime(str(create_time), "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
    except ValueError:
        return False
    return naive.timestamp() + _MOST_WESTERN_OFFSET < moment


def _echo(body: dict[str, Any]) -> dict[str, Any]:
    """What a listed task and a sent body are compared on, beyond the match key."""
    out = normalise(body)
    out.pop("isTop", None)  # TopTaskByTaskID changes it after creation
    return out


class _Matcher:
    """Assigns listed tasks to tasks in doubt (see the module doc)."""

    def __init__(self, entries: Iterable[Entry], journal: Journal):
        self.journal = journal
        self.pending: dict[tuple, list[Entry]] = {}
        for entry in entries:
            self.pending.setdefault(match_key(entry.body), []).append(entry)
        self.result = Settlement()
        self._taken: set[str] = set()
        self._found: dict[tuple, str] = {}  # match key -> id of a task found under it
        self._blocked: set[tuple] = set()  # keys with a listed task that fits several of ours

    def offer(self, info: dict[str, Any]) -> None:
        key = match_key(info)
        if key not in self.pending:
            return
        taskid = str(info.get("taskid") or "")
        if not taskid or taskid in self._taken or self.journal.is_known_taskid(taskid):
            return
        group = self.pending[key]
        if not group:
            self.result.duplicates.append((self._found[key], taskid))
            return
        fits = [entry for entry in group if _echo(entry.body) == _echo(info)]
        if not fits and len(group) > 1:
            self._blocked.add(key)
            return
        entry = fits[0] if fits else group[0]
        group.remove(entry)
        self._taken.add(taskid)
        self._found[key] = entry.id
        self.result.found[entry.id] = taskid

    def finish(self) -> Settlement:
        for key, group in self.pending.items():
            target = self.result.undecided if key in self._blocked else self.result.not_found
            target.extend(entry.id for entry in group)
        return self.result


def settle(
    client: OfflineClient,
    journal: Journal,
    entries: list[Entry],
    *,
    grace: float = DEFAULT_GRACE,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> Settlement:
    """Settle *entries* (tasks in doubt) with one pass over GetTaskList; record the outcome in
    the journal; return it. Raises ServiceError when the list cannot be read (nothing is
    recorded then: the tasks stay in doubt)."""
    if not entries:
        return Settlement()
    last_doubt = max((e.doubt_at or e.sending_at or 0.0) for e in entries)
    wait = last_doubt + grace - clock()
    if wait > 0:
        sleep(wait)
    window_start = min((e.sending_at or clock()) for e in entries) - MARGIN
    now = clock()
    start, end = covering_days(window_start, now)
    matcher = _Matcher(entries, journal)
    for info in iter_tasks(client, start, end):
        if not surely_before(info.get("createTime"), window_start):
            matcher.offer(info)
    result = matcher.finish()
    journal.settle(result.found, result.not_found, clock())
    return result
