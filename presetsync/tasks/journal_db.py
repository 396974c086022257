"""Where a journal lives: one SQLite file (the default) or a shared PostgreSQL database.

:class:`Database` is the one place that knows the difference. The journal's SQL is written
once, with ``?`` placeholders and a few ``{names}`` for the column types that differ
(:data:`_DIALECTS`); :class:`Database` fills them in, runs statements under one lock (a
journal is shared by the submitting threads) and tells which submitters are alive:

* **SQLite** (``.presetsync/tasks-<target>.sqlite``): one submission at a time holds the
  file (:meth:`Database.hold`, an ``flock``), so no other submitter can be alive.
* **PostgreSQL** (``journal: postgresql://...``, via psycopg 3): any number of submitters on
  any number of machines. The target's tables live in their own schema
  (``presetsync_<target>``). Each submitter holds a session-level advisory lock on its own
  random owner key for as long as its connection lives; a task left ``sending`` by an owner
  whose lock is free was left by a process that is gone (a dead process loses its
  connection, and with it the lock), and may be settled by anybody.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal, Union

from ..errors import ConfigError, RefusedError, ServiceUnreachable
from ..state import private_file

if TYPE_CHECKING:
    import psycopg

#: Where a journal lives.
Kind = Literal["sqlite", "postgresql"]
#: A value a statement takes for a ``?``.
SqlValue = Union[str, int, float, None]
#: A row as the driver returns it: its columns are what the statement selects.
Row = tuple[Any, ...]

_DIALECTS: dict[Kind, dict[str, str]] = {
    "sqlite": {
        "real": "REAL",
        "serial": "INTEGER PRIMARY KEY AUTOINCREMENT",
        "temp_serial": "INTEGER PRIMARY KEY",
        "rowid": "rowid",
        "rowid_column": "",
    },
    "postgresql": {
        "real": "DOUBLE PRECISION",
        "serial": "BIGSERIAL PRIMARY KEY",
        "temp_serial": "BIGSERIAL PRIMARY KEY",
        "rowid": "n",
        "rowid_column": "n BIGSERIAL UNIQUE,",
    },
}
_PLACEHOLDER = re.compile(r"\?")
_SCHEMA_LOCK = 0x70726573  # advisory lock serialising schema creation ("pres")


def is_url(setting: str | None) -> bool:
    return bool(setting) and str(setting).startswith(("postgresql://", "postgres://"))


def redact_url(url: str) -> str:
    """The URL without its password, for messages."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


