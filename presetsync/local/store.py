"""The local service's state in one SQLite file.

* WAL journal, ``synchronous=NORMAL``, a busy timeout: readers never wait for the writer,
  and a second process on the same file waits instead of failing.
* A small pool of connections shared by the request threads; each request borrows one for
  one transaction (:meth:`Store.transaction`). Writers are serialised by a lock in this
  process (SQLite would serialise them anyway; the lock avoids its sleep-and-retry loop).
* Every request's writes happen in ONE transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``), so
  a crash or an exception in the middle leaves nothing half-written: SQLite rolls an
  unfinished transaction back.

Every row belongs to an account (its access key id); every query filters on it, so presets
and tasks never leak between accounts. Times are stored as Unix seconds (UTC); the service
formats them for the wire.

Each preset also keeps ``param_wire``: its ``param`` as the service answers it
(:func:`~presetsync.local.params.wire_param`), written with ``param`` on every insert and update,
so that a 10,000-preset GetPresetList splices stored text instead of parsing, converting and
encoding every param. A file of schema version 1 gains the column when it is opened, filled
from ``param``. A trigger empties it whenever ``param`` changes without it (an older version
writing to the same file); a listing converts a row whose ``param_wire`` is empty, and the next
open fills it: it can be missing, never stale.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Optional

from ..state import private_file
from .params import wire_param

SCHEMA_VERSION = 2  # 2: presets.param_wire

SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    access_key_id     TEXT PRIMARY KEY,
    secret_access_key TEXT NOT NULL,
    created_at        REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS presets (
    account     TEXT NOT NULL,
    name        TEXT NOT NULL,
    presettype  TEXT NOT NULL,
    description TEXT NOT NULL,
    param       TEXT NOT NULL,          -- the JSON object as the client sent it
    created_at  REAL NOT NULL,
    updated_at  REAL,                   -- NULL until the first UpdatePreset
    param_wire  TEXT,                   -- param as answered (params.wire_param); NULL: not yet
    PRIMARY KEY (account, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tasks (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,   -- creation order, stable
    account     TEXT NOT NULL,
    taskid      TEXT NOT NULL UNIQUE,
    create_date INTEGER NOT NULL,       -- yyyymmdd in the service's time zone
    created_at  REAL NOT NULL,
    exec_at     REAL NOT NULL,          -- status turns from init to exec at this time
    done_at     REAL NOT NULL,          -- ... and to succ or fail at this time
    preset      TEXT NOT NULL,
    body        TEXT NOT NULL,          -- the CreateTask body as the client sent it
    is_top      INTEGER NOT NULL,
    error_code  INTEGER NOT NULL,       -- 0, or why the task fails when it is done
    error_msg   TEXT NOT NULL,
    meta        TEXT                    -- ffprobe-like JSON text of avinfo tasks, else NULL
);
CREATE INDEX IF NOT EXISTS tasks_by_date ON tasks (account, create_date, seq);
"""
# One statement (its body holds ';'): run apart from SCHEMA. See the module docstring.
PARAM_WIRE_TRIGGER = """
CREATE TRIGGER IF NOT EXISTS presets_param_changed AFTER UPDATE OF param ON presets
BEGIN
    UPDATE presets SET param_wire = NULL WHERE account = NEW.account AND name = NEW.name;
END
"""


@dataclass(frozen=True)
class PresetRow:
    name: str
    presettype: str
    description: str
    param: str | None  # JSON text; None when listed without details
    created_at: float
    updated_at: float | None


#: A listed preset as plain values, in PresetRow's order, with the param as answered (JSON text).
PresetWire = tuple[str, str, str, Optional[str], float, Optional[float]]


@dataclass(frozen=True)
class TaskRow:
    taskid: str
    create_date: int
    created_at: float
    exec_at: float
    done_at: float
    preset: str
    body: str
    is_top: int
    error_code: int
    error_msg: str
    meta: str | None


# exec_at / done_at of a task a media worker has not started / finished yet (--media-root):
# a time that never comes, so the status rules (init, exec, done by time) hold unchanged.
NOT_YET = float("inf")

