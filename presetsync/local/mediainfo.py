"""A plausible ``meta_info`` for a finished task, shaped like ffprobe's JSON output.

The local service transcodes nothing, so the "probe" of a task's output is made up from its
preset's ``param`` (container from ``f``, codecs, size, frame rate, bitrates, sample rate;
``vn``/``an`` drop a stream). Values absent from the preset come from a notional source:
1280x720 H.264 at 25 fps and 2 Mbit/s, with stereo AAC at 44.1 kHz and 128 kbit/s. The
duration is derived from the task id, so the same task always probes the same.

As ffprobe writes it, bitrates, sample rates and durations are strings; sizes and channel
counts are numbers. :func:`probe` returns the JSON *text*, which is what the API sends.
"""

from __future__ import annotations

import hashlib
import json
from fractions import Fraction
from typing import Any

from .params import parse_bitrate, parse_number

SOURCE_WIDTH, SOURCE_HEIGHT = 1280, 720
SOURCE_FPS = 25.0
SOURCE_VIDEO_BPS = 2_000_000
SOURCE_AUDIO_BPS = 128_000
SOURCE_SAMPLE_RATE = 44100

# f -> (format_name, format_long_name) as ffprobe reports them.
FORMATS = {
    "mp4": ("mov,mp4,m4a,3gp,3g2,mj2", "QuickTime / MOV"),
    "mov": ("mov,mp4,m4a,3gp,3g2,mj2", "QuickTime / MOV"),
    "flv": ("flv", "FLV (Flash Video)"),
    "mkv": ("matroska,webm", "Matroska / WebM"),
    "hls": ("hls,applehttp", "Apple HTTP Live Streaming"),
    "m3u8": ("hls,applehttp", "Apple HTTP Live Streaming"),
    "mpegts": ("mpegts", "MPEG-TS (MPEG-2 Transport Stream)"),
    "ts": ("mpegts", "MPEG-TS (MPEG-2 Transport Stream)"),
    "mp3": ("mp3", "MP2/3 (MPEG audio layer 2/3)"),
    "adts": ("aac", "raw ADTS AAC (Advanced Audio Coding)"),
    "aac": ("aac", "raw ADTS AAC (Advanced Audio Coding)"),
    "gif": ("gif", "CompuServe Graphics Interchange Format (GIF)"),
    "dash": ("dash", "DASH Muxer"),
}
VIDEO_CODECS = {
    "h264": ("h264", "H.264 / AVC / MPEG-4 AVC / MPEG-4 part 10", "High"),
    "h265": ("hevc", "H.265 / HEVC (High Efficiency Video Coding)", "Main"),
}
AUDIO_CODECS = {
    "aac": ("aac", "AAC (Advanced Audio Coding)", "LC"),
    "mp3": ("mp3", "MP3 (MPEG audio layer 3)", None),
}


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def _frame_size(video: dict[str, Any]) -> tuple[int, int]:
    width, height = parse_number(video.get("width")), parse_number(video.get("height"))
    short_side = parse_number(video.get("shortSide"))
    ratio = SOURCE_WIDTH / SOURCE_HEIGHT
    if short_side and str(video.get("as", 0)) == "1":
        w, h = _even(short_side * ratio), int(short_side)
    elif width and height:
        w, h = int(width), int(height)
    elif width:
        w, h = int(width), _even(width / ratio)
    elif height:
        w, h = _even(height * ratio), int(height)
    else:
        w, h = SOURCE_WIDTH, SOURCE_HEIGHT
    if str(video.get("rotate", "0")) in ("90", "270"):
        w, h = h, w
    return w, h


def _rate_text(fps: float) -> str:
    rate = Fraction(fps).limit_denominator(1001)
    return f"{rate.numerator}/{rate.denominator}"


