"""Talking to the offline service: the client, credentials, signing and the operation table."""

from ..errors import ApiError, OutcomeUnknown, ServiceUnreachable
from .client import OfflineClient, PreparedCall, RetryPolicy
from .credentials import Credentials, resolve_credentials
from .operations import OPERATIONS

__all__ = [
    "OPERATIONS",
    "ApiError",
    "Credentials",
    "OfflineClient",
    "OutcomeUnknown",
    "PreparedCall",
    "RetryPolicy",
    "ServiceUnreachable",
    "resolve_credentials",
]