_TASK_COLUMNS = "taskid, create_date, created_at, exec_at, done_at, preset, body, is_top, error_code, error_msg, meta"
# Above this many names the list filter runs in Python rather than as SQL parameters.
_MAX_SQL_NAMES = 500


class Tx:
    """The operations available inside one transaction. Only valid within ``transaction()``."""

    def __init__(self, conn: sqlite3.Connection):
        self._conn = conn

    # --- accounts ------------------------------------------------------------------------

    def first_account(self) -> tuple[str, str] | None:
        row = self._conn.execute(
            "SELECT access_key_id, secret_access_key FROM accounts ORDER BY created_at LIMIT 1"
        ).fetchone()
        return None if row is None else (row[0], row[1])

    def insert_account(self, access_key_id: str, secret_access_key: str, created_at: float) -> None:
        self._conn.execute("INSERT INTO accounts VALUES (?, ?, ?)", (access_key_id, secret_access_key, created_at))

    # --- presets -------------------------------------------------------------------------

    def get_preset(self, account: str, name: str) -> PresetRow | None:
        row = self._conn.execute(
            "SELECT name, presettype, description, param, created_at, updated_at FROM presets"
            " WHERE account = ? AND name = ?",
            (account, name),
        ).fetchone()
        return None if row is None else PresetRow(*row)

    @staticmethod
    def _param_of(row: PresetRow) -> str:
        """The param a preset is written with (a row read without details has none)."""
        if row.param is None:
            raise ValueError(f"preset {row.name} has no param to write")
        return row.param

    def insert_preset(self, account: str, row: PresetRow) -> bool:
        """Insert; False (and no change) when the account already has a preset of that name."""
        param = self._param_of(row)
        cursor = self._conn.execute(
            "INSERT OR IGNORE INTO presets"
            " (account, name, presettype, description, param, created_at, updated_at, param_wire)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                account,
                row.name,
                row.presettype,
                row.description,
                param,
                row.created_at,
                row.updated_at,
                wire_param(param),
            ),
        )
        return cursor.rowcount == 1

    def update_preset(self, account: str, row: PresetRow) -> bool:
        """Set *row*'s presettype, description, param and update time; False when absent."""
        param = self._param_of(row)
        cursor = self._conn.execute(
            "UPDATE presets SET presettype = ?, description = ?, param = ?, updated_at = ?"
            " WHERE account = ? AND name = ?",
            (row.presettype, row.description, param, row.updated_at, account, row.name),
        )
        if cursor.rowcount != 1:
            return False
        self._conn.execute(  # after the trigger emptied it
            "UPDATE presets SET param_wire = ? WHERE account = ? AND name = ?",
            (wire_param(param), account, row.name),
        )
        return True

    def delete_preset(self, account: str, name: str) -> bool:
        cursor = self._conn.execute("DELETE FROM presets WHERE account = ? AND name = ?", (account, name))
        return cursor.rowcount == 1

    def list_presets(
        self,
        account: str,
        types: Sequence[str] | None = None,
        names: Sequence[str] | None = None,
        *,
        with_param: bool = False,
    ) -> list[PresetRow]:
        """The account's presets sorted by name, optionally filtered; one query."""
        rows = self._select_presets(account, types, names, "param" if with_param else "NULL")
        return [PresetRow(*row) for row in rows]

    def list_presets_wire(
        self,
        account: str,
        types: Sequence[str] | None = None,
        names: Sequence[str] | None = None,
        *,
        with_param: bool = False,
    ) -> list[PresetWire]:
        """:meth:`list_presets` as plain tuples (fields in PresetRow's order), with the param
        as answered (``param_wire``) rather than as stored: what a listing needs, fast."""
        param = "coalesce(param_wire, wire_param(param))" if with_param else "NULL"
        return self._select_presets(account, types, names, param)

    def _select_presets(
        self, account: str, types: Sequence[str] | None, names: Sequence[str] | None, param: str
    ) -> list[PresetWire]:
        sql = f"SELECT name, presettype, description, {param}, created_at, updated_at FROM presets WHERE account = ?"
        args: list[object] = [account]
        if types:
            sql += f" AND presettype IN ({', '.join('?' * len(types))})"
            args.extend(types)
        filter_in_python = names is not None and len(names) > _MAX_SQL_NAMES
        if names and not filter_in_python:
            sql += f" AND name IN ({', '.join('?' * len(names))})"
            args.extend(names)
        sql += " ORDER BY name"
        rows: list[PresetWire] = self._conn.execute(sql, args).fetchall()
        if filter_in_python:
            wanted = set(names or ())
            rows = [row for row in rows if row[0] in wanted]
        return rows

    # --- tasks ---------------------------------------------------------------------------

    def insert_task(self, account: str, row: TaskRow) -> None:
        self._conn.execute(
            f"INSERT INTO tasks (account, {_TASK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                account,
                row.taskid,
                row.create_date,
                row.created_at,
                row.exec_at,
                row.done_at,
                row.preset,
                row.body,
                row.is_top,
                row.error_code,
                row.error_msg,
                row.meta,
            ),
        )

    def get_task(self, account: str, taskid: str) -> TaskRow | None:
        row = self._conn.execute(
            f"SELECT {_TASK_COLUMNS} FROM tasks WHERE account = ? AND taskid = ?", (account, taskid)
        ).fetchone()
        return None if row is None else TaskRow(*row)

    def set_task_top(self, account: str, taskid: str) -> bool:
        cursor = self._conn.execute("UPDATE tasks SET is_top = 1 WHERE account = ? AND taskid = ?", (account, taskid))
        return cursor.rowcount == 1

    def delete_task(self, account: str, taskid: str) -> bool:
        cursor = self._conn.execute("DELETE FROM tasks WHERE account = ? AND taskid = ?", (account, taskid))
        return cursor.rowcount == 1

    def claim_task(self, now: float) -> tuple[str, TaskRow] | None:
        """The next task waiting for a media worker (tasks put on top first, then in creation
        order), marked as started at *now*; ``(account, row)``, or None when none waits."""
        found = self._conn.execute(
            f"SELECT account, {_TASK_COLUMNS} FROM tasks WHERE exec_at = ? ORDER BY is_top DESC, seq LIMIT 1",
            (NOT_YET,),
        ).fetchone()
        if found is None:
            return None
        self._conn.execute("UPDATE tasks SET exec_at = ? WHERE taskid = ?", (now, found[1]))
        return found[0], replace(TaskRow(*found[1:]), exec_at=now)

    def finish_task(self, taskid: str, now: float, error_code: int, error_msg: str, meta: str | None) -> bool:
        """Record a media worker's outcome; False when the task was deleted meanwhile."""
        cursor = self._conn.execute(
            "UPDATE tasks SET done_at = max(?, exec_at), error_code = ?, error_msg = ?, meta = ? WHERE taskid = ?",
            (now, error_code, error_msg, meta, taskid),
        )
        return cursor.rowcount == 1

    def count_unfinished_tasks(self) -> int:
        """Tasks a media worker has not finished (waiting or running)."""
        return int(self._conn.execute("SELECT count(*) FROM tasks WHERE done_at = ?", (NOT_YET,)).fetchone()[0])

    def requeue_unfinished_tasks(self) -> int:
        """Started but unfinished tasks (the service stopped meanwhile) wait again; how many."""
        cursor = self._conn.execute(
            "UPDATE tasks SET exec_at = ? WHERE done_at = ? AND exec_at != ?", (NOT_YET, NOT_YET, NOT_YET)
        )
        return cursor.rowcount

    @staticmethod
    def _task_filter(account: str, start: int, end: int, succeeded_by: float | None) -> tuple[str, list[object]]:
        where = "account = ? AND create_date BETWEEN ? AND ?"
        args: list[object] = [account, start, end]
        if succeeded_by is not None:  # the meta information list: done, succeeded, with meta
            where += " AND error_code = 0 AND done_at <= ? AND meta IS NOT NULL"
            args.append(succeeded_by)
        return where, args

    def count_tasks(self, account: str, start: int, end: int, *, succeeded_by: float | None = None) -> int:
        """Tasks created from *start* to *end* (yyyymmdd, inclusive); with *succeeded_by*, only
        those that have succeeded by that time and have meta information (avinfo tasks)."""
        where, args = self._task_filter(account, start, end, succeeded_by)
        return int(self._conn.execute(f"SELECT count(*) FROM tasks WHERE {where}", args).fetchone()[0])

    def list_tasks(
        self, account: str, start: int, end: int, offset: int, limit: int, *, succeeded_by: float | None = None
    ) -> list[TaskRow]:
        """One page of :meth:`count_tasks`'s tasks, in creation order."""
        where, args = self._task_filter(account, start, end, succeeded_by)
        sql = f"SELECT {_TASK_COLUMNS} FROM tasks WHERE {where} ORDER BY create_date, seq LIMIT ? OFFSET ?"
        return [TaskRow(*row) for row in self._conn.execute(sql, [*args, limit, offset])]


