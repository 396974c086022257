"""Opening a client for a command: the configured endpoint, or the embedded local service.

``endpoint: local`` (or ``--endpoint local``) starts the local offline service in this
process on an ephemeral loopback port, with its state in ``.presetsync/local.sqlite`` beside
the config file, and signs with its development account: no account needed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .api.client import OfflineClient

LOCAL = "local"


@contextmanager
def open_client(
    endpoint: str | None,
    region: str | None,
    *,
    state_dir: Path,
    use_ssl: bool = False,
    **client_options,
) -> Iterator[OfflineClient]:
    # here: requests (and the endpoint rules) are imported only by commands that talk
    from .api.client import OfflineClient
    from .api.endpoints import DEFAULT_REGION

    region = region or DEFAULT_REGION
    if endpoint == LOCAL:
        from .local.embedded import start_embedded

        service, credentials = start_embedded(state_dir)
        try:
            with OfflineClient(region, endpoint=service.url, credentials=credentials, **client_options) as client:
                yield client
        finally:
            service.stop()
    else:
        with OfflineClient(region, endpoint=endpoint, use_ssl=use_ssl, **client_options) as client:
            yield client
