"""Paging through GetTaskList: date windows, marker and limit, one page in memory at a time.

GetTaskList selects tasks by creation day (``startdate``/``enddate``, yyyymmdd, inclusive, in
the service's time zone) and pages with ``marker`` (an offset, echoed back) and ``limit``
(at most 100). A long range is asked for in windows of :data:`WINDOW_DAYS` days, since the
service's default range is 30 days and a longer one is not documented.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from typing import Any

from ..api.client import OfflineClient
from ..errors import InputError

PAGE = 100
WINDOW_DAYS = 30


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
            answer = client.get_task_list(startdate=first, enddate=last, marker=marker, limit=limit)
            items = answer.get("taskInfo") or []
            yield from (item for item in items if isinstance(item, dict))
            marker += len(items)
            total = answer.get("total")
            if len(items) < limit or (isinstance(total, int) and marker >= total):
                break
