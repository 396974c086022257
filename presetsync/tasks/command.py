"""The ``presetsync tasks`` command group (submit, status, wait, list, show, top, delete, meta, retry)."""

from __future__ import annotations

from typing import Any


def register(subparsers: Any) -> None:
    subparsers.add_parser("tasks", help="task manifests: submit, status, wait, list (in progress)")
