"""The submission journal: what was planned, sent and submitted, in SQLite, crash-safe.

One journal per service target (endpoint and account), in
``<config dir>/.presetsync/tasks-<hash>.sqlite``, WAL mode. Each task (by identity, see
:mod:`.identity`) goes through these states::

    planned ──▶ sending ──▶ submitted (taskid)
       ▲           │  └───▶ failed (error)  ──▶ sending ...      (sent again by submit/retry)
       └───────────┘ (settled: not found in the service)

* ``sending`` is committed BEFORE the CreateTask is sent. A task found in ``sending`` (the
  process was killed, or the answer was lost: OutcomeUnknown) may or may not exist in the
  service, and is *settled* through GetTaskList (:mod:`.settle`) before anything is sent
  again: found, it becomes ``submitted`` with the task id it got; not found, ``planned``.
* ``failed`` means the service refused the CreateTask (it answered with an error), so
  nothing was created and the task may be sent again. ``retry`` also turns a submitted task
  whose status is ``fail`` back into ``failed`` (its old task id stays in the history).

Every change happens in one transaction together with a line in ``history`` (the audit
trail: every task id a task ever had, every error). SQLite rolls back a transaction cut
short by a crash, so a SIGKILL at any moment leaves the journal in one of the states above.
Commits use ``synchronous=NORMAL``: durable when the process dies, which is what CI does to
it; an operating-system crash or power loss may lose the last commits.

A ``scope`` (a temporary table) holds the tasks of the manifest a command works on, in
manifest order, so that submission, status and waiting work on any number of tasks with flat
memory: they page through SQL instead of holding lists.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import RefusedError
from .manifest import TaskSpec

PLANNED, SENDING, SUBMITTED, FAILED = "planned", "sending", "submitted", "failed"
NEW = "new"  # in the manifest, not in the journal yet (dry runs)
FINAL_STATUSES = ("succ", "fail", "deleted")
SCHEMA_VERSION = 1
BATCH = 500

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tasks (
    id           TEXT PRIMARY KEY,        -- identity: sha256 of the normalised body
    body         TEXT NOT NULL,           -- the CreateTask body as sent (JSON)
    preset       TEXT NOT NULL,
    dst_bucket   TEXT NOT NULL,
    dst_key      TEXT NOT NULL,
    source       TEXT NOT NULL,           -- where it is declared: file:line:col
    state        TEXT NOT NULL,           -- planned | sending | submitted | failed
    taskid       TEXT,                    -- the service's task id, once submitted
    error        TEXT,                    -- why the last CreateTask failed
    attempts     INTEGER NOT NULL DEFAULT 0,
    sending_at   REAL,                    -- the last CreateTask was about to be sent (Unix s)
    doubt_at     REAL,                    -- its outcome was last found unknown
    submitted_at REAL,
    status       TEXT,                    -- last taskStatus seen: init, exec, succ, fail, deleted
    status_error TEXT,                    -- errorCode and errorMsg of a failed task
    status_at    REAL,
    planned_at   REAL NOT NULL,
    updated_at   REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS tasks_by_state ON tasks (state);
CREATE INDEX IF NOT EXISTS tasks_by_output ON tasks (dst_bucket, dst_key);
CREATE UNIQUE INDEX IF NOT EXISTS tasks_by_taskid ON tasks (taskid) WHERE taskid IS NOT NULL;
CREATE TABLE IF NOT EXISTS history (
    seq    INTEGER PRIMARY KEY AUTOINCREMENT,
    id     TEXT NOT NULL,
    at     REAL NOT NULL,
    event  TEXT NOT NULL,                 -- planned, sending, submitted, failed, unknown, settled, ...
    taskid TEXT,
    detail TEXT
);
CREATE INDEX IF NOT EXISTS history_by_taskid ON history (taskid) WHERE taskid IS NOT NULL;
CREATE INDEX IF NOT EXISTS history_by_id ON history (id);
"""

