"""The submission journal: what was planned, sent and submitted; crash-safe, optionally shared.

One journal per service target (endpoint and account): by default a SQLite file
``<config dir>/.presetsync/tasks-<hash>.sqlite`` (WAL mode, 0600 in a 0700 directory); with
``journal: postgresql://...`` (presetsync.yaml) or ``PRESETSYNC_JOURNAL``, tables in a shared
PostgreSQL database that several submitters on several machines use at once (see
:mod:`.journal_db`). Either way the journal is a cache and a claim table: the service
decides whether a task exists (:mod:`.reconcile`). Each task (by identity, see
:mod:`.identity`) goes through these states::

    planned ──▶ sending ──▶ submitted (taskid)
       ▲           │  └───▶ failed (error)  ──▶ sending ...      (sent again by submit/retry)
       └───────────┘ (settled: not found in the service)

* ``sending`` is a *claim*: :meth:`Journal.claim` moves a task from planned or failed to
  sending in one conditional update, and only the submitter whose update changed the row
  sends it; the claim is committed BEFORE the CreateTask is sent. A task found in
  ``sending`` whose owner is gone (killed, or its answer was lost) may or may not exist in
  the service, and is *settled* through GetTaskList before anything is sent again.
* ``failed`` means the service refused the CreateTask (it answered with an error), so
  nothing was created and the task may be sent again. ``retry`` also turns a submitted task
  whose status is ``fail`` back into ``failed`` (its old task id stays in the history).

Every change happens in one transaction together with a line in ``history`` (the audit
trail: every task id a task ever had, every error). A transaction cut short by a crash is
rolled back, so a SIGKILL at any moment leaves the journal in one of the states above.
SQLite commits use ``synchronous=NORMAL``: durable when the process dies, which is what CI
does to it; an operating-system crash or power loss may lose the last commits.

Two temporary tables belong to one command: ``scope`` holds the tasks of the manifest it
works on, in manifest order, so that submission, status and waiting work on any number of
tasks with flat memory (they page through SQL instead of holding lists); ``listed`` holds
the service's tasks read by the last reconciliation, by identity.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from .journal_db import Database, Row, SqlValue, is_url
from .journal_schema import COLUMNS, SCHEMA, SCHEMA_VERSION, TEMPORARY
from .journal_schema import Entry as Entry  # the journal's rows, for its users
from .journal_transitions import Transitions
from .manifest import TaskSpec

PLANNED, SENDING, SUBMITTED, FAILED = "planned", "sending", "submitted", "failed"
BATCH = 500

#: A row of the scope to add: id, body (JSON), preset, dst_bucket, dst_key, source.
_ScopeRow = tuple[str, str, str, str, str, str]


def target_key(endpoint: str, access_key_id: str) -> str:
    """Which journal a service target uses: ``local`` for the embedded service, else a hash of
    the endpoint URL and the access key id (the same tasks sent to another account are other tasks)."""
    if endpoint == "local":
        return "local"
    return hashlib.sha256(f"{endpoint}\n{access_key_id}".encode()).hexdigest()[:16]


def journal_path(state_dir: Path, target: str) -> Path:
    return Path(state_dir) / f"tasks-{target}.sqlite"


class Journal(Transitions):
    """A target's journal (see the module doc). ``Journal(path)`` opens a SQLite file, or an
    empty in-memory journal with ``path`` None (a first dry run, a status before any
    submission); ``readonly`` journals record nothing; :meth:`open` picks the target's
    journal, in a file or in the shared database.

    Thread-safe: one connection, one lock; every method is one short transaction. The state
    changes (claims, answers, settling) are in :class:`.journal_transitions.Transitions`.
    """

    def __init__(
        self, path: Path | None = None, *, readonly: bool = False, endpoint: str = "", db: Database | None = None
    ):
        self.db = db or Database.sqlite(path, readonly=readonly)
        self.path = self.db.path
        self.readonly = self.db.readonly
        if not self.readonly or self.db.kind == "postgresql" or self.path is None:
            self._create()
        if endpoint and not self.readonly:
            self.db.execute("INSERT INTO meta VALUES ('endpoint', ?) ON CONFLICT DO NOTHING", (endpoint,))
        self.db.script(TEMPORARY)

    @classmethod
    def open(
        cls, state_dir: Path, target: str, *, endpoint: str = "", readonly: bool = False, url: str | None = None
    ) -> Journal:
        """The target's journal: in the shared database at *url* (``postgresql://...``), else
        the file in *state_dir*; a read-only view of it (or an empty one when the file does not
        exist yet) with ``readonly``."""
        if is_url(url):
            return cls(db=Database.postgresql(str(url), target, readonly=readonly), endpoint=endpoint)
        path = journal_path(state_dir, target)
        if readonly and not path.exists():
            return cls(None, readonly=True)
        if readonly and Database.sqlite_version(path) < SCHEMA_VERSION:
            cls(path).close()  # bring an older journal up to date before reading it
        return cls(path, readonly=readonly, endpoint=endpoint)

    @property
    def shared(self) -> bool:
        """Whether several submitters may use this journal at once (PostgreSQL)."""
        return self.db.kind == "postgresql"

    def _create(self) -> None:
        with self.db.transaction() as db:
            db.schema_lock()
            db.script(SCHEMA)
            if "owner" not in db.column_names("tasks"):  # a journal of version 1
                db.execute("ALTER TABLE tasks ADD COLUMN owner TEXT")
            if db.kind == "sqlite":
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _paged(self, sql: str, args: Sequence[SqlValue], batch: int, after: int = 0) -> Iterator[Row]:
        """Rows of *sql* a page at a time (keyset paging): its first placeholder is the key
        to start after, its last the page size, and its first column the key."""
        while True:
            rows = self.db.rows(sql, [after, *args, batch])
            if not rows:
                return
            yield from rows
            after = rows[-1][0]

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- who sends ----------------------------------------------------------------------------

    def lock(self) -> None:
        """Hold a SQLite journal for this process (released when it exits, even by SIGKILL);
        RefusedError when another process holds it. A shared journal is not held: claims
        decide who sends each task."""
        self.db.hold()

    def unlock(self) -> None:
        self.db.release()

    # -- scope: the tasks of one manifest ---------------------------------------------------

    def add_scope(self, tasks: Iterable[TaskSpec], *, persist: bool, now: float | None = None) -> int:
        """Put *tasks* (a stream) in the scope, in order; with *persist*, also record the new
        ones in the journal as planned. Returns how many tasks the scope holds."""
        now = time.time() if now is None else now
        batch: list[_ScopeRow] = []
        for task in tasks:
            body = task.body
            batch.append(
                (
                    task.id,
                    json.dumps(body, ensure_ascii=False),
                    str(body.get("preset", "")),
                    str(body.get("dstBucket", "")),
                    str(body.get("dstObjectKey", "")),
                    task.where,
                )
            )
            if len(batch) >= BATCH:
                self._add_batch(batch, persist, now)
                batch = []
        if batch:
            self._add_batch(batch, persist, now)
        return self.scope_size()

    def _add_batch(self, rows: list[_ScopeRow], persist: bool, now: float) -> None:
        db = self.db
        with db.transaction():
            first = db.count("SELECT COALESCE(MAX(seq), 0) + 1 FROM scope")
            db.executemany(
                "INSERT INTO scope (id, body, preset, dst_bucket, dst_key, source) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                rows,
            )
            if not persist or self.readonly:
                return
            new = db.rows(
                "SELECT s.id FROM scope s LEFT JOIN tasks t ON t.id = s.id WHERE s.seq >= ? AND t.id IS NULL",
                (first,),
            )
            db.execute(
                "INSERT INTO tasks (id, body, preset, dst_bucket, dst_key, source, state, planned_at, updated_at) "
                "SELECT id, body, preset, dst_bucket, dst_key, source, ?, ?, ? FROM scope WHERE seq >= ? "
                "ON CONFLICT DO NOTHING",
                (PLANNED, now, now, first),
            )
            db.executemany("INSERT INTO history (id, at, event) VALUES (?, ?, 'planned')", [(r[0], now) for r in new])

    def scope_size(self) -> int:
        return self.db.count("SELECT count(*) FROM scope")

    def scope_states(self, after: int = 0) -> dict[str, int]:
        """How many scope tasks (after scope position *after*) are in each state (``new``:
        not in the journal)."""
        rows = self.db.rows(
            "SELECT COALESCE(t.state, 'new'), count(*) FROM scope s LEFT JOIN tasks t ON t.id = s.id "
            "WHERE s.seq > ? GROUP BY 1",
            (after,),
        )
        return dict(rows)

    def scope_statuses(self) -> dict[str, int]:
        """How many scope tasks are in each condition: a live status (init, exec, succ, fail,
        deleted), ``submitted`` (status not read yet), or the journal state when not submitted."""
        rows = self.db.rows(
            "SELECT CASE WHEN t.state = 'submitted' THEN COALESCE(t.status, 'submitted') "
            "ELSE COALESCE(t.state, 'new') END, count(*) "
            "FROM scope s LEFT JOIN tasks t ON t.id = s.id GROUP BY 1"
        )
        return dict(rows)

    def scope_entries(
        self, states: Iterable[str] | None = None, *, batch: int = BATCH, after: int = 0
    ) -> Iterator[Entry]:
        """The scope's tasks (in manifest order, after scope position *after*, optionally only
        in *states*), read in pages: safe to change the journal while iterating."""
        where, args = "", []
        if states is not None:
            args = list(states)
            where = f" AND COALESCE(t.state, 'new') IN ({', '.join('?' * len(args))})"
        sql = (
            f"SELECT {COLUMNS} FROM scope s LEFT JOIN tasks t ON t.id = s.id "
            f"WHERE s.seq > ?{where} ORDER BY s.seq LIMIT ?"
        )
        for row in self._paged(sql, args, batch, after):
            yield Entry(*row)

    def overwrites(self, limit: int = 10, *, after: int = 0) -> tuple[int, list[tuple[Entry, str]]]:
        """Scope tasks (after *after*) still to send whose output an *other* journal task (a
        different body) has already written or may have: (how many, a few of them with the
        other's task id)."""
        sql = (
            "FROM scope s LEFT JOIN tasks t ON t.id = s.id "
            "JOIN tasks o ON o.dst_bucket = s.dst_bucket AND o.dst_key = s.dst_key AND o.id != s.id "
            "WHERE s.seq > ? AND COALESCE(t.state, 'new') IN ('new', 'planned', 'failed') "
            "AND o.state IN ('submitted', 'sending')"
        )
        count = self.db.count(f"SELECT count(DISTINCT s.id) {sql}", [after])
        rows = self.db.rows(
            f"SELECT {COLUMNS}, COALESCE(o.taskid, 'unknown') {sql} ORDER BY s.seq LIMIT ?", [after, limit]
        )
        return count, [(Entry(*row[:-1]), row[-1]) for row in rows]

    def unsettled_since(self) -> float | None:
        """When the earliest journal task not known to exist in the service was planned or
        last sent (None: there is none)."""
        return self._time(
            "SELECT MIN(COALESCE(sending_at, planned_at)) FROM tasks WHERE state IN ('planned', 'failed', 'sending')"
        )

    def last_doubt(self) -> float | None:
        """The latest moment any journal task was last in doubt (sent, or found unknown)."""
        return self._time("SELECT MAX(COALESCE(doubt_at, sending_at)) FROM tasks WHERE state = 'sending'")

    def _time(self, sql: str) -> float | None:
        """The time (Unix seconds) an aggregate selects; None when no row took part."""
        value = self.db.rows(sql)[0][0]
        return None if value is None else float(value)

    def scope_needs_reconciling(self, after: int = 0) -> bool:
        """Whether some scope task (after *after*) is not known to exist in the service."""
        return bool(
            self.db.rows(
                "SELECT 1 FROM scope s LEFT JOIN tasks t ON t.id = s.id WHERE s.seq > ? "
                "AND COALESCE(t.state, 'new') IN ('new', 'planned', 'failed', 'sending') LIMIT 1",
                (after,),
            )
        )

    def in_doubt(self, after: int = 0) -> list[Entry]:
        """The scope's tasks (after *after*) in ``sending`` that this process may settle: its
        own, and those whose owner is gone (every one, for a SQLite journal that this process
        holds)."""
        live = self.db.live_owners() - {self.db.owner}
        return [entry for entry in self.scope_entries([SENDING], after=after) if entry.owner not in live]

    # -- whole journal ----------------------------------------------------------------------

    def entries(self, states: Iterable[str] | None = None) -> Iterator[Entry]:
        """Every journal task (or those in *states*), in the order they were first planned."""
        where, args = "", []
        if states is not None:
            args = list(states)
            where = f" AND t.state IN ({', '.join('?' * len(args))})"
        sql = (
            "SELECT t.{rowid}, t.id, t.body, t.source, t.state, t.taskid, t.error, t.attempts, t.sending_at, "
            f"t.doubt_at, t.status, t.status_error, t.submitted_at, t.owner FROM tasks t WHERE t.{{rowid}} > ?{where} "
            "ORDER BY t.{rowid} LIMIT ?"
        )
        for row in self._paged(sql, args, BATCH):
            yield Entry(*row)

    def scope_all(self) -> int:
        """Put every journal task in the scope (``status`` without a manifest)."""
        self.db.execute(
            "INSERT INTO scope (id, body, preset, dst_bucket, dst_key, source) "
            "SELECT id, body, preset, dst_bucket, dst_key, source FROM tasks ORDER BY {rowid} ON CONFLICT DO NOTHING"
        )
        return self.scope_size()

    def states_of(self, task_ids: list[str]) -> dict[str, str]:
        """The journal state of each of a few tasks."""
        states: dict[str, str] = {}
        for n in range(0, len(task_ids), BATCH):
            chunk = task_ids[n : n + BATCH]
            rows = self.db.rows(f"SELECT id, state FROM tasks WHERE id IN ({', '.join('?' * len(chunk))})", chunk)
            states.update(dict(rows))
        return states

    def history(self, task_id: str) -> list[tuple[float, str, str | None, str | None]]:
        """A task's history, oldest first: (time, event, task id, detail)."""
        return self.db.rows("SELECT at, event, taskid, detail FROM history WHERE id = ? ORDER BY seq", (task_id,))

    def scope_to_refresh(self, since: float | None = None) -> Iterator[Entry]:
        """Submitted scope tasks whose status may still change (not succ, fail or deleted),
        optionally only those not refreshed since *since*."""
        extra = "" if since is None else " AND (t.status_at IS NULL OR t.status_at < ?)"
        args: list[SqlValue] = [] if since is None else [since]
        sql = (
            f"SELECT {COLUMNS} FROM scope s JOIN tasks t ON t.id = s.id WHERE s.seq > ? "
            "AND t.state = 'submitted' AND COALESCE(t.status, '') NOT IN ('succ', 'fail', 'deleted')"
            f"{extra} ORDER BY s.seq LIMIT ?"
        )
        for row in self._paged(sql, args, BATCH):
            yield Entry(*row)

    def scope_submitted_range(self) -> tuple[float, float] | None:
        """(earliest, latest) submission time of the scope's submitted, unfinished tasks."""
        row = self.db.rows(
            "SELECT MIN(t.submitted_at), MAX(t.submitted_at) FROM scope s JOIN tasks t ON t.id = s.id "
            "WHERE t.state = 'submitted' AND COALESCE(t.status, '') NOT IN ('succ', 'fail', 'deleted')"
        )[0]
        return None if row[0] is None else (float(row[0]), float(row[1]))
