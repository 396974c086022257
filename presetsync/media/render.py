"""Render a preset on a source with PyAV: the one place both the local service's workers
(:mod:`presetsync.local.worker`) and ``presetsync preview`` transcode.

:func:`render` takes a :class:`Job` (presettype, param, source file, output path, extParam,
logos) and writes:

* avop: one file in the container ``f`` names (default mp4); ``f: hls`` writes HLS as avm3u8;
* avm3u8: an HLS playlist (the output path) with MPEG-TS segments beside it, named by
  :attr:`Job.segment_pattern` (default ``<playlist stem>-%03d.ts``); a keyframe is forced
  every ``hls_time`` seconds (as ``ffmpeg -force_key_frames``), so segments are cut there;
* avsnapshot: one image at extParam ``ss`` (default 0);
* avsample: an image every ``interval`` seconds from ``ss`` for ``duration`` (default: to the
  end), named by the output path, a pattern with one ``%d`` (``%05d``...) numbered from 1;
* avinfo: nothing; :attr:`Rendered.meta` holds the source's meta info.

Video goes through one FFmpeg filter graph: ``fps`` (``vr``), ``scale`` (the size rules of
:mod:`.spec`, then rounded down to even sizes, which 4:2:0 H.264/H.265 require), ``setsar=1``,
a rotation (``transpose``), the logos of a chained avlogo preset (``overlay``, offsets in
pixels), ``format=yuv420p``. Audio is resampled to the encoder's format, ``ar`` and channels.
``copy`` copies the packets. x264/x265 use their ``veryfast`` preset in average-bitrate mode
(``vb``), AAC and MP3 their bitrate mode (``ab``). Each stream's way through is a pipe of
:mod:`.pipes`; this module picks them, runs the packets through and places the files.

Outputs are written in a temporary directory beside the output and moved into place when
complete (a playlist after its segments), so a half-written object is never visible. Failures
raise :class:`~presetsync.media.MediaError` with the reason; a set *cancel* event stops the
job at the next packet (:class:`Cancelled`, nothing written).
"""

from __future__ import annotations

import math
import os
import re
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from . import MEDIA_FAILED, SOURCE_MISSING, UNSUPPORTED, MediaError, import_av
from .pipes import AudioPipe, Pipe, VideoPipe, made_as
from .probe import open_media, probe, source_info, to_json
from .spec import (
    IMAGE_CODECS,
    Codec,
    SourceInfo,
    Spec,
    frame_size,
    image_type,
    no_upscale,
    parse_time,
    read_spec,
)

if TYPE_CHECKING:
    from av import VideoFrame
    from av.container import InputContainer

Progress = Callable[[float], None]
_MadeT = TypeVar("_MadeT")
_NUMBER = re.compile(r"%(0?[0-9]*)d")


@dataclass(frozen=True)
class LogoImage:
    """A logo of a chained avlogo preset, as a local image file, drawn at (x, y) pixels."""

    path: Path
    x: int = 0
    y: int = 0


@dataclass
class Job:
    presettype: str
    param: Mapping[str, Any]
    source: Path
    output: Path  # the object; avsample: a file name pattern with one %d
    ext: Mapping[str, Any] = field(default_factory=dict)  # extParam: ss, duration
    logos: Sequence[LogoImage] = ()
    segment_pattern: str | None = None  # HLS segment file names (one %d); default <stem>-%03d.ts


@dataclass
class Rendered:
    files: list[Path]  # what was written, the object first (a playlist before its segments)
    meta: str | None = None  # avinfo: the source's meta info as JSON text


class Cancelled(Exception):
    """The job's *cancel* event was set; nothing was written."""


def numbered(pattern: str, number: int) -> str:
    """*pattern* with its ``%d`` / ``%05d`` replaced by *number*."""
    return _NUMBER.sub(lambda m: f"{number:{m.group(1)}d}", pattern, count=1)


def render(job: Job, *, progress: Progress | None = None, cancel: threading.Event | None = None) -> Rendered:
    """Do *job* (see the module docstring); :class:`MediaError` says why it cannot be done."""
    import_av()
    import av

    spec = read_spec(job.presettype, job.param)
    if spec.presettype == "avlogo":
        raise MediaError(UNSUPPORTED, "an avlogo preset is used only chained after an avop preset ('avop|avlogo')")
    if not job.source.exists():  # a file, or a named pipe that a writer will feed
        raise MediaError(SOURCE_MISSING, f"the source {job.source.name} does not exist")
    if spec.presettype == "avinfo":
        return Rendered([], to_json(probe(job.source)))
    if spec.presettype == "avsample" and not _NUMBER.search(job.output.name):
        raise MediaError(UNSUPPORTED, f"the image name {job.output.name!r} needs a %d for the image number")
    try:
        with open_media(job.source, "the source ") as inp:  # read once: it may be a pipe
            source = source_info(inp)
            job.output.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(prefix=".render-", dir=job.output.parent) as tmp:
                work = Path(tmp) / job.output.name
                if spec.container is None:
                    files = _screenshots(inp, spec, source, job, work, progress, cancel)
                else:
                    files = _transcode(inp, spec, source, job, work, progress, cancel)
                return Rendered(_place(files, job.output.parent))
    except av.error.FFmpegError as exc:
        raise MediaError(MEDIA_FAILED, f"FFmpeg: {exc}") from None
    except OSError as exc:
        raise MediaError(MEDIA_FAILED, f"cannot write {job.output.name}: {exc.strerror or exc}") from None


