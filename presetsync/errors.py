"""One small hierarchy of errors, and the exit statuses cli.py maps them to (see README)."""

from __future__ import annotations

from enum import IntEnum
from typing import Any


class ExitStatus(IntEnum):
    """What every command exits with: one table, in README's "Exit codes"."""

    OK = 0
    ERROR = 1  # invalid input or usage (argparse's included): nothing was sent
    CHANGES = 2  # plan --detailed-exitcode: there are changes
    REFUSED = 3  # unsafe, stale, modified or foreign plan; conflict; overwrite
    PARTIAL = 4  # a service error, or some of the work failed (reported)
    TIMEOUT = 5  # tasks wait --timeout
    INTERRUPTED = 130  # Ctrl-C


class PresetsyncError(Exception):
    """Base class. ``exit_code`` is what the command line exits with."""

    exit_code = ExitStatus.PARTIAL


class InputError(PresetsyncError):
    """Invalid input (files, manifest, flags, config, arguments): nothing was sent."""

    exit_code = ExitStatus.ERROR


class ConfigError(InputError):
    """presetsync.yaml, a flag, a region or an endpoint is wrong."""


class CredentialsError(ConfigError):
    """No usable credentials were found; the message names every place looked at."""


class ParamValidationError(InputError):
    """An operation was called with arguments the service's model does not allow."""


class RefusedError(PresetsyncError):
    """presetsync refused to act: unsafe plan, stale saved plan, conflict."""

    exit_code = ExitStatus.REFUSED


class UnsafePlanError(RefusedError):
    """The plan goes over a safety threshold or touches a protected preset."""


class StalePlanError(RefusedError):
    """A saved plan's live presets changed after it was made."""


class ServiceError(PresetsyncError):
    """The service could not be reached or answered with an error."""

    exit_code = ExitStatus.PARTIAL


class ApiError(ServiceError):
    """The service answered with HTTP >= 300 or ``errNum`` != 0.

    ``response`` mirrors the official SDK's ``ClientError.response`` so that existing
    scripts that read ``e.response['Error']['Code']`` keep working. ``body`` is the answer's
    parsed JSON, whole (None when it was not JSON).
    """

    def __init__(
        self,
        operation: str,
        *,
        status: int,
        err_num: int | None = None,
        err_msg: str | None = None,
        code: str | None = None,
        request_id: str | None = None,
        attempts: int = 1,
        excerpt: str | None = None,
        body: Any = None,
    ):
        self.operation = operation
        self.status = status
        self.err_num = err_num
        self.err_msg = err_msg
        self.code = code
        self.request_id = request_id
        self.attempts = attempts
        self.excerpt = excerpt
        self.body = body
        super().__init__(self._describe())

    @property
    def response(self) -> dict[str, Any]:
        error = self.body.get("Error") or self.body.get("error") if isinstance(self.body, dict) else None
        if not isinstance(error, dict):  # the SDK takes an Error object as it is, whole
            error = {"Code": self.code or str(self.err_num or self.status), "Message": self.err_msg or ""}
        return {"Error": error, "ResponseMetadata": {"RequestId": self.request_id, "HTTPStatusCode": self.status}}

    def _describe(self) -> str:
        parts = [f"{self.operation} failed: HTTP {self.status}"]
        if self.code:
            parts.append(f"code {self.code}")
        if self.err_num is not None:
            parts.append(f"errNum {self.err_num}")
        text = ", ".join(parts)
        if self.err_msg:
            text += f": {self.err_msg}"
        if self.excerpt is not None:
            text += f": response is not JSON: {self.excerpt!r}"
        if self.request_id:
            text += f" (request id {self.request_id})"
        if self.attempts > 1:
            text += f" after {self.attempts} attempts"
        return text


class ServiceUnreachable(ServiceError):
    """Every attempt failed to get an answer (connection errors, timeouts)."""


class OutcomeUnknown(ServiceError):
    """A non-idempotent request (Preset, CreateTask) may or may not have taken effect.

    The client does not re-send it; the caller settles the outcome by reading state back.
    """

    def __init__(self, operation: str, reason: str, attempts: int):
        self.operation = operation
        self.reason = reason
        self.attempts = attempts
        super().__init__(
            f"{operation}: outcome unknown ({reason}); it was not re-sent, read the state back to settle it"
        )
