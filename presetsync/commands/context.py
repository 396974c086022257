"""The context of one command: built once by :func:`presetsync.cli.main` after parsing, handed
to the command's ``run_*`` function, closed when the command ends.

Several commands need the same things, and each must be worked out the same way for all of
them, so each is worked out here and nowhere else:

* ``args``: the parsed command line;
* ``config``: presetsync.yaml (``-c FILE``, else the one in the working directory), read on
  first use: ``serve`` never reads it, ``call`` only once its arguments are right;
* ``state_dir``: ``.presetsync/`` beside the configuration (journals, the audit log, the
  embedded service's database);
* ``retry``: the client's retry policy (``--retry-budget`` wins over ``retry_budget:``);
* ``client()``: the client, opened on first use and only once: the configured endpoint, or,
  for ``endpoint: local``, the local offline service started in this process on a free
  loopback port (its state in the state directory, signed with its development account);
* ``target``: where the command's presets and tasks live: ``local`` for the embedded service
  (its port changes every run), else the endpoint URL; the region; a fingerprint of the
  access key id. Saved plans are bound to it, and tasks journals are kept per target.

The options these come from are defined here too (:func:`add_config_option`,
:func:`add_connection_options`), so that every command spells them alike. Nothing is
imported at module level beyond argparse: ``--version`` and ``--help`` stay fast.
"""

from __future__ import annotations

import argparse
import functools
import math
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any, Protocol

    from ..api.client import OfflineClient, RetryPolicy
    from ..config import Config
    from ..presets.plan import Target

    class Subparsers(Protocol):
        """What each command module's ``register(sub)`` adds its parsers to: the main parser's
        subparsers (whatever ArgumentParser subclass cli.py uses)."""

        def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser: ...


LOCAL = "local"  # the endpoint setting of the embedded local service


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-c", "--config", type=Path, default=None, help="presetsync.yaml to use (default: the one in this directory)"
    )


def add_connection_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("service")
    group.add_argument("--region", default=None, help="signing region (default: config, else cn-beijing-6)")
    group.add_argument(
        "--endpoint",
        default=None,
        help="service URL, or 'local' for the embedded local service (default: config, else the official endpoint)",
    )
    group.add_argument("--use-ssl", action="store_true", help="https where the region's endpoint offers it")
    group.add_argument(
        "--retry-budget",
        type=float,
        default=None,
        metavar="SECONDS",
        help="how long reads (GetPresetList, GetTaskList, ...) are retried through failures, throttling and "
        "dropped connections (default: config retry_budget, else 60); writes are never retried blindly",
    )


class Context:
    """What one command works with (see the module doc). A context manager: leaving it closes
    the client and stops the embedded service, if the command opened them."""

    def __init__(self, args: argparse.Namespace, *, config: Config | None = None) -> None:
        self.args = args
        self._config = config
        self._client: OfflineClient | None = None
        self._target: Target | None = None
        self._closing = ExitStack()  # the client, then the embedded service

    def __enter__(self) -> Context:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._closing.close()

    @property
    def config(self) -> Config:
        if self._config is None:
            from ..config import load_config  # here: --version and --help do without it

            self._config = load_config(getattr(self.args, "config", None))
        return self._config

    @property
    def state_dir(self) -> Path:
        return self.config.state_dir

    @property
    def endpoint(self) -> str | None:
        """The endpoint setting: ``--endpoint``, else the configuration's; ``local`` for the
        embedded service; None for the official endpoint of the region."""
        return getattr(self.args, "endpoint", None) or self.config.endpoint

    @property
    def region(self) -> str | None:
        return getattr(self.args, "region", None) or self.config.region

    @property
    def looks_only(self) -> bool:
        """Whether the command only looks at the service on the side, and has no service options:
        ``validate``, which reads the live preset names when a manifest uses a preset that no
        file has, and must stay usable offline."""
        return not hasattr(self.args, "endpoint")

    @property
    def parallelism(self) -> int:
        """``--parallelism``, else the configuration's (the commands that take it check it)."""
        value = getattr(self.args, "parallelism", None)
        return self.config.parallelism if value is None else int(value)

    @property
    def retry(self) -> RetryPolicy:
        from ..api.client import RetryPolicy
        from ..errors import InputError

        if self.looks_only:
            return RetryPolicy(max_attempts=2, base=0.2, cap=1.0)  # give up soon: the service is not needed
        budget = getattr(self.args, "retry_budget", None)
        if budget is None:
            budget = self.config.retry_budget
        if budget is None:
            return RetryPolicy()
        if not (math.isfinite(budget) and budget >= 0):
            raise InputError(f"--retry-budget must be a number of seconds, at least 0, got {budget:g}")
        return RetryPolicy(budget=float(budget))

    def client(self) -> OfflineClient:
        """The command's client, opened on the first call (the same one afterwards)."""
        if self._client is None:
            self._client = self._open()
        return self._client

    def _open(self) -> OfflineClient:
        # here: requests (and the endpoint rules) are imported only by commands that talk
        from ..api.client import OfflineClient
        from ..api.endpoints import DEFAULT_REGION

        new_client = functools.partial(
            OfflineClient, self.region or DEFAULT_REGION, retry=self.retry, pool_size=max(16, self.parallelism)
        )
        if self.looks_only:  # a look that gives up soon, in seconds to connect and to read an answer
            new_client = functools.partial(new_client, connect_timeout=5.0, read_timeout=20.0)
        if self.endpoint != LOCAL:
            client = new_client(endpoint=self.endpoint, use_ssl=getattr(self.args, "use_ssl", False))
        else:
            from ..local.embedded import start_embedded

            service, credentials = start_embedded(self.state_dir)
            self._closing.callback(service.stop)
            client = new_client(endpoint=service.url, credentials=credentials)
        self._closing.callback(client.close)
        return client

    @property
    def target(self) -> Target:
        """Where this command's presets and tasks live (opens the client: the URL, region and
        credentials are the client's)."""
        if self._target is None:
            from ..presets.plan import Target

            client = self.client()
            endpoint = LOCAL if self.endpoint == LOCAL else client.endpoint
            self._target = Target.of(endpoint, client.region, client.credentials.access_key_id)
        return self._target
