"""Command-line options shared by several commands (parsed in cli.py and tasks/command.py)."""

from __future__ import annotations

import argparse
from pathlib import Path


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
