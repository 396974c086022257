"""The local service's answers: the errNum table, the error type and the JSON encoding.

The real service's error codes are not documented (see offline-api-params.md §5), so the
numbers below are this service's own. What *is* documented, and kept, is the envelope: every
answer carries ``errNum`` (0 on success) and ``errMsg`` (``"success"`` on success), and
application errors come back as HTTP 200 with ``errNum != 0``, which the official SDK returns
to its caller as a plain dict.

Refusals that happen before an operation runs use an HTTP error status instead, and their
body also carries an ``Error`` object (``Code``, ``Message``) so that the official SDK's
``ClientError`` and presetsync's ``ApiError`` show a meaningful code.

=======  ======  ====================  =====================================================
errNum   HTTP    Error.Code            meaning
=======  ======  ====================  =====================================================
0        200                           success
1001     200                           invalid parameter; errMsg names the field
1002     200                           a preset with that name already exists
1003     200                           preset not found (also CreateTask with a preset
                                       that does not exist, with ``strict_create``)
1004     200                           task not found
1005     200                           the task has no meta information (not finished, it
                                       failed, or it is not an avinfo task)
4000     400     InvalidAction         no action, or an action that does not exist
4001     400     InvalidVersion        X-Version / Version is not 2016-09-19
4002     400     InvalidAction         X-Action and the query's Action disagree
4003     400     BadRequest            the HTTP request is malformed (Content-Length)
4030     403     (SignatureError.code) the signature was refused: MissingAuthenticationToken,
                                       InvalidAccessKeyId, IncompleteSignature,
                                       RequestExpired or SignatureDoesNotMatch
4040     404     NotFound              the path is not ``/``
4050     405     MethodNotAllowed      the HTTP method is not the operation's (GET, or POST
                                       for Preset, UpdatePreset, CreateTask, as the SDK
                                       sends them); the ``Allow`` header names it
4080     408     RequestTimeout        the request's body did not arrive in time
4110     411     LengthRequired        a body without Content-Length (chunked)
4130     413     PayloadTooLarge       Content-Length is over the body limit (checked before
                                       the body is read and before authentication)
4290     429     Throttling            injected fault: throttled
5000     500     InternalError         a bug in the local service; nothing was changed
5030     503     ServiceUnavailable    injected fault: failed before doing anything
=======  ======  ====================  =====================================================

Since the real numbers are unknown, the application errors' numbers (1001 to 1005) can be
changed (``LocalService(error_numbers={"task_not_found": 40001, ...})``, ``presetsync serve
--error-numbers task_not_found=40001``; names in :data:`ERROR_NAMES`), so that clients are
tested against other readings: presetsync's client never concludes from a number alone.

A task whose preset, or a part of a chained ``avop|avlogo`` preset, does not exist in the
account is accepted and fails: ``taskStatus: "fail"`` with ``errorCode`` ``"3001"`` and an
``errorMsg`` naming the missing preset. The documents can also be read as a synchronous
refusal: with ``LocalService(strict_create=True)`` (``serve --strict-create``) CreateTask
answers ``preset_not_found`` (1003) and creates no task.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

SUCCESS = 0
INVALID_PARAMETER = 1001
PRESET_EXISTS = 1002
PRESET_NOT_FOUND = 1003
TASK_NOT_FOUND = 1004
NO_META_INFO = 1005
UNKNOWN_ACTION = 4000
BAD_VERSION = 4001
ACTION_MISMATCH = 4002
BAD_REQUEST = 4003
SIGNATURE_REFUSED = 4030
NOT_FOUND = 4040
METHOD_NOT_ALLOWED = 4050
REQUEST_TIMEOUT = 4080
LENGTH_REQUIRED = 4110
TOO_LARGE = 4130
THROTTLED = 4290
INTERNAL_ERROR = 5000
UNAVAILABLE = 5030

TASK_PRESET_MISSING = 3001  # a task's errorCode (sent as the string "3001")

#: The application errors whose numbers can be changed, by name.
ERROR_NAMES: dict[str, int] = {
    "invalid_parameter": INVALID_PARAMETER,
    "preset_exists": PRESET_EXISTS,
    "preset_not_found": PRESET_NOT_FOUND,
    "task_not_found": TASK_NOT_FOUND,
    "no_meta_info": NO_META_INFO,
}


def error_numbering(error_numbers: Mapping[str, int] | None) -> dict[int, int]:
    """``{name: number}`` (names from :data:`ERROR_NAMES`) as ``{default number: number}``.

    Raises ValueError naming what is wrong: an unknown name, or a number that is not a
    non-zero integer (0 means success).
    """
    numbering: dict[int, int] = {}
    for name, number in (error_numbers or {}).items():
        if name not in ERROR_NAMES:
            raise ValueError(f"unknown error name {name!r}; the names are {', '.join(ERROR_NAMES)}")
        if isinstance(number, bool) or not isinstance(number, int) or number == 0:
            raise ValueError(f"the number of {name} must be a non-zero integer, got {number!r}")
        numbering[ERROR_NAMES[name]] = number
    return numbering


class AppError(Exception):
    """An error answer. ``status`` 200 means an application error (``errNum`` only)."""

    def __init__(
        self,
        err_num: int,
        message: str,
        *,
        status: int = 200,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
    ):
        super().__init__(message)
        self.err_num = err_num
        self.message = message
        self.status = status
        self.code = code
        self.headers = dict(headers or {})  # extra HTTP headers of the answer (``Allow``)

    def body(self, request_id: str | None = None, numbering: Mapping[int, int] | None = None) -> dict[str, Any]:
        """The answer's body; *numbering* (from :func:`error_numbering`) renumbers it."""
        err_num = (numbering or {}).get(self.err_num, self.err_num)
        out: dict[str, Any] = {"errNum": err_num, "errMsg": self.message}
        if self.status != 200:
            out["Error"] = {"Code": self.code or str(self.status), "Message": self.message}
            if request_id:
                out["RequestId"] = request_id
        return out


def invalid(message: str) -> AppError:
    """An invalid-parameter error; *message* must name the field."""
    return AppError(INVALID_PARAMETER, message)


def success(**fields: Any) -> dict[str, Any]:
    """A success answer: *fields* first, then ``errNum`` 0 and ``errMsg`` "success"."""
    return {**fields, "errNum": SUCCESS, "errMsg": "success"}


_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


class RawJSON:
    """JSON text that :func:`encode` splices in as it is, instead of encoding a value.

    It stands for a value of the answer's top-level object (``success(presetList=RawJSON(...))``)
    and must be exactly what :func:`encode_text` writes for that value, so that the answer is
    the same byte for byte (GetPresetList builds its 10,000-item list as text this way).
    """

    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text


def encode_text(body: object) -> str:
    """Compact JSON text, as sent on the wire (before UTF-8); see :class:`RawJSON`."""
    if type(body) is dict and any(type(value) is RawJSON for value in body.values()):
        members = (
            f"{_encoder.encode(key)}:{value.text if type(value) is RawJSON else _encoder.encode(value)}"
            for key, value in body.items()
        )
        return "{" + ",".join(members) + "}"
    return _encoder.encode(body)


def encode(body: object) -> bytes:
    """Compact UTF-8 JSON, as sent on the wire."""
    return encode_text(body).encode("utf-8")
