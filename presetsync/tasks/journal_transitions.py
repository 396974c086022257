"""The journal's state changes (see :mod:`.journal` for the states), each in one transaction
with its line in ``history``.

:class:`Transitions` is a part of :class:`.journal.Journal` (a base class of it), kept apart
so that each module stays short. The per-task methods serve reconciliation, status and the
tests; the senders use the batch forms (:meth:`Transitions.claim_many`,
:meth:`Transitions.record_submitted_many`), which change the same rows and write the same
history lines with a few statements for many tasks: per statement, not per row, is where a
submitter's journal time goes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .journal_db import Database
from .journal_schema import Entry

#: Ids per statement in the batch forms (SQLite allows 999 placeholders before 3.32).
CHUNK = 500

_CLAIM = (
    "UPDATE tasks SET state = 'sending', owner = ?, attempts = attempts + 1, sending_at = ?, "
    "doubt_at = ?, updated_at = ? WHERE id {match} AND state IN ('planned', 'failed')"
)
_SUBMITTED = (
    "UPDATE tasks SET state = 'submitted', taskid = ?, error = NULL, submitted_at = ?, status = NULL, "
    "status_error = NULL, status_at = NULL, owner = NULL, updated_at = ? WHERE id = ?"
)
_EVENT = "INSERT INTO history (id, at, event, taskid, detail) VALUES (?, ?, ?, ?, ?)"


class Transitions:
    """The state changes of a journal's tasks; :class:`.journal.Journal` provides ``db``."""

    db: Database
    readonly: bool

    def event(self, task_id: str, now: float, event: str, taskid: str | None = None, detail: str | None = None) -> None:
        """A line in the history (within the caller's transaction)."""
        self.db.execute(_EVENT, (task_id, now, event, taskid, detail))

    def claim(self, task_id: str, now: float) -> bool:
        """Claim a planned or failed task for sending: committed before the CreateTask is sent,
        from then on the task may exist. False when another submitter claimed it, or it is
        no longer to be sent."""
        with self.db.transaction() as db:
            changed = db.execute(_CLAIM.format(match="= ?"), (db.owner, now, now, now, task_id))
            if changed:
                self.event(task_id, now, "sending")
        return bool(changed)

    def mark_submitted(self, task_id: str, taskid: str, now: float) -> None:
        with self.db.transaction():
            self.db.execute(_SUBMITTED, (taskid, now, now, task_id))
            self.event(task_id, now, "submitted", taskid)

    def claim_many(self, task_ids: Iterable[str], now: float) -> set[str]:
        """:meth:`claim` for several tasks in one transaction: which of *task_ids* this
        submitter claimed. Rows are locked in id order (as every submitter does, so two may
        wait for each other but never deadlock): on PostgreSQL by ``SELECT ... ORDER BY id FOR UPDATE``, which
        also skips the rows another submitter claimed meanwhile (their new state no longer
        matches); a SQLite transaction holds the whole file."""
        ordered = sorted(set(task_ids))
        claimed: list[str] = []
        lock = " FOR UPDATE" if self.db.kind == "postgresql" else ""
        with self.db.transaction() as db:
            for n in range(0, len(ordered), CHUNK):
                chunk = ordered[n : n + CHUNK]
                marks = ", ".join("?" * len(chunk))
                rows = db.rows(
                    f"SELECT id FROM tasks WHERE id IN ({marks}) AND state IN ('planned', 'failed') ORDER BY id{lock}",
                    chunk,
                )
                ids = [row[0] for row in rows]
                if not ids:
                    continue
                changed = db.execute(
                    _CLAIM.format(match=f"IN ({', '.join('?' * len(ids))})"), (db.owner, now, now, now, *ids)
                )
                if changed != len(ids):  # the rows are locked: nothing else can have changed them
                    raise RuntimeError(f"claimed {changed} of {len(ids)} locked journal tasks")
                db.executemany(_EVENT, [(task_id, now, "sending", None, None) for task_id in ids])
                claimed.extend(ids)
        return set(claimed)

    def record_submitted_many(self, submitted: Sequence[tuple[str, str, float]]) -> None:
        """:meth:`mark_submitted` for several tasks, (id, task id, when), in one transaction,
        in the order given (the senders give them in id order, see :meth:`claim_many`)."""
        with self.db.transaction() as db:
            db.executemany(_SUBMITTED, [(taskid, at, at, task_id) for task_id, taskid, at in submitted])
            db.executemany(_EVENT, [(task_id, at, "submitted", taskid, None) for task_id, taskid, at in submitted])

    def mark_failed(self, task_id: str, error: str, now: float) -> None:
        """The service refused the CreateTask: nothing was created."""
        with self.db.transaction():
            self.db.execute(
                "UPDATE tasks SET state = 'failed', error = ?, owner = NULL, updated_at = ? WHERE id = ?",
                (error, now, task_id),
            )
            self.event(task_id, now, "failed", detail=error)

    def mark_doubt(self, task_id: str, reason: str, now: float) -> None:
        """The outcome is unknown: the task stays ``sending`` until it is settled."""
        with self.db.transaction():
            self.db.execute("UPDATE tasks SET doubt_at = ?, updated_at = ? WHERE id = ?", (now, now, task_id))
            self.event(task_id, now, "unknown", detail=reason)

    def mark_unsent(self, task_id: str, reason: str, now: float) -> None:
        """The CreateTask certainly did not reach the service (connection refused)."""
        with self.db.transaction():
            self.db.execute(
                "UPDATE tasks SET state = 'planned', owner = NULL, attempts = attempts - 1, updated_at = ? "
                "WHERE id = ?",
                (now, task_id),
            )
            self.event(task_id, now, "not sent", detail=reason)

    def settle_not_found(self, doubts: Iterable[tuple[str, str | None]], now: float) -> None:
        """Tasks in doubt, (id, owner), that a reconciliation did not find: certainly not
        created, so planned again (to be claimed and sent) - unless another submitter took
        them over meanwhile."""
        with self.db.transaction():
            for task_id, owner in doubts:
                if self.db.execute(
                    "UPDATE tasks SET state = 'planned', owner = NULL, updated_at = ? "
                    "WHERE id = ? AND state = 'sending' AND COALESCE(owner, '') = ?",
                    (now, task_id, owner or ""),
                ):
                    self.event(task_id, now, "settled", None, "not in GetTaskList: to be sent again")

    def reopen(self, entry: Entry, reason: str, now: float) -> None:
        """A submitted task whose status is ``fail``: back to ``failed``, to be sent again
        (``retry``); its task id moves to the history."""
        with self.db.transaction():
            self.db.execute(
                "UPDATE tasks SET state = 'failed', taskid = NULL, error = ?, status = NULL, status_error = NULL, "
                "status_at = NULL, updated_at = ? WHERE id = ? AND state = 'submitted'",
                (reason, now, entry.id),
            )
            self.event(entry.id, now, "reopened", entry.taskid, reason)

    def record_statuses(self, updates: Iterable[tuple[str, str, str | None]], now: float) -> int:
        """Store live statuses: (task id, taskStatus, error or None). Unknown task ids are ignored."""
        rows = [(status, error, now, taskid) for taskid, status, error in updates]
        if not rows or self.readonly:
            return 0
        with self.db.transaction() as db:
            return sum(
                db.execute("UPDATE tasks SET status = ?, status_error = ?, status_at = ? WHERE taskid = ?", row)
                for row in rows
            )
