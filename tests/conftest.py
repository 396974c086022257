"""Shared fixtures: a real local offline service over real HTTP, and clients for it.

Fixtures (all function-scoped, all cleaned up after the test):

``local_service``
    A started :class:`~presetsync.local.server.LocalService` on 127.0.0.1 (free port) with a
    fresh SQLite file in ``tmp_path``, its development account, tasks that finish at once
    (``task_durations=(0, 0)``) and times shown in UTC. ``local_service.stats`` counts the
    requests it received; ``local_service.url`` is its endpoint.

``client``
    An :class:`~presetsync.api.client.OfflineClient` signed with ``local_service``'s
    account. Retries never really sleep.

``service_factory``
    ``service_factory(db_name="local.sqlite", **LocalService options)`` starts another
    service (e.g. with ``accounts=``, ``faults=``, ``clock=``); the same *db_name* reuses
    the same file, which is how a test restarts a service.

``make_client``
    ``make_client(service, credentials=None, **OfflineClient options)``: a client for any
    service, e.g. with ``clock=manual_clock`` or ``retry=RetryPolicy(max_attempts=1)``.

``manual_clock``
    A :class:`ManualClock` starting at the real current time (so that signatures made with
    the real clock still pass); ``manual_clock.advance(seconds=..., days=...)`` moves it.
    Give the same clock to the service and to the client.

``example_accounts`` / ``accounts_file``
    Two accounts with obviously fake keys, as a dict and as an accounts YAML file.

``raw_call``
    ``raw_call(service, action, query="", body=b"", method=None, credentials=None,
    headers=None, path="/")`` sends one request signed exactly as the client signs it, but
    with any query, body, path or (with *headers*, replacing the client's list) headers, also
    ones the client would refuse to send; returns the ``requests.Response``.

``serve_process`` (and the session-scoped ``launch_serve``)
    ``serve_process(*args, cwd=None)`` runs ``presetsync serve ARGS`` in a subprocess through
    ``presetsync.cli.main``, waits for the URL line and returns a :class:`ServeProcess` (``.url``, ``.lines``,
    ``.popen``, ``.stop(signal)`` returning the exit code). Killed at teardown if still
    running. The working directory defaults to ``tmp_path``. With ``module=True`` it runs
    ``python -m presetsync.local ARGS`` instead.
"""

from __future__ import annotations

import queue
import re
import signal
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from presetsync.api import sigv4
from presetsync.api.client import OfflineClient
from presetsync.api.credentials import Credentials
from presetsync.api.operations import API_VERSION, OPERATIONS
from presetsync.local.server import LocalService

EXAMPLE_ACCOUNTS = {
    "AKLTEXAMPLEAAAAAAAAAAAA": "ExampleSecretKeyA/000000000000000000000",
    "AKLTEXAMPLEBBBBBBBBBBBB": "ExampleSecretKeyB/000000000000000000000",
}


class ManualClock:
    """A clock that only moves when told to; callable like ``datetime.now(timezone.utc)``."""

    def __init__(self, start: datetime | None = None):
        self._now = start or datetime.now(timezone.utc)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float = 0, *, days: float = 0) -> datetime:
        with self._lock:
            self._now += timedelta(seconds=seconds, days=days)
            return self._now

    def set(self, when: datetime) -> None:
        with self._lock:
            self._now = when


def no_sleep(seconds: float) -> None:
    """Stands in for time.sleep in clients: retries happen at once."""


@pytest.fixture
def manual_clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def example_accounts() -> dict[str, str]:
    return dict(EXAMPLE_ACCOUNTS)


@pytest.fixture
def accounts_file(tmp_path: Path, example_accounts: dict[str, str]) -> Path:
    path = tmp_path / "accounts.yaml"
    entries = [{"access_key_id": k, "secret_access_key": s} for k, s in example_accounts.items()]
    path.write_text(yaml.safe_dump({"accounts": entries}), encoding="utf-8")
    return path


@pytest.fixture
def service_factory(tmp_path: Path):
    started: list[LocalService] = []

    def make(db_name: str = "local.sqlite", **options: Any) -> LocalService:
        options.setdefault("task_durations", (0, 0))
        options.setdefault("tz", timezone.utc)
        service = LocalService(tmp_path / db_name, **options)
        started.append(service)
        return service.start()

    yield make
    for service in started:
        service.stop()