class Database:
    """One connection to a journal's database; every statement runs under one lock."""

    def __init__(
        self,
        kind: Kind,
        conn: sqlite3.Connection | psycopg.Connection[Row],
        *,
        readonly: bool = False,
        path: Path | None = None,
    ):
        self.kind = kind
        self.names = _DIALECTS[kind]
        self.readonly = readonly
        self.path = path
        self.owner = str(secrets.randbits(62))  # this submitter, in claims and advisory locks
        self._conn = conn
        self._lock = threading.RLock()
        self._lock_file: IO[str] | None = None
        self._depth = 0

    # -- opening ----------------------------------------------------------------------------

    @classmethod
    def sqlite(cls, path: Path | None, *, readonly: bool = False) -> Database:
        """A journal file (created 0600 in a 0700 directory), or an empty in-memory one."""
        if path is None:
            name, uri = ":memory:", False
        elif readonly:
            name, uri = f"file:{path}?mode=ro", True
        else:
            private_file(path)
            name, uri = str(path), False
        conn = sqlite3.connect(name, uri=uri, timeout=30, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA synchronous = NORMAL")
        if path is not None and not readonly:
            conn.execute("PRAGMA journal_mode=WAL")
        return cls("sqlite", conn, readonly=readonly, path=path)

    @classmethod
    def postgresql(cls, url: str, target: str, *, readonly: bool = False) -> Database:
        """A connection to the shared journal at *url*, in the target's own schema."""
        try:
            import psycopg
        except ImportError:
            raise ConfigError("a PostgreSQL journal needs psycopg 3: pip install 'presetsync[postgres]'") from None
        try:
            conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            raise ServiceUnreachable(f"cannot connect to the journal database {redact_url(url)}: {exc}") from None
        schema = f"presetsync_{re.sub(r'[^a-z0-9_]', '_', target.lower())}"
        db = cls("postgresql", conn, readonly=readonly)
        db.execute(f'SET search_path TO "{schema}"')
        with db.transaction():
            db.schema_lock()
            db.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        db.execute("SELECT pg_advisory_lock(?)", (int(db.owner),))
        return db

    @staticmethod
    def sqlite_version(path: Path) -> int:
        """The ``user_version`` of a journal file (its schema version)."""
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return int(conn.execute("PRAGMA user_version").fetchone()[0])
        finally:
            conn.close()

    # -- statements -------------------------------------------------------------------------

    def sql(self, statement: str) -> str:
        """*statement* in this dialect: ``{names}`` filled in, ``?`` made ``%s`` for psycopg."""
        statement = statement.format(**self.names) if "{" in statement else statement
        if self.kind == "postgresql":
            statement = _PLACEHOLDER.sub("%s", statement.replace("%", "%%"))
        return statement

    def execute(self, statement: str, args: Iterable[SqlValue] = ()) -> int:
        """Run one statement; how many rows it changed."""
        with self._lock:
            cursor = self._conn.execute(self.sql(statement), tuple(args))
            return cursor.rowcount

    def executemany(self, statement: str, rows: Sequence[Sequence[SqlValue]]) -> None:
        if rows:
            with self._lock:
                if isinstance(self._conn, sqlite3.Connection):
                    self._conn.executemany(self.sql(statement), rows)
                else:
                    with self._conn.cursor() as cursor:
                        cursor.executemany(self.sql(statement), rows)

    def rows(self, statement: str, args: Iterable[SqlValue] = ()) -> list[Row]:
        with self._lock:
            found: list[Row] = self._conn.execute(self.sql(statement), tuple(args)).fetchall()
            return found

    def count(self, statement: str, args: Iterable[SqlValue] = ()) -> int:
        """The integer a statement selects (``SELECT count(*) ...``)."""
        return int(self.rows(statement, args)[0][0])

    def script(self, script: str) -> None:
        """Run the ``;``-separated statements of *script* (``--`` comments allowed)."""
        lines = [line.split("--", 1)[0] for line in script.splitlines()]
        for statement in "\n".join(lines).split(";"):
            if statement.strip():
                self.execute(statement)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Database]:
        """One transaction (re-entrant: an inner one joins the outer). SQLite takes the write
        lock at once, so that two writers never deadlock upgrading a read."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self
                finally:
                    self._depth -= 1
                return
            self._conn.execute("BEGIN IMMEDIATE" if self.kind == "sqlite" else "BEGIN")
            self._depth = 1
            try:
                yield self
            except BaseException:
                self._depth = 0
                self._conn.execute("ROLLBACK")
                raise
            self._depth = 0
            self._conn.execute("COMMIT")

    def schema_lock(self) -> None:
        """Within a transaction: wait for any other submitter creating tables to finish
        (PostgreSQL's CREATE ... IF NOT EXISTS is not safe against a concurrent twin)."""
        if self.kind == "postgresql":
            self.execute("SELECT pg_advisory_xact_lock(?)", (_SCHEMA_LOCK,))

    def column_names(self, table: str) -> set[str]:
        if self.kind == "sqlite":
            return {row[1] for row in self.rows(f"PRAGMA table_info({table})")}
        found = self.rows(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = ?",
            (table,),
        )
        return {row[0] for row in found}

    def close(self) -> None:
        with self._lock:
            if not isinstance(self._conn, sqlite3.Connection) and not self._conn.closed:
                self._conn.execute("SELECT pg_advisory_unlock_all()")  # at once, not when the server notices
            self._conn.close()
        self.release()

    # -- who may settle whose tasks ---------------------------------------------------------

    def hold(self) -> None:
        """Become the journal's only submitter (SQLite; PostgreSQL journals are shared).

        Raises RefusedError when another process holds the file: two submissions on one
        SQLite journal at once could settle each other's tasks in flight.
        """
        if self.kind != "sqlite" or self.path is None or self._lock_file is not None:
            return
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: no inter-process lock
            return
        handle = open(self.path.with_suffix(".lock"), "a+")  # noqa: SIM115 - held until release()
        os.chmod(handle.name, 0o600)
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise RefusedError(
                f"the task journal {self.path} is in use by {holder}: wait for it to finish "
                "(two submissions at once on one SQLite journal could send a task twice; "
                "a PostgreSQL journal lets several submit at once)"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()}")
        handle.flush()
        self._lock_file = handle

    def release(self) -> None:
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    def live_owners(self) -> set[str]:
        """Owners whose claims are alive: this one, and on PostgreSQL every submitter whose
        connection (and so advisory lock) still exists."""
        if self.kind == "sqlite":
            return {self.owner}
        found = self.rows(
            "SELECT (classid::bigint << 32) | objid::bigint FROM pg_locks WHERE locktype = 'advisory' "
            "AND granted AND objsubid = 1 "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        return {str(row[0]) for row in found} | {self.owner}
