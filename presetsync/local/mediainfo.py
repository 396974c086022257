"""A plausible ``meta_info`` for a finished avinfo task, shaped like ffprobe's JSON output.

Meta information comes from avinfo tasks, which probe their source (offline-api-params.md
§2.6); other tasks have none. The simulated service reads no media, so the "probe" describes a
notional source: the container follows the source path's extension (``.flv`` is FLV, ``.mp3``
holds one MP3 stream; mp4 when unknown), with 1280x720 H.264 at 25 fps and 2 Mbit/s and stereo
AAC at 44.1 kHz and 128 kbit/s. The duration is derived from the path, so the same source always
probes the same. With ``--media-root`` the real file is probed instead (:mod:`presetsync.media`).

As ffprobe writes it, bitrates, sample rates and durations are strings; sizes and channel
counts are numbers. :func:`probe_source` returns the JSON *text*, which is what the API sends.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from typing import Any

SOURCE_WIDTH, SOURCE_HEIGHT = 1280, 720
SOURCE_VIDEO_BPS = 2_000_000
SOURCE_AUDIO_BPS = 128_000
SOURCE_SAMPLE_RATE = 44100

# source extension -> (format_name, format_long_name) as ffprobe reports them
FORMATS = {
    ".mp4": ("mov,mp4,m4a,3gp,3g2,mj2", "QuickTime / MOV"),
    ".m4v": ("mov,mp4,m4a,3gp,3g2,mj2", "QuickTime / MOV"),
    ".m4a": ("mov,mp4,m4a,3gp,3g2,mj2", "QuickTime / MOV"),
    ".mov": ("mov,mp4,m4a,3gp,3g2,mj2", "QuickTime / MOV"),
    ".flv": ("flv", "FLV (Flash Video)"),
    ".mkv": ("matroska,webm", "Matroska / WebM"),
    ".m3u8": ("hls,applehttp", "Apple HTTP Live Streaming"),
    ".ts": ("mpegts", "MPEG-TS (MPEG-2 Transport Stream)"),
    ".mp3": ("mp3", "MP2/3 (MPEG audio layer 2/3)"),
    ".aac": ("aac", "raw ADTS AAC (Advanced Audio Coding)"),
}
# extensions of audio-only sources -> their audio codec
_AUDIO_ONLY = {".mp3": "mp3", ".aac": "aac", ".m4a": "aac"}
AUDIO_CODECS = {
    "aac": ("aac", "AAC (Advanced Audio Coding)", "LC"),
    "mp3": ("mp3", "MP3 (MPEG audio layer 3)", None),
}


def _video_stream(duration: str) -> dict[str, Any]:
    return {
        "index": 0,
        "codec_name": "h264",
        "codec_long_name": "H.264 / AVC / MPEG-4 AVC / MPEG-4 part 10",
        "profile": "High",
        "codec_type": "video",
        "codec_time_base": "1/50",
        "width": SOURCE_WIDTH,
        "height": SOURCE_HEIGHT,
        "coded_width": SOURCE_WIDTH,
        "coded_height": SOURCE_HEIGHT,
        "pix_fmt": "yuv420p",
        "r_frame_rate": "25/1",
        "avg_frame_rate": "25/1",
        "time_base": "1/90000",
        "start_time": "0.000000",
        "duration": duration,
        "bit_rate": str(SOURCE_VIDEO_BPS),
    }


def _audio_stream(codec_name: str, duration: str, index: int) -> dict[str, Any]:
    name, long_name, profile = AUDIO_CODECS[codec_name]
    stream: dict[str, Any] = {
        "index": index,
        "codec_name": name,
        "codec_long_name": long_name,
        "codec_type": "audio",
        "codec_time_base": f"1/{SOURCE_SAMPLE_RATE}",
        "sample_fmt": "fltp",
        "sample_rate": str(SOURCE_SAMPLE_RATE),
        "channels": 2,
        "channel_layout": "stereo",
        "time_base": f"1/{SOURCE_SAMPLE_RATE}",
        "start_time": "0.000000",
        "duration": duration,
        "bit_rate": str(SOURCE_AUDIO_BPS),
    }
    if profile:
        stream["profile"] = profile
    return stream


def probe_source(path: str) -> str:
    """The meta_info JSON text an avinfo task on the source object *path* reports."""
    digest = int(hashlib.sha256(path.encode("utf-8")).hexdigest()[:8], 16)
    duration = f"{10 + digest % 36000 / 10:.6f}"  # 10 s to an hour, fixed per source
    extension = posixpath.splitext(path)[1].lower()
    format_name, format_long_name = FORMATS.get(extension, FORMATS[".mp4"])
    audio_only = _AUDIO_ONLY.get(extension)
    streams = [] if audio_only else [_video_stream(duration)]
    streams.append(_audio_stream(audio_only or "aac", duration, len(streams)))
    total_bps = SOURCE_AUDIO_BPS + (0 if audio_only else SOURCE_VIDEO_BPS)
    meta = {
        "metadata": {},
        "streams": streams,
        "format": {
            "nb_streams": len(streams),
            "nb_programs": 0,
            "format_name": format_name,
            "format_long_name": format_long_name,
            "start_time": "0.000000",
            "duration": duration,
            "size": str(int(total_bps * float(duration) / 8)),
            "bit_rate": str(total_bps),
            "probe_score": 100,
        },
    }
    return json.dumps(meta, separators=(",", ":"))