@pytest.fixture
def local_service(service_factory) -> LocalService:
    return service_factory()


@pytest.fixture
def make_client():
    clients: list[OfflineClient] = []

    def make(service: LocalService, credentials: Credentials | None = None, **options: Any) -> OfflineClient:
        options.setdefault("sleep", no_sleep)
        client = service.client(credentials, **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client(local_service: LocalService, make_client) -> OfflineClient:
    return make_client(local_service)


@pytest.fixture
def raw_call():
    session = requests.Session()

    def call(
        service: LocalService,
        action: str,
        *,
        query: str = "",
        body: bytes = b"",
        method: str | None = None,
        credentials: Credentials | None = None,
        headers: list[tuple[str, str]] | None = None,
        path: str = "/",
    ) -> requests.Response:
        creds = credentials or service.credentials
        method = method or (OPERATIONS[action].method if action in OPERATIONS else "GET")
        url = service.url.rstrip("/") + path + (f"?{query}" if query else "")
        if headers is None:
            headers = [
                ("X-Amz-Target", f"offline.{action}"),
                ("Content-Type", "application/json"),
                ("Accept", "application/json"),
                ("X-Action", action),
                ("X-Version", API_VERSION),
            ]
        signed = sigv4.sign(
            method,
            url,
            headers,
            body,
            access_key_id=creds.access_key_id,
            secret_access_key=creds.secret_access_key,
            region="cn-beijing-6",
            now=service.clock(),
        )
        return session.request(method, url, headers=dict(signed.headers), data=body or None, timeout=30)

    yield call
    session.close()


# Runs ``presetsync serve`` through the real command line (``python -c SERVE_VIA_CLI serve ...``).
SERVE_VIA_CLI = """
import sys
from presetsync import cli

sys.exit(cli.main(sys.argv[1:]))
"""

URL_LINE = re.compile(r"listening on (http://\S+)")


class ServeProcess:
    """A running ``presetsync serve`` subprocess; stdout lines are collected as they come."""

    def __init__(self, popen: subprocess.Popen, timeout: float = 30):
        self.popen = popen
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        self.url = ""
        while not self.url:
            line = self._queue.get(timeout=timeout)
            if line is None:
                raise RuntimeError(f"serve exited with {popen.wait()}: {popen.stderr.read()}")
            match = URL_LINE.search(line)
            if match:
                self.url = match.group(1)

    def _pump(self) -> None:
        for line in self.popen.stdout:
            self.lines.append(line.rstrip("\n"))
            self._queue.put(line)
        self._queue.put(None)

    def wait_for_line(self, pattern: str, timeout: float = 30) -> str:
        """The first stdout line (already read or still to come) that matches *pattern*."""
        seen = 0
        while True:
            for line in self.lines[seen:]:
                if re.search(pattern, line):
                    return line
            seen = len(self.lines)
            if self._queue.get(timeout=timeout) is None and not any(re.search(pattern, x) for x in self.lines):
                raise AssertionError(f"serve ended without printing {pattern!r}: {self.lines}")

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 30) -> int:
        """Send *signum* and return the exit code."""
        if self.popen.poll() is None:
            self.popen.send_signal(signum)
        return self.popen.wait(timeout)

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
        self.popen.wait()


@pytest.fixture(scope="session")
def launch_serve(tmp_path_factory):
    """``launch_serve(*args, cwd=None)``: like ``serve_process`` but usable from fixtures of
    any scope; processes still running at the end of the session are killed."""
    running: list[ServeProcess] = []

    def start(*args: str, cwd: Path | None = None, module: bool = False) -> ServeProcess:
        command = ["-m", "presetsync.local"] if module else ["-c", SERVE_VIA_CLI, "serve"]
        popen = subprocess.Popen(
            [sys.executable, *command, *args],
            cwd=cwd or tmp_path_factory.mktemp("serve"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            process = ServeProcess(popen)
        except BaseException:
            popen.kill()
            popen.wait()
            raise
        running.append(process)
        return process

    yield start
    for process in running:
        process.kill()


@pytest.fixture
def serve_process(launch_serve, tmp_path: Path):
    started: list[ServeProcess] = []

    def start(*args: str, cwd: Path | None = None, module: bool = False) -> ServeProcess:
        process = launch_serve(*args, cwd=cwd or tmp_path, module=module)
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()
