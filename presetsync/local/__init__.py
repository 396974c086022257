"""The local offline service: the embedded default and the test peer.

    from presetsync.local import LocalService, Faults, start_embedded

Modules: ``server`` (HTTP, :class:`LocalService`), ``handlers`` (the eleven operations),
``store`` (SQLite), ``auth`` (accounts, signatures), ``faults`` (fault injection),
``params`` (preset param rules), ``mediainfo`` (made-up ffprobe output), ``protocol``
(the errNum table), ``embedded`` (``--endpoint local``), ``command`` (``presetsync serve``).
The names below are imported lazily, so that ``command`` stays cheap for the CLI to import.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Faults", "LocalService", "RequestStats", "start_embedded"]


def __getattr__(name: str) -> Any:
    if name == "Faults":
        from .faults import Faults

        return Faults
    if name in ("LocalService", "RequestStats"):
        from . import server

        return getattr(server, name)
    if name == "start_embedded":
        from .embedded import start_embedded

        return start_embedded
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
