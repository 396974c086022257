"""The local offline service: the embedded default and the test peer.

    from presetsync.local import LocalService, Faults, start_embedded

Modules: ``server`` (:class:`LocalService`: life cycle, accounts, routing), ``http``
(reading requests within their limits and timeouts, fault injection, writing answers),
``handlers`` (the eleven operations: the preset ones), ``tasks_ops`` (the task operations),
``operation_base`` (their dispatch, argument readers and time texts), ``store`` (SQLite),
``auth`` (accounts, signatures), ``faults`` (fault injection), ``params`` (preset param
rules), ``mediainfo`` (made-up ffprobe output), ``protocol`` (the errNum table),
``embedded`` (``--endpoint local``). The ``presetsync serve`` command is
:mod:`presetsync.commands.serve`. The names below are imported lazily: importing the package
costs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # what __getattr__ gives, for the type checker
    from .embedded import start_embedded
    from .faults import Faults
    from .server import LocalService, RequestStats

__all__ = ["Faults", "LocalService", "RequestStats", "start_embedded"]


def __getattr__(name: str) -> object:
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
