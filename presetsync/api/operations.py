"""The eleven operations of the offline service, declared as data.

Every operation goes through the one generic path in :mod:`presetsync.api.client`; nothing
here sends anything. ``params`` is ``None`` for the three POST operations, whose whole
argument dict is sent as the JSON body (the SDK model gives them no input shape), and the
ordered query parameters for the GET operations.

``retry_safe`` says whether re-sending after an ambiguous failure (the request may have
reached the server) is harmless. Preset and CreateTask are not: a second Preset fails with
"exists" and a second CreateTask transcodes twice, so the client raises OutcomeUnknown and
the caller reads the state back instead. ``read`` marks the operations that change nothing
(the Get* ones): the client retries them within a time budget rather than a number of
attempts (see :class:`~presetsync.api.client.RetryPolicy`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

API_VERSION = "2016-09-19"


@dataclass(frozen=True)
class Param:
    name: str
    type: type  # int or str
    min_length: int = 0  # strings only; the model's max length is not enforced by the SDK


@dataclass(frozen=True)
class Operation:
    name: str
    method: str
    params: tuple[Param, ...] | None
    retry_safe: bool
    read: bool = False

    @property
    def snake_name(self) -> str:
        return _snake(self.name)

    def param(self, name: str) -> Param | None:
        for p in self.params or ():
            if p.name == name:
                return p
        return None


def _snake(name: str) -> str:
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()


_TASKID = Param("taskid", str, min_length=35)
_PAGE = (Param("startdate", int), Param("enddate", int), Param("marker", int), Param("limit", int))

OPERATIONS: dict[str, Operation] = {
    op.name: op
    for op in (
        Operation("Preset", "POST", None, retry_safe=False),
        Operation("UpdatePreset", "POST", None, retry_safe=True),
        Operation("DelPreset", "GET", (Param("preset", str),), retry_safe=True),
        Operation(
            "GetPresetList",
            "GET",
            (Param("withDetail", int), Param("presettype", str), Param("presets", str)),
            retry_safe=True,
            read=True,
        ),
        Operation("GetPresetDetail", "GET", (Param("preset", str),), retry_safe=True, read=True),
        Operation("CreateTask", "POST", None, retry_safe=False),
        Operation("DelTaskByTaskID", "GET", (_TASKID,), retry_safe=True),
        Operation("TopTaskByTaskID", "GET", (_TASKID,), retry_safe=True),
        Operation("GetTaskList", "GET", _PAGE, retry_safe=True, read=True),
        Operation("GetTaskByTaskID", "GET", (_TASKID,), retry_safe=True, read=True),
        Operation("GetTaskMetaInfo", "GET", (_TASKID, *_PAGE), retry_safe=True, read=True),
    )
}
