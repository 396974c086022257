"""The journal's tables (SQL for SQLite and PostgreSQL alike, see :mod:`.journal_db`) and the
row the journal reads back (:class:`Entry`). The states and transitions are in :mod:`.journal`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .identity import SHORT_ID

SCHEMA_VERSION = 2  # 2: the owner column (claims of a shared journal)

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tasks (
    {rowid_column}
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
    sending_at   {real},                  -- the last CreateTask was about to be sent (Unix s)
    doubt_at     {real},                  -- its outcome was last found unknown
    submitted_at {real},
    status       TEXT,                    -- last taskStatus seen: init, exec, succ, fail, deleted
    status_error TEXT,                    -- errorCode and errorMsg of a failed task
    status_at    {real},
    planned_at   {real} NOT NULL,
    updated_at   {real} NOT NULL,
    owner        TEXT                     -- the submitter that claimed it (sending)
);
CREATE INDEX IF NOT EXISTS tasks_by_state ON tasks (state);
CREATE INDEX IF NOT EXISTS tasks_by_output ON tasks (dst_bucket, dst_key);
CREATE UNIQUE INDEX IF NOT EXISTS tasks_by_taskid ON tasks (taskid) WHERE taskid IS NOT NULL;
CREATE TABLE IF NOT EXISTS history (
    seq    {serial},
    id     TEXT NOT NULL,
    at     {real} NOT NULL,
    event  TEXT NOT NULL,                 -- planned, sending, submitted, failed, unknown, settled, ...
    taskid TEXT,
    detail TEXT
);
CREATE INDEX IF NOT EXISTS history_by_taskid ON history (taskid) WHERE taskid IS NOT NULL;
CREATE INDEX IF NOT EXISTS history_by_id ON history (id);
"""

TEMPORARY = """
CREATE TEMP TABLE IF NOT EXISTS scope (
    seq        {temp_serial},
    id         TEXT NOT NULL UNIQUE,
    body       TEXT NOT NULL,
    preset     TEXT NOT NULL,
    dst_bucket TEXT NOT NULL,
    dst_key    TEXT NOT NULL,
    source     TEXT NOT NULL
);
CREATE TEMP TABLE IF NOT EXISTS listed (
    taskid  TEXT NOT NULL,
    id      TEXT NOT NULL,                -- an identity the listed task may have (see reconcile)
    status  TEXT NOT NULL,
    created TEXT NOT NULL,
    PRIMARY KEY (taskid, id)
);
CREATE INDEX IF NOT EXISTS listed_by_id ON listed (id)
"""

COLUMNS = (
    "s.seq, s.id, s.body, s.source, COALESCE(t.state, 'new'), t.taskid, t.error, t.attempts, "
    "t.sending_at, t.doubt_at, t.status, t.status_error, t.submitted_at, t.owner"
)
#: A listed task id that no journal task has, or ever had.
UNKNOWN_TASKID = (
    "NOT EXISTS (SELECT 1 FROM tasks k WHERE k.taskid = l.taskid) "
    "AND NOT EXISTS (SELECT 1 FROM history h WHERE h.taskid = l.taskid)"
)
LIVE = ("init", "exec", "succ")


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
    owner: str | None = None

    @property
    def body(self) -> dict[str, Any]:
        """The CreateTask body as sent (the journal wrote it from a mapping)."""
        body: dict[str, Any] = json.loads(self.body_json)
        return body

    @property
    def short_id(self) -> str:
        return self.id[:SHORT_ID]
