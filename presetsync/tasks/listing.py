"""Paging through GetTaskList: date windows, marker and limit, one page in memory at a time.

GetTaskList selects tasks by creation day (``startdate``/``enddate``, yyyymmdd, inclusive, in
the service's time zone) and pages with ``marker`` (an offset, echoed back) and ``limit``
(at most 100). A long range is asked for in windows of :data:`WINDOW_DAYS` days, since the
service's default range is 30 days and a longer one is not documented.

:func:`find_listed` looks task ids up in the list of their creation days: the service's
error numbers are not documented, so "no such task" is only ever concluded from a list.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta, timezone
from typing import Any

from ..api.client import OfflineClient
from ..errors import InputError

PAGE = 100
WINDOW_DAYS = 30
_DAY_SUFFIX = re.compile(r"[A-Za-z0-9]*?([0-9]{8})", re.ASCII)
#: Clock skew between this machine and the service that a window allows for: up to the 15
#: minutes a signature tolerates, plus timeouts.
MARGIN = 20 * 60.0


def yyyymmdd(day: date) -> int:
    return day.year * 10000 + day.month * 100 + day.day


def parse_day(text: str, option: str) -> date:
    """A ``YYYYMMDD`` command-line date."""
    try:
        return datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        raise InputError(f"{option} must be a date written YYYYMMDD, such as 20261101, not {text!r}") from None


def utc_day(timestamp: float) -> date:
    return datetime.fromtimestamp(timestamp, timezone.utc).date()


def covering_days(earliest: float, latest: float) -> tuple[date, date]:
    """Creation days that surely include every moment from *earliest* to *latest* (Unix
    seconds), whatever the service's time zone: their UTC days, widened by one day each way."""
    return utc_day(earliest) - timedelta(days=1), utc_day(latest) + timedelta(days=1)


def windows(start: date, end: date, days: int = WINDOW_DAYS) -> Iterator[tuple[int, int]]:
    """(startdate, enddate) pairs of at most *days* days covering *start* to *end*."""
    while start <= end:
        last = min(end, start + timedelta(days=days - 1))
        yield yyyymmdd(start), yyyymmdd(last)
        start = last + timedelta(days=1)


def iter_tasks(client: OfflineClient, start: date, end: date, *, limit: int = PAGE) -> Iterator[dict[str, Any]]:
    """Every task created from *start* to *end*, oldest first, one page of *limit* at a time."""
    for first, last in windows(start, end):
        marker = 0
        while True:
            page = client.get_task_list(startdate=first, enddate=last, marker=marker, limit=limit)
            yield from page.items
            marker += len(page.items)
            if len(page.items) < limit or marker >= page.total:
                break


def creation_window(taskid: str) -> tuple[date, date] | None:
    """The creation days to list to find *taskid*: the day its last eight characters name
    (every task id in the API's examples is 32 hex digits then its creation day, yyyymmdd),
    widened by a day each way since the service's time zone is not stated. None when the id
    does not end with a date."""
    match = _DAY_SUFFIX.fullmatch(taskid)
    if match is None:
        return None
    try:
        day = datetime.strptime(match.group(1), "%Y%m%d").date()
    except ValueError:
        return None
    return day - timedelta(days=1), day + timedelta(days=1)


def _merged(windows: Iterable[tuple[date, date]]) -> list[tuple[date, date]]:
    merged: list[tuple[date, date]] = []
    for start, end in sorted(windows):
        if merged and start <= merged[-1][1] + timedelta(days=1):
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def find_listed(client: OfflineClient, taskids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Those of *taskids* that GetTaskList shows in their creation windows
    (:func:`creation_window`), as listed, by id. Each day is listed at most once, and the
    listing stops when every id is found; ids that name no creation day are never found."""
    wanted = {taskid for taskid in taskids if creation_window(taskid) is not None}
    found: dict[str, dict[str, Any]] = {}
    for start, end in _merged(w for w in map(creation_window, wanted) if w is not None):
        for item in iter_tasks(client, start, end):
            taskid = item["taskid"]
            if taskid in wanted and taskid not in found:
                found[taskid] = item
                if len(found) == len(wanted):
                    return found
    return found