def _place(files: list[Path], directory: Path) -> list[Path]:
    for path in [*files[1:], files[0]]:  # the object last: a playlist appears after its segments
        os.replace(path, directory / path.name)
    return [directory / path.name for path in files]


def _transcode(
    inp: InputContainer,
    spec: Spec,
    source: SourceInfo,
    job: Job,
    work: Path,
    progress: Progress | None,
    cancel: threading.Event | None,
) -> list[Path]:
    import av

    assert spec.container is not None
    options: dict[str, str] = {}
    if spec.is_hls:
        pattern = job.segment_pattern or f"{work.stem}-%03d.ts"
        options = {
            "hls_time": f"{spec.hls_time:g}",
            "hls_list_size": "0",
            "hls_playlist_type": "vod",
            "hls_segment_filename": str(work.parent / pattern),
        }
    vin = inp.streams.video[0] if spec.video and inp.streams.video else None
    ain = inp.streams.audio[0] if spec.audio and inp.streams.audio else None
    if vin is None and ain is None:
        raise MediaError(MEDIA_FAILED, "nothing to write: the source has no video or audio stream the preset keeps")
    with av.open(str(work), "w", format=spec.container.muxer, options=options) as out:
        pipes: dict[int, Pipe] = {}
        if vin is not None and spec.video is not None:
            video = no_upscale(spec.video, source) if spec.no_upscale else spec.video
            pipes[vin.index] = VideoPipe(out, vin, video, source, spec, job.logos)
        if ain is not None and spec.audio is not None:
            pipes[ain.index] = AudioPipe(out, ain, spec.audio, spec)
        for packet in inp.demux(*[s for s in (vin, ain) if s is not None]):
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            pipes[packet.stream.index].feed(packet)
            if progress is not None and packet.pts is not None and packet.time_base and source.duration:
                progress(min(1.0, float(packet.pts * packet.time_base) / source.duration))
        for pipe in pipes.values():
            pipe.flush()
    return [work, *sorted(path for path in work.parent.iterdir() if path != work)]


def _screenshots(
    inp: InputContainer,
    spec: Spec,
    source: SourceInfo,
    job: Job,
    work: Path,
    progress: Progress | None,
    cancel: threading.Event | None,
) -> list[Path]:
    assert spec.video is not None
    if not (source.width and source.height):
        raise MediaError(MEDIA_FAILED, "the source has no video stream to take screenshots from")
    start = parse_time(job.ext.get("ss"), "ss") or 0.0
    if source.duration and start >= source.duration:
        raise MediaError(
            MEDIA_FAILED, f"extParam ss {start:g} s is past the end of the source ({source.duration:.3f} s)"
        )
    if spec.presettype == "avsnapshot":
        times, names = [start], [work]
    else:
        assert spec.interval
        length = parse_time(job.ext.get("duration"), "duration")
        end = source.duration if length is None else min(source.duration, start + length)
        count = max(1, math.ceil((end - start) / spec.interval - 1e-9))
        times = [start + k * spec.interval for k in range(count)]
        names = [work.parent / numbered(work.name, k + 1) for k in range(count)]
    codec = IMAGE_CODECS[image_type(spec, work.name)]
    size = frame_size(spec.video, source.width, source.height)
    for frame, name in zip(_frames_at(inp, times, source.duration, progress, cancel), names):
        _write_image(frame, size, codec, name)
    return names


def _frames_at(
    inp: InputContainer,
    times: list[float],
    duration: float,
    progress: Progress | None,
    cancel: threading.Event | None,
) -> Iterator[VideoFrame]:
    """For each of *times* (seconds from the first frame, ascending), the first frame at or
    after it (the last frame for times past the end); the source is decoded once."""
    index, first, last = 0, None, None
    for frame in inp.decode(inp.streams.video[0]):
        if cancel is not None and cancel.is_set():
            raise Cancelled()
        seconds = frame.time or 0.0
        first = seconds if first is None else first
        while index < len(times) and seconds - first + 1e-6 >= times[index]:
            yield frame
            index += 1
        if index == len(times):
            return
        last = frame
        if progress is not None and duration:
            progress(min(1.0, (seconds - first) / duration))
    while last is not None and index < len(times):
        yield last
        index += 1


def _write_image(frame: VideoFrame, size: tuple[int, int], codec: Codec, path: Path) -> None:
    import av

    width, height = size
    assert codec.pix_fmt is not None
    image = frame.reformat(width=width, height=height, format=codec.pix_fmt)
    image.pts = 0
    context = made_as(av.CodecContext.create(codec.encoder, "w"), av.VideoCodecContext, codec.encoder)
    context.width, context.height, context.pix_fmt = width, height, codec.pix_fmt
    context.time_base = Fraction(1, 25)
    packets = [*context.encode(image), *context.encode(None)]
    path.write_bytes(b"".join(bytes(packet) for packet in packets))
