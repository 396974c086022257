"""``tasks meta``: a finished task's ``meta_info`` (ffprobe-shaped JSON text) made readable.

GetTaskMetaInfo answers ``{"metaInfo": [{"taskid", "meta_info", "createTime"}]}`` where
``meta_info`` is a JSON *string* holding ffprobe's output (``streams``, ``format``). The Java
SDK and the later API spell the list ``metaList`` / ``MetaList`` (the client takes any of
them, see api/operations.py) and the item ``metaInfo`` / ``MetaInfo``; all are accepted. The
summary reads::

    format: QuickTime / MOV (mov,mp4,m4a,3gp,3g2,mj2), 0:02:13.4, 33.4 MB, 2.0 Mbit/s, 2 streams
    stream 0: video h264 (High), 1280x720, 25 fps, yuv420p, 1.9 Mbit/s
    stream 1: audio aac (LC), 44100 Hz, stereo, 128 kbit/s

When GetTaskMetaInfo answers an error, :func:`meta_error` says why from the task list (its
error numbers are not documented): the task does not exist, it has not finished, it failed,
or it succeeded but its preset is not an avinfo preset (meta information comes from avinfo
tasks, which probe their source); otherwise the error is reported as it is.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

from ..api.client import OfflineClient
from ..errors import ApiError, ServiceError
from .status import TaskMissing, listed_or_missing

_TEXT_KEYS = ("meta_info", "metaInfo", "MetaInfo")
AVINFO_ONLY = "meta information comes from avinfo tasks (a task with an avinfo preset probes its source)"


def meta_items(items: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(task id, parsed meta) for each item GetTaskMetaInfo listed."""
    for item in items:
        text = next((item[key] for key in _TEXT_KEYS if key in item), None)
        if isinstance(text, dict):
            yield str(item.get("taskid", "")), text
            continue
        try:
            parsed = json.loads(text) if isinstance(text, str) else None
        except ValueError as exc:
            raise ServiceError(f"the meta information of task {item.get('taskid')} is not JSON: {exc}") from None
        if not isinstance(parsed, dict):
            raise ServiceError(f"the meta information of task {item.get('taskid')} is not a JSON object")
        yield str(item.get("taskid", "")), parsed


def meta_error(client: OfflineClient, taskid: str, error: ApiError) -> ServiceError:
    """What to report after GetTaskMetaInfo answered *error* about *taskid*, from the task as
    GetTaskList shows it: it does not exist, it is not finished (no meta information yet),
    it failed, it succeeded but its preset is not an avinfo preset; else *error* as it is."""
    task = listed_or_missing(client, taskid, error)
    if task is None:
        return TaskMissing(taskid, error)
    status = task.get("taskStatus")
    if status in ("init", "exec"):
        return ServiceError(f"task {taskid} has no meta information yet: its status is {status} ({error})")
    if status == "fail":
        reason = f"errorCode {task.get('errorCode', '?')}: {task.get('errorMsg') or 'no message'}"
        return ServiceError(f"task {taskid} failed ({reason}), so it has no meta information ({error})")
    preset = str(task.get("preset") or "").split("|")[0]
    if status != "succ" or not preset:
        return error
    try:
        kind = preset_type(client, preset)
    except ApiError:
        return error  # the preset cannot be read: the error stands as it is
    if kind == "avinfo":
        return error
    which = f"is an {kind} preset" if kind else "no longer exists, so its type is unknown"
    return ServiceError(
        f"task {taskid} has no meta information: {AVINFO_ONLY}, and its preset {preset} {which} ({error})"
    )


def preset_type(client: OfflineClient, name: str) -> str | None:
    """The presettype of the live preset *name*, or None when there is none."""
    for item in client.get_preset_list(withDetail=0, presettype="", presets=name):
        if item["preset"] == name:
            return str(item.get("presetType") or item.get("presettype") or "") or None
    return None


def _number(value: object) -> float | None:
    """A number as ffprobe writes it (a number, or a string holding one); else None."""
    if not isinstance(value, (int, float, str)):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _bits(value: object) -> str | None:
    bps = _number(value)
    if bps is None:
        return None
    for unit, size in (("Mbit/s", 1e6), ("kbit/s", 1e3)):
        if bps >= size:
            return f"{bps / size:.{1 if unit == 'Mbit/s' else 0}f} {unit}"
    return f"{bps:.0f} bit/s"


def _bytes(value: object) -> str | None:
    size = _number(value)
    if size is None:
        return None
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size:.0f} B"


def _duration(value: object) -> str | None:
    seconds = _number(value)
    if seconds is None:
        return None
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours}:{minutes:02d}:{secs:04.1f}"


def _rate(stream: dict[str, Any]) -> str | None:
    for key in ("avg_frame_rate", "r_frame_rate"):
        try:
            rate = Fraction(str(stream.get(key)))
        except (ValueError, ZeroDivisionError):
            continue
        if rate > 0:
            return f"{float(rate):g} fps"
    return None


def _join(parts: list[str | None]) -> str:
    return ", ".join(p for p in parts if p)


def _stream_line(position: int, stream: dict[str, Any]) -> str:
    index = stream.get("index", position)
    kind = stream.get("codec_type", "data")
    codec = stream.get("codec_name", "?")
    if stream.get("profile"):
        codec += f" ({stream['profile']})"
    if kind == "video":
        size = f"{stream.get('width')}x{stream.get('height')}" if stream.get("width") else None
        details = [size, _rate(stream), stream.get("pix_fmt"), _bits(stream.get("bit_rate"))]
    elif kind == "audio":
        rate = f"{stream['sample_rate']} Hz" if stream.get("sample_rate") else None
        layout = stream.get("channel_layout") or (f"{stream['channels']} channels" if stream.get("channels") else None)
        details = [rate, layout, _bits(stream.get("bit_rate"))]
    else:
        details = []
    head = f"stream {index}: {kind} {codec}"
    return _join([head, *details]) if details else head


def summarise(meta: dict[str, Any]) -> list[str]:
    """Readable lines: the container, then one line per stream."""
    fmt = meta.get("format")
    if not isinstance(fmt, dict):
        fmt = {}
    streams = [s for s in meta.get("streams") or [] if isinstance(s, dict)]
    name = fmt.get("format_long_name") or fmt.get("format_name") or "unknown format"
    if fmt.get("format_long_name") and fmt.get("format_name"):
        name += f" ({fmt['format_name']})"
    count = fmt.get("nb_streams", len(streams))
    head = _join(
        [
            f"format: {name}",
            _duration(fmt.get("duration")),
            _bytes(fmt.get("size")),
            _bits(fmt.get("bit_rate")),
            f"{count} stream{'s' if count != 1 else ''}",
        ]
    )
    return [head, *(_stream_line(i, s) for i, s in enumerate(streams))]
