"""Opening a client for a command: the configured endpoint, or the embedded local service.

``endpoint: local`` (or ``--endpoint local``) starts the local offline service in this
process on an ephemeral loopback port, with its state in ``.presetsync/local.sqlite`` beside
the config file, and signs with its development account: no account needed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import argparse

    from .api.client import OfflineClient
    from .config import Config

LOCAL = "local"  # the embedded service's endpoint setting


def client_for(args: argparse.Namespace, config: Config, parallelism: int = 4) -> Any:
    """The client every command talks through (a context manager): flags override
    presetsync.yaml; a connection pool for *parallelism* requests in flight."""
    from .options import retry_policy

    return open_client(
        getattr(args, "endpoint", None) or config.endpoint,
        getattr(args, "region", None) or config.region,
        state_dir=config.state_dir,
        use_ssl=getattr(args, "use_ssl", False),
        pool_size=max(16, parallelism),
        retry=retry_policy(args, config),
    )


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
