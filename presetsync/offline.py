"""Drop-in replacement for ``kscore.offline``: change one import line and nothing else.

    from presetsync.offline import getOfflineClient   # was: from kscore.offline import ...
    client = getOfflineClient("offline", "cn-beijing-6", use_ssl=False)
    res = client.GetPresetList(withDetail=1)

Method names, arguments, defaults and the requests sent are the official SDK's, including
its quirks (``GetTaskMetaInfo()`` without a taskid lists tasks with ``limit=0``). As with the
SDK, an answer of HTTP 200 with ``errNum`` != 0 is returned as the dict it is, whole; HTTP
errors raise :class:`presetsync.errors.ApiError`, whose ``.response`` is shaped like the SDK's
``ClientError.response`` (the answer's ``Error`` object whole) and ``.body`` is the whole answer.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from .api.client import OfflineClient as _Client
from .api.credentials import resolve_credentials
from .errors import ApiError


def _first_of_local_month() -> int:
    return int(time.strftime("%Y%m", time.localtime(time.time())) + "01")


class OfflineClient:
    """The SDK's wrapper class, method for method."""

    def __init__(
        self,
        service_name: str,
        region_name: str,
        use_ssl: bool,
        ks_access_key_id: str | None,
        ks_secret_access_key: str | None,
        **client_options: Any,
    ) -> None:
        if service_name != "offline":
            raise ValueError(f"presetsync only speaks to the 'offline' service, not {service_name!r}")
        if ks_access_key_id is not None and ks_secret_access_key is not None:
            credentials = resolve_credentials(ks_access_key_id, ks_secret_access_key)
        else:
            credentials = None
        self.client = _Client(region_name, use_ssl=use_ssl, credentials=credentials, **client_options)

    def _call(self, operation: str, args: Mapping[str, Any]) -> Any:
        try:
            return self.client.call(operation, args)
        except ApiError as exc:
            if exc.status < 300 and exc.excerpt is None:
                return exc.body  # the answer as it came, every field kept, as the SDK returns it
            raise

    def Preset(self, param: Mapping[str, Any]) -> Any:
        return self._call("Preset", dict(param))

    def UpdatePreset(self, param: Mapping[str, Any]) -> Any:
        return self._call("UpdatePreset", dict(param))

    def DelPreset(self, presetName: str) -> Any:
        return self._call("DelPreset", {"preset": presetName})

    def GetPresetList(self, withDetail: int = 0, presettype: str = "", presets: str = "") -> Any:
        return self._call("GetPresetList", {"withDetail": withDetail, "presettype": presettype, "presets": presets})

    def GetPresetDetail(self, presetName: str) -> Any:
        return self._call("GetPresetDetail", {"preset": presetName})

    def CreateTask(self, task: Mapping[str, Any]) -> Any:
        return self._call("CreateTask", dict(task))

    def GetTaskByTaskID(self, taskid: str) -> Any:
        return self._call("GetTaskByTaskID", {"taskid": taskid})

    def GetTaskList(self, startdate: int = 0, enddate: int = 0, marker: int = 0, limit: int = 100) -> Any:
        return self._call("GetTaskList", _page(startdate, enddate, marker, limit))

    def DelTaskByTaskID(self, taskid: str) -> Any:
        return self._call("DelTaskByTaskID", {"taskid": taskid})

    def TopTaskByTaskID(self, taskid: str) -> Any:
        return self._call("TopTaskByTaskID", {"taskid": taskid})

    def GetTaskMetaInfo(
        self, taskid: str = "", startdate: int = 0, enddate: int = 0, marker: int = 0, limit: int = 0
    ) -> Any:
        if taskid == "":
            # The SDK lists tasks here (X-Action: GetTaskList), with limit=0 by default.
            return self._call("GetTaskList", _page(startdate, enddate, marker, limit))
        return self._call("GetTaskMetaInfo", {"taskid": taskid})


def _page(startdate: int, enddate: int, marker: int, limit: int) -> dict[str, int]:
    args = {"startdate": startdate or _first_of_local_month()}
    if enddate != 0:
        args["enddate"] = enddate
    args.update(marker=marker, limit=limit)
    return args


def getOfflineClient(
    service_name: str,
    region_name: str,
    use_ssl: bool = False,
    ks_access_key_id: str | None = None,
    ks_secret_access_key: str | None = None,
) -> OfflineClient:
    return OfflineClient(service_name, region_name, use_ssl, ks_access_key_id, ks_secret_access_key)