def _video_stream(video: dict[str, Any], duration: str) -> tuple[dict[str, Any], int]:
    codec = VIDEO_CODECS.get(str(video.get("vcodec", "h264")), VIDEO_CODECS["h264"])  # copy: the source's h264
    fps = parse_number(video.get("vr")) or SOURCE_FPS
    bps = int(parse_bitrate(video.get("vb")) or SOURCE_VIDEO_BPS)
    width, height = _frame_size(video)
    rate = _rate_text(fps)
    stream = {
        "index": 0,
        "codec_name": codec[0],
        "codec_long_name": codec[1],
        "profile": codec[2],
        "codec_type": "video",
        "codec_time_base": f"1/{round(fps * 2)}",
        "width": width,
        "height": height,
        "coded_width": width,
        "coded_height": height,
        "pix_fmt": "yuv420p",
        "r_frame_rate": rate,
        "avg_frame_rate": rate,
        "time_base": "1/90000",
        "start_time": "0.000000",
        "duration": duration,
        "bit_rate": str(bps),
    }
    return stream, bps


def _audio_stream(audio: dict[str, Any], duration: str, index: int) -> tuple[dict[str, Any], int]:
    codec = AUDIO_CODECS.get(str(audio.get("acodec", "aac")), AUDIO_CODECS["aac"])  # copy: the source's aac
    rate = int(parse_number(audio.get("ar")) or SOURCE_SAMPLE_RATE)
    bps = int(parse_bitrate(audio.get("ab")) or SOURCE_AUDIO_BPS)
    channels = int(parse_number(audio.get("channels")) or 2)
    stream: dict[str, Any] = {
        "index": index,
        "codec_name": codec[0],
        "codec_long_name": codec[1],
        "codec_type": "audio",
        "codec_time_base": f"1/{rate}",
        "sample_fmt": "fltp",
        "sample_rate": str(rate),
        "channels": channels,
        "channel_layout": {1: "mono", 2: "stereo"}.get(channels, f"{channels} channels"),
        "time_base": f"1/{rate}",
        "start_time": "0.000000",
        "duration": duration,
        "bit_rate": str(bps),
    }
    if codec[2]:
        stream["profile"] = codec[2]
    return stream, bps


def probe(taskid: str, presettype: str, param: dict[str, Any]) -> str:
    """The meta_info JSON text of a task done with a preset of *presettype* and *param*."""
    digest = int(hashlib.sha256(taskid.encode("utf-8")).hexdigest()[:8], 16)
    duration = f"{10 + digest % 36000 / 10:.6f}"  # 10 s to an hour, fixed per task
    streams: list[dict[str, Any]] = []
    total_bps = 0
    if presettype in ("avsnapshot", "avsample"):
        width, height = _frame_size(param)
        fmt = ("image2", "image2 sequence")
        streams.append(
            {
                "index": 0,
                "codec_name": "mjpeg",
                "codec_long_name": "Motion JPEG",
                "codec_type": "video",
                "width": width,
                "height": height,
                "pix_fmt": "yuvj420p",
                "r_frame_rate": "25/1",
                "avg_frame_rate": "0/0",
                "time_base": "1/25",
            }
        )
        duration = "0.040000"
    else:
        default_f = "hls" if presettype == "avm3u8" else "mp4"
        fmt = FORMATS.get(str(param.get("f", default_f)).lower(), (str(param.get("f")), str(param.get("f"))))
        video = param.get("VIDEO") if isinstance(param.get("VIDEO"), dict) else {}
        audio = param.get("AUDIO") if isinstance(param.get("AUDIO"), dict) else {}
        if str(video.get("vn", 0)) != "1":
            stream, bps = _video_stream(video, duration)
            streams.append(stream)
            total_bps += bps
        if str(audio.get("an", 0)) != "1":
            stream, bps = _audio_stream(audio, duration, len(streams))
            streams.append(stream)
            total_bps += bps
    size = int(total_bps * float(duration) / 8) if total_bps else 48_213
    meta = {
        "metadata": {},
        "streams": streams,
        "format": {
            "nb_streams": len(streams),
            "nb_programs": 0,
            "format_name": fmt[0],
            "format_long_name": fmt[1],
            "start_time": "0.000000",
            "duration": duration,
            "size": str(size),
            "bit_rate": str(total_bps or int(size * 8 / float(duration))),
            "probe_score": 100,
        },
    }
    return json.dumps(meta, separators=(",", ":"))
