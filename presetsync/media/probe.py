"""A media file as ffprobe-shaped meta info, read with PyAV.

:func:`probe` returns the same shape as the simulated meta of :mod:`presetsync.local.mediainfo`
(``{"metadata", "streams", "format"}``; bitrates, rates and durations as strings, sizes and
channel counts as numbers), but read from the file. Every packet is read: a stream's
``bit_rate`` is its packets' bytes over its duration (containers such as FLV and MPEG-TS do
not store one), and ``nb_frames`` is its packet count. An HLS playlist is read through its
segments (its ``size`` counts them too); :func:`hls_segments` lists them with their
``#EXTINF`` durations.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import MEDIA_FAILED, MediaError, import_av
from .spec import SourceInfo

if TYPE_CHECKING:
    from av.container import InputContainer
    from av.stream import Stream


def _rate(value: Fraction | None) -> str:
    return "0/0" if not value else f"{value.numerator}/{value.denominator}"


def _seconds(value: float | None) -> str | None:
    return None if value is None else f"{value:.6f}"


def open_media(path: Path, what: str = "") -> InputContainer:
    """``av.open(path)`` for reading (PyAV checked first, see :func:`~presetsync.media.import_av`);
    :class:`MediaError` (``MEDIA_FAILED``) when FFmpeg cannot."""
    import_av()
    import av

    try:
        return av.open(str(path))
    except av.error.FFmpegError as exc:
        raise MediaError(MEDIA_FAILED, f"cannot read {what}{path.name}: {exc.strerror or exc}") from None


@dataclass
class _Totals:
    """What a stream's packets add up to: bytes, count, and the times they span (seconds)."""

    size: int = 0
    packets: int = 0
    start: float | None = None
    end: float | None = None


def probe(path: str | Path) -> dict[str, Any]:
    """The meta info of the media file at *path* (see the module docstring)."""
    import_av()
    import av

    path = Path(path)
    with open_media(path) as container:
        totals = {s.index: _Totals() for s in container.streams}
        try:
            for packet in container.demux():
                if packet.size == 0:
                    continue
                total = totals[packet.stream.index]
                total.size += packet.size
                total.packets += 1
                if packet.pts is not None and packet.time_base is not None:
                    start = float(packet.pts * packet.time_base)
                    end = start + float((packet.duration or 0) * packet.time_base)
                    total.start = start if total.start is None else min(total.start, start)
                    total.end = end if total.end is None else max(total.end, end)
        except av.error.FFmpegError as exc:
            raise MediaError(MEDIA_FAILED, f"cannot read {path.name}: {exc.strerror or exc}") from None
        streams = [_stream(stream, totals[stream.index]) for stream in container.streams]
        ends = [t.end for t in totals.values() if t.end is not None]
        duration = container.duration / 1_000_000 if container.duration else (max(ends) if ends else None)
        size = path.stat().st_size
        bit_rate: int | None = container.bit_rate
        if container.format.name == "hls":  # the playlist and its segments
            size += sum((path.parent / uri).stat().st_size for uri, _ in hls_segments(path))
            bit_rate = None
        bit_rate = bit_rate or (int(size * 8 / duration) if duration else None)
        fmt: dict[str, Any] = {
            "nb_streams": len(streams),
            "nb_programs": 0,
            "format_name": container.format.name,
            "format_long_name": container.format.long_name,
            "start_time": _seconds((container.start_time or 0) / 1_000_000),
            "duration": _seconds(duration),
            "size": str(size),
            "bit_rate": None if bit_rate is None else str(bit_rate),
            "probe_score": 100,
        }
        return {
            "metadata": dict(container.metadata),
            "streams": streams,
            "format": {k: v for k, v in fmt.items() if v is not None},
        }


def _stream(stream: Stream, totals: _Totals) -> dict[str, Any]:
    import av

    context = stream.codec_context
    start, end = totals.start, totals.end
    duration = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else None
    if duration is None and start is not None and end is not None and end > start:
        duration = end - start
    out: dict[str, Any] = {
        "index": stream.index,
        "codec_name": context.codec.canonical_name,
        "codec_long_name": context.codec.long_name,
        "profile": context.profile,
        "codec_type": stream.type,
    }
    if isinstance(stream, av.VideoStream):
        video = stream.codec_context
        out.update(
            width=video.width,
            height=video.height,
            pix_fmt=video.format.name if video.format else None,
            r_frame_rate=_rate(stream.base_rate),
            avg_frame_rate=_rate(stream.average_rate),
        )
    elif isinstance(stream, av.AudioStream):
        audio = stream.codec_context
        out.update(
            sample_fmt=audio.format.name if audio.format else None,
            sample_rate=str(audio.sample_rate),
            channels=audio.channels,
            channel_layout=audio.layout.name,
        )
    out.update(
        time_base=_rate(stream.time_base),
        start_time=_seconds(start),
        duration=_seconds(duration),
        bit_rate=str(round(totals.size * 8 / duration)) if duration else None,
        nb_frames=str(totals.packets),
    )
    return {k: v for k, v in out.items() if v is not None}


def to_json(meta: dict[str, Any]) -> str:
    """:func:`probe`'s answer as the JSON text the API sends in ``meta_info``."""
    return json.dumps(meta, separators=(",", ":"), ensure_ascii=False)


def stream_fps(stream: dict[str, Any]) -> float | None:
    """A video stream's frame rate (average, else nominal); None when unknown."""
    for key in ("avg_frame_rate", "r_frame_rate"):
        numerator, _, denominator = str(stream.get(key, "0/0")).partition("/")
        if denominator and float(denominator) and float(numerator):
            return float(numerator) / float(denominator)
    return None


def first_stream(meta: dict[str, Any], codec_type: str) -> dict[str, Any] | None:
    return next((s for s in meta.get("streams", []) if s.get("codec_type") == codec_type), None)


def source_info(container: InputContainer) -> SourceInfo:
    """What the size, rate and no-upscaling rules need to know about a source, from an open
    container's headers (nothing is decoded: the source may be a pipe, read once). Where the
    headers do not say (a stream's bitrate in MPEG-TS or FLV, say), the value is None."""
    duration = container.duration / 1_000_000 if container.duration else 0.0
    has_audio = bool(container.streams.audio)
    if not container.streams.video:
        return SourceInfo(duration=duration, has_audio=has_audio)
    video = container.streams.video[0]
    rate = video.average_rate or video.guessed_rate
    return SourceInfo(
        width=video.codec_context.width,
        height=video.codec_context.height,
        fps=float(rate) if rate else None,
        video_bitrate=video.codec_context.bit_rate or None,
        duration=duration,
        has_audio=has_audio,
    )


def read_source_info(path: str | Path) -> SourceInfo:
    """:func:`source_info` of the file at *path*."""
    path = Path(path)
    with open_media(path) as container:
        return source_info(container)


def hls_segments(playlist: str | Path) -> list[tuple[str, float]]:
    """``[(segment uri, duration in seconds), ...]`` from an HLS media playlist's ``#EXTINF`` lines."""
    segments: list[tuple[str, float]] = []
    duration: float | None = None
    for line in Path(playlist).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line.startswith("#EXTINF:"):
            duration = float(line[len("#EXTINF:") :].split(",", 1)[0])
        elif line and not line.startswith("#") and duration is not None:
            segments.append((line, duration))
            duration = None
    return segments
