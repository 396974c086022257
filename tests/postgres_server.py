"""A throwaway PostgreSQL server for the tests: initdb in a temporary directory, listening on
127.0.0.1 (a free port) and a private socket directory, trust authentication, no fsync.

The server binaries are found on PATH or under /usr/lib/postgresql/*/bin (Debian's
packages). PostgreSQL refuses to run as root, so as root the server runs as the
``postgres`` (or ``nobody``) user. :func:`start_server` returns None with the reason when
no server can start here, so that the tests that need one are skipped saying why.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def _bin_dir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)
    return Path(candidates[0]).parent if candidates else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresServer:
    def __init__(self, bin_dir: Path, root: Path, user: pwd.struct_passwd | None):
        self.bin_dir, self.root, self.user = bin_dir, root, user
        self.data = root / "data"
        self.port = _free_port()

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        def demote() -> None:
            if self.user is not None:
                os.setgid(self.user.pw_gid)
                os.setuid(self.user.pw_uid)

        return subprocess.run(
            [str(self.bin_dir / args[0]), *args[1:]],
            preexec_fn=demote,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=self.root,
        )

    def start(self) -> str | None:
        """Start the server; None when it runs, else why it could not start."""
        init = self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        if init.returncode:
            return f"initdb failed: {init.stderr.strip()[-500:]}"
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=50"
        )
        start = self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-o", options, "-w", "start")
        if start.returncode:
            log = (self.root / "log").read_text(errors="replace") if (self.root / "log").exists() else ""
            return f"pg_ctl start failed: {start.stderr.strip()[-300:]} {log[-500:]}"
        return None

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


def start_server() -> tuple[PostgresServer | None, str]:
    """A running server, or (None, the reason none can run here)."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return None, "psycopg is not installed (pip install 'presetsync[postgres]')"
    bin_dir = _bin_dir()
    if bin_dir is None or not (bin_dir / "initdb").exists():
        return None, "no PostgreSQL server binaries (initdb, pg_ctl) on PATH or in /usr/lib/postgresql"
    user = None
    if os.geteuid() == 0:
        for name in ("postgres", "nobody"):
            try:
                user = pwd.getpwnam(name)
                break
            except KeyError:
                continue
        if user is None:
            return None, "running as root and no unprivileged user (postgres, nobody) to run PostgreSQL as"
    root = Path(tempfile.mkdtemp(prefix="presetsync-pg-"))
    if user is not None:
        os.chown(root, user.pw_uid, user.pw_gid)
    server = PostgresServer(bin_dir, root, user)
    problem = server.start()
    if problem:
        shutil.rmtree(root, ignore_errors=True)
        return None, problem
    return server, ""
