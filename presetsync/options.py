"""Command-line options shared by several commands (parsed in cli.py and tasks/parser.py)."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .api.client import RetryPolicy
    from .config import Config


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


def retry_policy(args: argparse.Namespace, config: Config) -> RetryPolicy:
    """The client's retry policy: ``--retry-budget`` wins over the config's ``retry_budget``."""
    from .api.client import RetryPolicy
    from .errors import InputError

    budget = getattr(args, "retry_budget", None)
    if budget is None:
        budget = config.retry_budget
    if budget is None:
        return RetryPolicy()
    if not (math.isfinite(budget) and budget >= 0):
        raise InputError(f"--retry-budget must be a number of seconds, at least 0, got {budget:g}")
    return RetryPolicy(budget=float(budget))