SCOPE = """
CREATE TEMP TABLE IF NOT EXISTS scope (
    seq        INTEGER PRIMARY KEY,
    id         TEXT NOT NULL UNIQUE,
    body       TEXT NOT NULL,
    preset     TEXT NOT NULL,
    dst_bucket TEXT NOT NULL,
    dst_key    TEXT NOT NULL,
    source     TEXT NOT NULL
)
"""

_COLUMNS = (
    "s.seq, s.id, s.body, s.source, COALESCE(t.state, 'new'), t.taskid, t.error, t.attempts, "
    "t.sending_at, t.doubt_at, t.status, t.status_error, t.submitted_at"
)


@dataclass(frozen=True)
class Entry:
    """One task as the journal knows it."""

    seq: int
    id: str
    body_json: str
    source: str
    state: str
    taskid: str | None = None
    error: str | None = None
    attempts: int | None = 0
    sending_at: float | None = None
    doubt_at: float | None = None
    status: str | None = None
    status_error: str | None = None
    submitted_at: float | None = None

    @property
    def body(self) -> dict[str, Any]:
        return json.loads(self.body_json)

    @property
    def short_id(self) -> str:
        return self.id[:12]


def target_key(endpoint: str, access_key_id: str) -> str:
    """Which journal a service target uses: ``local`` for the embedded service, else a hash of
    the endpoint URL and the access key id (the same tasks sent to another account are other tasks)."""
    if endpoint == "local":
        return "local"
    return hashlib.sha256(f"{endpoint}\n{access_key_id}".encode()).hexdigest()[:16]


def journal_path(state_dir: Path, target: str) -> Path:
    return Path(state_dir) / f"tasks-{target}.sqlite"


def _statements(script: str) -> Iterator[str]:
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    for statement in "\n".join(lines).split(";"):
        if statement.strip():
            yield statement