class Store:
    """The SQLite file and its connection pool. Thread-safe; :meth:`close` when done."""

    def __init__(self, path: str | Path, *, busy_timeout_ms: int = 10_000, pool_size: int = 16):
        self.path = Path(path)
        private_file(self.path)  # it holds the development account's secret: readable by its owner only
        self._busy_timeout_ms = busy_timeout_ms
        self._pool_size = pool_size
        self._idle: list[sqlite3.Connection] = []
        self._pool_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._closed = False
        conn = self._connect()
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            with self._write_lock:
                conn.execute("BEGIN IMMEDIATE")
                for statement in _statements(SCHEMA):
                    conn.execute(statement)
                _migrate(conn)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                conn.execute("COMMIT")
        except BaseException:
            conn.close()
            raise
        self._idle.append(conn)

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: no implicit transactions, we BEGIN and COMMIT ourselves.
        conn = sqlite3.connect(
            str(self.path),
            timeout=self._busy_timeout_ms / 1000,
            isolation_level=None,
            check_same_thread=False,
        )
        conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.create_function("wire_param", 1, wire_param, deterministic=True)
        return conn

    def _acquire(self) -> sqlite3.Connection:
        with self._pool_lock:
            if self._closed:
                raise RuntimeError(f"store {self.path} is closed")
            if self._idle:
                return self._idle.pop()
        return self._connect()

    def _release(self, conn: sqlite3.Connection) -> None:
        with self._pool_lock:
            if not self._closed and len(self._idle) < self._pool_size:
                self._idle.append(conn)
                return
        conn.close()

    @contextmanager
    def transaction(self, *, write: bool = False) -> Iterator[Tx]:
        """One transaction: committed when the block ends, rolled back if it raises.

        Use ``write=True`` for any block that may write; read blocks see one consistent
        snapshot (e.g. a count and the page it belongs to).
        """
        conn = self._acquire()
        lock = self._write_lock if write else None
        try:
            if lock is not None:
                lock.acquire()
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield Tx(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            try:
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        finally:
            if lock is not None:
                lock.release()
            self._release(conn)

    def close(self) -> None:
        """Close every pooled connection; connections in use close when they are returned."""
        with self._pool_lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


def _migrate(conn: sqlite3.Connection) -> None:
    """Bring the file up to date, inside the schema transaction: a file of version 1 gains
    ``param_wire``, and rows without it (version 1, or written by an older version since) get it."""
    if "param_wire" not in {row[1] for row in conn.execute("PRAGMA table_info(presets)")}:
        conn.execute("ALTER TABLE presets ADD COLUMN param_wire TEXT")
    conn.execute(PARAM_WIRE_TRIGGER)
    try:
        conn.execute("UPDATE presets SET param_wire = wire_param(param) WHERE param_wire IS NULL")
    except sqlite3.OperationalError as exc:
        if "user-defined function" not in str(exc):
            raise
        # a param that is not a JSON object (not written by the service): left to the listing


def _statements(script: str) -> Iterable[str]:
    """Split SCHEMA into statements (it holds no ``;`` inside strings), dropping comments."""
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    for statement in "\n".join(lines).split(";"):
        if statement.strip():
            yield statement
