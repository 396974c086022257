"""Talking to the offline service: the client, credentials, signing and the operation table.

The names below are imported lazily, so that importing ``presetsync.api.operations`` (the
command line does, for ``presetsync call``) does not import the HTTP stack (http.client, ssl).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_HOMES = {
    "ApiError": "..errors",
    "OutcomeUnknown": "..errors",
    "ServiceUnreachable": "..errors",
    "OfflineClient": ".client",
    "PreparedCall": ".client",
    "RetryPolicy": ".client",
    "Credentials": ".credentials",
    "resolve_credentials": ".credentials",
    "OPERATIONS": ".operations",
    "Page": ".results",
    "UnexpectedAnswer": ".results",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(home, __name__), name)
