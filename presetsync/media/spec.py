"""What a preset asks for, read from its ``param`` with the documented rules (pure Python).

:func:`read_spec` turns a preset's ``param`` into a :class:`Spec`: container, codecs, size
rule, frame rate, bitrates, HLS segment duration, sampling interval. Documented defaults
apply (``acodec`` aac, ``vcodec`` h264, ``as`` 0); values the local renderer cannot produce
raise :class:`~presetsync.media.MediaError` (``UNSUPPORTED``) naming the field.

The size rules (offline-api-params.md §2.1), in :func:`frame_size`, give the exact size a
preset asks for from a source's size:

* ``shortSide`` (with ``as: 1``; always for screenshots): the short edge is ``shortSide``, the
  long edge follows the source's ratio;
* ``width`` and ``height``: exactly that size with ``as: 0`` (the picture is stretched); with
  ``as: 1`` the largest size with the source's ratio that fits in the box;
* only one of them: the other follows the source's ratio;
* neither: the source's size.

``intelligentSwitch`` 1 or 2 (no upscaling, :func:`no_upscale`): a size larger than the
source's in either dimension becomes the source's size, and ``vr`` / ``vb`` above the
source's become the source's. Encoders add their own rounding on top (4:2:0 video needs even
sizes: see :func:`even`); ``presetsync preview`` compares what the preset declares with what
comes out, so that rounding shows up as a mismatch.

Not documented, chosen here: avm3u8 segments last 10 s unless ``hls_time`` says otherwise,
avsample takes an image every 10 s unless ``interval`` says otherwise, ``rotate`` turns by
multiples of 90 degrees (``auto`` turns nothing: the source's rotation tag is not read).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from ..presets.normalize import parse_bitrate, parse_number
from . import UNSUPPORTED, MediaError

DEFAULT_HLS_TIME = 10
DEFAULT_INTERVAL = 10


@dataclass(frozen=True)
class Container:
    f: str  # as presets spell it
    muxer: str  # FFmpeg's muxer
    demuxer: str  # the format_name FFmpeg (and ffprobe) reports when reading it back
    extension: str


_CONTAINERS = [
    Container("mp4", "mp4", "mov,mp4,m4a,3gp,3g2,mj2", "mp4"),
    Container("mov", "mov", "mov,mp4,m4a,3gp,3g2,mj2", "mov"),
    Container("flv", "flv", "flv", "flv"),
    Container("mkv", "matroska", "matroska,webm", "mkv"),
    Container("mpegts", "mpegts", "mpegts", "ts"),
    Container("ts", "mpegts", "mpegts", "ts"),
    Container("mp3", "mp3", "mp3", "mp3"),
    Container("adts", "adts", "aac", "aac"),
    Container("aac", "adts", "aac", "aac"),
    Container("hls", "hls", "hls", "m3u8"),
    Container("m3u8", "hls", "hls", "m3u8"),
]
CONTAINERS = {c.f: c for c in _CONTAINERS}
HLS = CONTAINERS["hls"]


@dataclass(frozen=True)
class Codec:
    encoder: str  # FFmpeg's encoder
    name: str  # the codec_name a probe reports
    pix_fmt: str | None = None  # images: the pixel format written


VIDEO_CODECS = {"h264": Codec("libx264", "h264"), "h265": Codec("libx265", "hevc")}
AUDIO_CODECS = {"aac": Codec("aac", "aac"), "mp3": Codec("libmp3lame", "mp3")}
IMAGE_CODECS = {
    "jpg": Codec("mjpeg", "mjpeg", "yuvj420p"),
    "jpeg": Codec("mjpeg", "mjpeg", "yuvj420p"),
    "png": Codec("png", "png", "rgb24"),
}


@dataclass(frozen=True)
class VideoSpec:
    codec: str = "h264"  # h264, h265 or copy
    width: int | None = None
    height: int | None = None
    keep_ratio: bool = False  # as: 1
    short_side: int | None = None  # only set where it applies (as: 1, or a screenshot)
    fps: float | None = None
    bitrate: int | None = None
    rotate: int = 0  # 0, 90, 180 or 270, clockwise


@dataclass(frozen=True)
class AudioSpec:
    codec: str = "aac"  # aac, mp3 or copy
    bitrate: int | None = None
    sample_rate: int | None = None
    channels: int | None = None


@dataclass(frozen=True)
class Logo:
    url: str
    x: int = 0  # pixels from the left edge
    y: int = 0  # pixels from the top edge


@dataclass(frozen=True)
class Spec:
    presettype: str
    container: Container | None = None  # None for screenshots and avinfo
    video: VideoSpec | None = None  # None: no video (vn: 1)
    audio: AudioSpec | None = None  # None: no audio (an: 1)
    no_upscale: bool = False  # intelligentSwitch 1 or 2
    hls_time: float | None = None  # HLS output: the segment duration
    interval: float | None = None  # avsample: seconds between two images
    image: str | None = None  # screenshots: jpg or png as param.f says (None: see image_type)
    logos: tuple[Logo, ...] = ()  # avlogo

    @property
    def is_hls(self) -> bool:
        return self.container is not None and self.container.muxer == "hls"


@dataclass(frozen=True)
class SourceInfo:
    """What the size, rate and no-upscaling rules need to know about a source."""

    width: int | None = None  # None: no video
    height: int | None = None
    fps: float | None = None
    video_bitrate: int | None = None
    duration: float = 0.0
    has_audio: bool = False


def _mapping(param: object, key: str) -> dict[str, Any]:
    value = param.get(key) if isinstance(param, dict) else None
    return value if isinstance(value, dict) else {}


def _int(section: dict[str, Any], key: str, where: str) -> int | None:
    value = section.get(key)
    if value is None:
        return None
    number = parse_number(value, integer=True)
    if number is None or number <= 0:
        raise MediaError(UNSUPPORTED, f"{where}{key} must be a positive whole number, got {value!r}")
    return int(number)


def _flag(section: dict[str, Any], key: str) -> bool:
    return str(section.get(key, 0)).strip() == "1"


def _rotate(value: object) -> int:
    if value is None or str(value).strip() == "auto":
        return 0
    number = parse_number(value)
    if number is None or number % 90 or not 0 <= number <= 360:
        raise MediaError(
            UNSUPPORTED, f"param.VIDEO.rotate {value!r}: the local renderer turns by 0, 90, 180, 270 or 360 degrees"
        )
    return int(number) % 360


def _video(video: dict[str, Any]) -> VideoSpec | None:
    if _flag(video, "vn"):
        return None
    codec = str(video.get("vcodec", "h264"))
    if codec not in (*VIDEO_CODECS, "copy"):
        raise MediaError(UNSUPPORTED, f"param.VIDEO.vcodec {codec!r}: the codecs are h264, h265 and copy")
    fps = parse_number(video.get("vr")) if video.get("vr") is not None else None
    bitrate = parse_bitrate(video.get("vb"), lenient=True) if video.get("vb") is not None else None
    if (video.get("vr") is not None and not fps) or (video.get("vb") is not None and not bitrate):
        raise MediaError(UNSUPPORTED, f"param.VIDEO: cannot read vr {video.get('vr')!r} or vb {video.get('vb')!r}")
    keep_ratio = _flag(video, "as")
    return VideoSpec(
        codec=codec,
        width=_int(video, "width", "param.VIDEO."),
        height=_int(video, "height", "param.VIDEO."),
        keep_ratio=keep_ratio,
        short_side=_int(video, "shortSide", "param.VIDEO.") if keep_ratio else None,
        fps=float(fps) if fps else None,
        bitrate=bitrate,
        rotate=_rotate(video.get("rotate")),
    )


def _audio(audio: dict[str, Any]) -> AudioSpec | None:
    if _flag(audio, "an"):
        return None
    codec = str(audio.get("acodec", "aac"))
    if codec not in (*AUDIO_CODECS, "copy"):
        raise MediaError(UNSUPPORTED, f"param.AUDIO.acodec {codec!r}: the codecs are aac, mp3 and copy")
    bitrate = parse_bitrate(audio.get("ab"), lenient=True) if audio.get("ab") is not None else None
    if audio.get("ab") is not None and not bitrate:
        raise MediaError(UNSUPPORTED, f"param.AUDIO.ab: cannot read {audio.get('ab')!r} as a bitrate")
    return AudioSpec(
        codec=codec,
        bitrate=bitrate,
        sample_rate=_int(audio, "ar", "param.AUDIO."),
        channels=_int(audio, "channels", "param.AUDIO."),
    )


def _container(f: object, presettype: str) -> Container:
    if presettype == "avm3u8":
        if f is not None and str(f).lower() not in ("hls", "m3u8"):
            raise MediaError(UNSUPPORTED, f"param.f {f!r}: an avm3u8 preset writes HLS (f: hls or m3u8)")
        return HLS
    name = "mp4" if f is None else str(f).lower()
    if name not in CONTAINERS:
        raise MediaError(
            UNSUPPORTED, f"param.f {f!r}: the local renderer writes {', '.join(sorted(CONTAINERS))} (not {name})"
        )
    return CONTAINERS[name]


def read_spec(presettype: str, param: object) -> Spec:
    """The :class:`Spec` of a preset; :class:`MediaError` for what cannot be rendered."""
    fields: dict[str, Any] = param if isinstance(param, dict) else {}
    if presettype == "avinfo":
        return Spec(presettype)
    if presettype in ("avop", "avm3u8"):
        container = _container(fields.get("f"), presettype)
        hls_time = None
        if container.muxer == "hls":
            hls_time = float(_int(fields, "hls_time", "param.") or DEFAULT_HLS_TIME)
        switch = str(fields.get("intelligentSwitch", 0)).strip()
        return Spec(
            presettype,
            container=container,
            video=_video(_mapping(fields, "VIDEO")),
            audio=_audio(_mapping(fields, "AUDIO")),
            no_upscale=switch in ("1", "2"),
            hls_time=hls_time,
        )
    if presettype in ("avsnapshot", "avsample"):
        video = VideoSpec(
            width=_int(fields, "width", "param."),
            height=_int(fields, "height", "param."),
            short_side=_int(fields, "shortSide", "param."),
        )
        image = str(fields["f"]).lower() if fields.get("f") is not None else None
        if image is not None and image not in IMAGE_CODECS:
            raise MediaError(UNSUPPORTED, f"param.f {fields.get('f')!r}: screenshots are jpg or png")
        interval = float(_int(fields, "interval", "param.") or DEFAULT_INTERVAL) if presettype == "avsample" else None
        return Spec(presettype, video=video, interval=interval, image=image)
    if presettype == "avlogo":
        logos = []
        for index, item in enumerate(fields.get("IMAGE") or []):
            url = item.get("logoUrl") if isinstance(item, dict) else None
            if not isinstance(url, str) or not url:
                raise MediaError(UNSUPPORTED, f"param.IMAGE[{index}].logoUrl is required")
            x, y = (parse_number(item.get(key, 0)) for key in ("offsetX", "offsetY"))
            if x is None or y is None:
                raise MediaError(UNSUPPORTED, f"param.IMAGE[{index}]: offsetX and offsetY must be numbers of pixels")
            logos.append(Logo(url, round(x), round(y)))
        if not logos:
            raise MediaError(UNSUPPORTED, "param.IMAGE: an avlogo preset needs at least one logo")
        return Spec(presettype, logos=tuple(logos))
    raise MediaError(UNSUPPORTED, f"presettype {presettype!r} cannot be rendered")


def frame_size(video: VideoSpec, source_width: int, source_height: int) -> tuple[int, int]:
    """The picture size *video* asks for from a source of that size (before encoder rounding
    and before rotation); see the module docstring."""
    ratio = source_width / source_height
    if video.short_side:
        short = video.short_side
        if source_width >= source_height:
            return max(1, round(short * ratio)), short
        return short, max(1, round(short / ratio))
    width, height = video.width, video.height
    if width and height:
        if not video.keep_ratio:
            return width, height
        scale = min(width / source_width, height / source_height)
        return max(1, round(source_width * scale)), max(1, round(source_height * scale))
    if width:
        return width, max(1, round(width / ratio))
    if height:
        return max(1, round(height * ratio)), height
    return source_width, source_height


def no_upscale(video: VideoSpec, source: SourceInfo) -> VideoSpec:
    """*video* with intelligentSwitch's rule applied against *source* (see the module docstring)."""
    capped = video
    if source.width and source.height:
        width, height = frame_size(video, source.width, source.height)
        if width > source.width or height > source.height:
            capped = replace(capped, width=source.width, height=source.height, short_side=None, keep_ratio=False)
    if video.fps and source.fps and video.fps > source.fps:
        capped = replace(capped, fps=source.fps)
    if video.bitrate and source.video_bitrate and video.bitrate > source.video_bitrate:
        capped = replace(capped, bitrate=source.video_bitrate)
    return capped


def image_type(spec: Spec, name: str) -> str:
    """A screenshot's format: ``param.f``, else png for a name ending in .png, else jpg."""
    return spec.image or ("png" if name.lower().endswith(".png") else "jpg")


def even(size: int) -> int:
    """*size* rounded down to an even number (at least 2): FFmpeg's H.264/H.265 encoders refuse
    odd sizes in 4:2:0, so the local renderer rounds down, as ``scale=trunc(iw/2)*2`` does."""
    return max(2, size - size % 2)


_CLOCK = re.compile(r"(?:(\d+):)?(\d+):(\d+(?:\.\d+)?)")


def parse_time(value: object, name: str) -> float | None:
    """Seconds from ``5``, ``"5.5"``, ``"00:01:05"`` or ``"01:05.5"``; None when absent."""
    if value is None or value == "":
        return None
    number = parse_number(value)
    if number is not None and number >= 0:
        return float(number)
    match = _CLOCK.fullmatch(str(value).strip())
    if match is None:
        raise MediaError(UNSUPPORTED, f"extParam {name} {value!r}: write seconds or HH:MM:SS[.mmm]")
    hours, minutes, seconds = match.groups()
    return int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)
