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

``result`` says what the success answer holds (see :mod:`presetsync.api.results`): the
client's typed methods return it, checked; ``OfflineClient.call`` returns answers whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from .results import NOTHING, Object, Objects, Paged, Result, Text

API_VERSION = "2016-09-19"
R = TypeVar("R")


@dataclass(frozen=True)
class Param:
    name: str
    type: type  # int or str
    min_length: int = 0  # strings only; the model's max length is not enforced by the SDK


@dataclass(frozen=True)
class Operation(Generic[R]):
    name: str
    method: str
    params: tuple[Param, ...] | None
    result: Result[R]
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

PRESET = Operation("Preset", "POST", None, NOTHING, retry_safe=False)
UPDATE_PRESET = Operation("UpdatePreset", "POST", None, NOTHING, retry_safe=True)
DEL_PRESET = Operation("DelPreset", "GET", (Param("preset", str),), NOTHING, retry_safe=True)
GET_PRESET_LIST = Operation(
    "GetPresetList",
    "GET",
    (Param("withDetail", int), Param("presettype", str), Param("presets", str)),
    Objects("presetList", item_key="preset"),
    retry_safe=True,
    read=True,
)
GET_PRESET_DETAIL = Operation(
    "GetPresetDetail", "GET", (Param("preset", str),), Object("presetdetail"), retry_safe=True, read=True
)
CREATE_TASK = Operation("CreateTask", "POST", None, Text("taskid"), retry_safe=False)
DEL_TASK_BY_TASK_ID = Operation("DelTaskByTaskID", "GET", (_TASKID,), NOTHING, retry_safe=True)
TOP_TASK_BY_TASK_ID = Operation("TopTaskByTaskID", "GET", (_TASKID,), NOTHING, retry_safe=True)
GET_TASK_LIST = Operation(
    "GetTaskList", "GET", _PAGE, Paged(Objects("taskInfo", item_key="taskid")), retry_safe=True, read=True
)
GET_TASK_BY_TASK_ID = Operation("GetTaskByTaskID", "GET", (_TASKID,), Object("taskInfo"), retry_safe=True, read=True)
GET_TASK_META_INFO = Operation(
    "GetTaskMetaInfo",
    "GET",
    (_TASKID, *_PAGE),
    Objects("metaInfo", aliases=("metaList", "MetaList")),
    retry_safe=True,
    read=True,
)

OPERATIONS: dict[str, Operation[Any]] = {
    op.name: op
    for op in (
        PRESET,
        UPDATE_PRESET,
        DEL_PRESET,
        GET_PRESET_LIST,
        GET_PRESET_DETAIL,
        CREATE_TASK,
        DEL_TASK_BY_TASK_ID,
        TOP_TASK_BY_TASK_ID,
        GET_TASK_LIST,
        GET_TASK_BY_TASK_ID,
        GET_TASK_META_INFO,
    )
}