class Journal:
    """The journal file, or an empty in-memory one (``path`` None: a first dry run, a status
    before any submission); ``readonly`` journals record nothing.

    Thread-safe: one connection, one lock; every method is one short transaction.
    """

    def __init__(self, path: Path | None, *, readonly: bool = False, endpoint: str = ""):
        self.path = path
        self.readonly = readonly
        self._lock = threading.RLock()
        self._lock_file: Any = None
        if path is None:
            self._conn = self._connect(":memory:")
            self._create()
        elif readonly:
            self._conn = self._connect(f"file:{path}?mode=ro", uri=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = self._connect(str(path))
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._create()
            if endpoint:
                with self._tx() as db:
                    db.execute("INSERT OR IGNORE INTO meta VALUES ('endpoint', ?)", (endpoint,))
        self._conn.execute(SCOPE)

    @classmethod
    def open(cls, state_dir: Path, target: str, *, endpoint: str = "", readonly: bool = False) -> Journal:
        """The target's journal; a read-only view of it (or an empty one when it does not
        exist yet) with ``readonly``."""
        path = journal_path(state_dir, target)
        if readonly and not path.exists():
            return cls(None, readonly=True)
        return cls(path, readonly=readonly, endpoint=endpoint)

    @staticmethod
    def _connect(name: str, uri: bool = False) -> sqlite3.Connection:
        conn = sqlite3.connect(name, uri=uri, timeout=30, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA synchronous = NORMAL")
        return conn

    def _create(self) -> None:
        with self._tx() as db:
            for statement in _statements(SCHEMA):
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _paged(self, sql: str, args: list[Any], batch: int) -> Iterator[tuple]:
        """Rows of *sql* a page at a time (keyset paging): its first placeholder is the key
        to start after, its last the page size, and its first column the key."""
        after = 0
        while True:
            rows = self._read(sql, [after, *args, batch])
            if not rows:
                return
            yield from rows
            after = rows[-1][0]

    def _read(self, sql: str, args: Iterable[Any] = ()) -> list[tuple]:
        with self._lock:
            return self._conn.execute(sql, tuple(args)).fetchall()

    def close(self) -> None:
        with self._lock:
            self._conn.close()
        self.unlock()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- one writer at a time ---------------------------------------------------------------

    def lock(self) -> None:
        """Hold the journal for this process (released when it exits, even by SIGKILL).

        Raises RefusedError when another process holds it: two submissions at once would
        settle each other's tasks in flight.
        """
        if self.path is None or self._lock_file is not None:
            return
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: no inter-process lock
            return
        handle = open(self.path.with_suffix(".lock"), "a+")  # noqa: SIM115 - held until unlock()
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise RefusedError(
                f"the task journal {self.path} is in use by {holder}: wait for it to finish "
                "(two submissions at once could send a task twice)"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()}")
        handle.flush()
        self._lock_file = handle

    def unlock(self) -> None:
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    # -- scope: the tasks of one manifest ---------------------------------------------------

    def add_scope(self, tasks: Iterable[TaskSpec], *, persist: bool, now: float | None = None) -> int:
        """Put *tasks* (a stream) in the scope, in order; with *persist*, also record the new
        ones in the journal as planned. Returns how many tasks the scope holds."""
        now = time.time() if now is None else now
        batch: list[tuple] = []
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

    def _add_batch(self, rows: list[tuple], persist: bool, now: float) -> None:
        with self._lock:
            first = self._conn.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM scope").fetchone()[0]
            self._conn.executemany(
                "INSERT OR IGNORE INTO scope (id, body, preset, dst_bucket, dst_key, source) VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
            if not persist or self.readonly:
                return
            with self._tx() as db:
                new = db.execute(
                    "SELECT s.id FROM scope s LEFT JOIN tasks t ON t.id = s.id WHERE s.seq >= ? AND t.id IS NULL",
                    (first,),
                ).fetchall()
                db.execute(
                    "INSERT OR IGNORE INTO tasks (id, body, preset, dst_bucket, dst_key, source, state, "
                    "planned_at, updated_at) SELECT id, body, preset, dst_bucket, dst_key, source, ?, ?, ? "
                    "FROM scope WHERE seq >= ?",
                    (PLANNED, now, now, first),
                )
                db.executemany(
                    "INSERT INTO history (id, at, event) VALUES (?, ?, 'planned')", [(row[0], now) for row in new]
                )

    def clear_scope(self) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM scope")

    def scope_size(self) -> int:
        return self._read("SELECT count(*) FROM scope")[0][0]

    def scope_states(self) -> dict[str, int]:
        """How many scope tasks are in each state (``new``: not in the journal)."""
        rows = self._read(
            "SELECT COALESCE(t.state, 'new'), count(*) FROM scope s LEFT JOIN tasks t ON t.id = s.id GROUP BY 1"
        )
        return dict(rows)

    def scope_statuses(self) -> dict[str, int]:
        """How many scope tasks are in each condition: a live status (init, exec, succ, fail,
        deleted), ``submitted`` (status not read yet), or the journal state when not submitted."""
        rows = self._read(
            "SELECT CASE WHEN t.state = 'submitted' THEN COALESCE(t.status, 'submitted') "
            "ELSE COALESCE(t.state, 'new') END, count(*) "
            "FROM scope s LEFT JOIN tasks t ON t.id = s.id GROUP BY 1"
        )
        return dict(rows)

    def scope_entries(self, states: Iterable[str] | None = None, *, batch: int = BATCH) -> Iterator[Entry]:
        """The scope's tasks (in manifest order, optionally only in *states*), read in pages:
        safe to change the journal while iterating."""
        where, args = "", []
        if states is not None:
            states = list(states)
            where = f" AND COALESCE(t.state, 'new') IN ({', '.join('?' * len(states))})"
            args = states
        sql = (
            f"SELECT {_COLUMNS} FROM scope s LEFT JOIN tasks t ON t.id = s.id "
            f"WHERE s.seq > ?{where} ORDER BY s.seq LIMIT ?"
        )
        for row in self._paged(sql, args, batch):
            yield Entry(*row)

    def overwrites(self, limit: int = 10) -> tuple[int, list[tuple[Entry, str]]]:
        """Scope tasks still to send whose output an *other* journal task (a different body)
        has already written or may have: (how many, a few of them with the other's task id)."""
        sql = (
            "FROM scope s LEFT JOIN tasks t ON t.id = s.id "
            "JOIN tasks o ON o.dst_bucket = s.dst_bucket AND o.dst_key = s.dst_key AND o.id != s.id "
            "WHERE COALESCE(t.state, 'new') IN ('new', 'planned', 'failed') AND o.state IN ('submitted', 'sending')"
        )
        count = self._read(f"SELECT count(DISTINCT s.id) {sql}")[0][0]
        rows = self._read(f"SELECT {_COLUMNS}, COALESCE(o.taskid, 'unknown') {sql} ORDER BY s.seq LIMIT ?", [limit])
        return count, [(Entry(*row[:-1]), row[-1]) for row in rows]

    # -- whole journal ----------------------------------------------------------------------

    def entries(self, states: Iterable[str] | None = None) -> Iterator[Entry]:
        """Every journal task (or those in *states*), paged by rowid."""
        where, args = "", []
        if states is not None:
            states = list(states)
            where = f" AND t.state IN ({', '.join('?' * len(states))})"
            args = states
        sql = (
            "SELECT t.rowid, t.id, t.body, t.source, t.state, t.taskid, t.error, t.attempts, t.sending_at, "
            f"t.doubt_at, t.status, t.status_error, t.submitted_at FROM tasks t WHERE t.rowid > ?{where} "
            "ORDER BY t.rowid LIMIT ?"
        )
        for row in self._paged(sql, args, BATCH):
            yield Entry(*row)

    def scope_all(self) -> int:
        """Put every journal task in the scope (``status`` without a manifest)."""
        with self._lock:
            self._conn.execute(
                "INSERT OR IGNORE INTO scope (id, body, preset, dst_bucket, dst_key, source) "
                "SELECT id, body, preset, dst_bucket, dst_key, source FROM tasks ORDER BY rowid"
            )
        return self.scope_size()

    def in_doubt(self) -> list[Entry]:
        """Every task whose CreateTask may or may not have been done (state ``sending``)."""
        return list(self.entries([SENDING]))

    def is_known_taskid(self, taskid: str) -> bool:
        """Whether a task id already belongs to a journal task (now or in the past)."""
        rows = self._read(
            "SELECT 1 FROM tasks WHERE taskid = ? UNION ALL SELECT 1 FROM history WHERE taskid = ? LIMIT 1",
            (taskid, taskid),
        )
        return bool(rows)

    def history(self, task_id: str) -> list[tuple[float, str, str | None, str | None]]:
        return self._read("SELECT at, event, taskid, detail FROM history WHERE id = ? ORDER BY seq", (task_id,))

    # -- transitions ------------------------------------------------------------------------

    def _event(self, db: sqlite3.Connection, task_id: str, now: float, event: str, taskid=None, detail=None) -> None:
        db.execute(
            "INSERT INTO history (id, at, event, taskid, detail) VALUES (?, ?, ?, ?, ?)",
            (task_id, now, event, taskid, detail),
        )

    def mark_sending(self, task_id: str, now: float) -> None:
        """Committed before the CreateTask is sent: from now on the task may exist."""
        with self._tx() as db:
            db.execute(
                "UPDATE tasks SET state = 'sending', attempts = attempts + 1, sending_at = ?, doubt_at = ?, "
                "updated_at = ? WHERE id = ?",
                (now, now, now, task_id),
            )
            self._event(db, task_id, now, "sending")

    def mark_submitted(self, task_id: str, taskid: str, now: float) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE tasks SET state = 'submitted', taskid = ?, error = NULL, submitted_at = ?, status = NULL, "
                "status_error = NULL, status_at = NULL, updated_at = ? WHERE id = ?",
                (taskid, now, now, task_id),
            )
            self._event(db, task_id, now, "submitted", taskid)

    def mark_failed(self, task_id: str, error: str, now: float) -> None:
        """The service refused the CreateTask: nothing was created."""
        with self._tx() as db:
            db.execute(
                "UPDATE tasks SET state = 'failed', error = ?, updated_at = ? WHERE id = ?", (error, now, task_id)
            )
            self._event(db, task_id, now, "failed", detail=error)

    def mark_doubt(self, task_id: str, reason: str, now: float) -> None:
        """The outcome is unknown: the task stays ``sending`` until it is settled."""
        with self._tx() as db:
            db.execute("UPDATE tasks SET doubt_at = ?, updated_at = ? WHERE id = ?", (now, now, task_id))
            self._event(db, task_id, now, "unknown", detail=reason)

    def mark_unsent(self, task_id: str, reason: str, now: float) -> None:
        """The CreateTask certainly did not reach the service (connection refused)."""
        with self._tx() as db:
            db.execute(
                "UPDATE tasks SET state = 'planned', attempts = attempts - 1, updated_at = ? WHERE id = ?",
                (now, task_id),
            )
            self._event(db, task_id, now, "not sent", detail=reason)

    def settle(self, found: dict[str, str], not_found: Iterable[str], now: float) -> None:
        """Record a settlement: *found* (id -> task id) submitted, *not_found* planned again."""
        with self._tx() as db:
            for task_id, taskid in found.items():
                db.execute(
                    "UPDATE tasks SET state = 'submitted', taskid = ?, error = NULL, submitted_at = ?, "
                    "status = NULL, status_at = NULL, updated_at = ? WHERE id = ? AND state = 'sending'",
                    (taskid, now, now, task_id),
                )
                self._event(db, task_id, now, "settled", taskid, "found in GetTaskList")
            for task_id in not_found:
                db.execute(
                    "UPDATE tasks SET state = 'planned', updated_at = ? WHERE id = ? AND state = 'sending'",
                    (now, task_id),
                )
                self._event(db, task_id, now, "settled", None, "not in GetTaskList: to be sent again")

    def reopen(self, entry: Entry, reason: str, now: float) -> None:
        """A submitted task whose status is ``fail``: back to ``failed``, to be sent again
        (``retry``); its task id moves to the history."""
        with self._tx() as db:
            db.execute(
                "UPDATE tasks SET state = 'failed', taskid = NULL, error = ?, status = NULL, status_error = NULL, "
                "status_at = NULL, updated_at = ? WHERE id = ? AND state = 'submitted'",
                (reason, now, entry.id),
            )
            self._event(db, entry.id, now, "reopened", entry.taskid, reason)

    def record_statuses(self, updates: Iterable[tuple[str, str, str | None]], now: float) -> int:
        """Store live statuses: (task id, taskStatus, error or None). Unknown task ids are ignored."""
        rows = [(status, error, now, taskid) for taskid, status, error in updates]
        if not rows or self.readonly:
            return 0
        with self._tx() as db:
            before = db.total_changes
            db.executemany(
                "UPDATE tasks SET status = ?, status_error = ?, status_at = ? WHERE taskid = ?",
                rows,
            )
            return db.total_changes - before

    def scope_to_refresh(self, since: float | None = None) -> Iterator[Entry]:
        """Submitted scope tasks whose status may still change (not succ, fail or deleted),
        optionally only those not refreshed since *since*."""
        extra = "" if since is None else " AND (t.status_at IS NULL OR t.status_at < ?)"
        args: list[Any] = [] if since is None else [since]
        after = 0
        while True:
            rows = self._read(
                f"SELECT {_COLUMNS} FROM scope s JOIN tasks t ON t.id = s.id WHERE s.seq > ? "
                "AND t.state = 'submitted' AND COALESCE(t.status, '') NOT IN ('succ', 'fail', 'deleted')"
                f"{extra} ORDER BY s.seq LIMIT ?",
                [after, *args, BATCH],
            )
            if not rows:
                return
            for row in rows:
                yield Entry(*row)
            after = rows[-1][0]

    def scope_submitted_range(self) -> tuple[float, float] | None:
        """(earliest, latest) submission time of the scope's submitted, unfinished tasks."""
        row = self._read(
            "SELECT MIN(t.submitted_at), MAX(t.submitted_at) FROM scope s JOIN tasks t ON t.id = s.id "
            "WHERE t.state = 'submitted' AND COALESCE(t.status, '') NOT IN ('succ', 'fail', 'deleted')"
        )[0]
        return None if row[0] is None else (row[0], row[1])
