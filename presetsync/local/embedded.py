"""The embedded local service behind ``--endpoint local``.

    service, credentials = start_embedded(config_dir / ".presetsync")
    client = OfflineClient(endpoint=service.url, credentials=credentials)
    ...
    service.stop()

The service runs in this process, in daemon threads, on a free loopback port, with its state
in ``state_dir/local.sqlite`` so that presets and tasks survive from one run to the next.
The credentials are those of the development account kept in that database.
"""

from __future__ import annotations

from pathlib import Path

from ..api.credentials import Credentials
from .server import DEFAULT_TASK_DURATIONS, LocalService

DB_NAME = "local.sqlite"


def start_embedded(
    state_dir: str | Path, *, task_durations: tuple[float, float] = DEFAULT_TASK_DURATIONS
) -> tuple[LocalService, Credentials]:
    """Start the service on 127.0.0.1 (free port) with state in *state_dir*; return it and
    the development account's credentials. Call ``service.stop()`` when done."""
    service = LocalService(Path(state_dir) / DB_NAME, host="127.0.0.1", port=0, task_durations=task_durations)
    service.start()
    credentials = service.dev_credentials
    assert credentials is not None  # no accounts were configured
    return service, credentials
