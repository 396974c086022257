"""The generated test pattern: colour bars over a strip of noise, with a sine tone.

:func:`write_sample` writes it with PyAV at run time (nothing is stored in git): the top two
thirds are eight colour bars, the bottom third is fresh noise every frame, so that encoders
have to spend the bitrate a preset asks for (bars alone would compress to almost nothing and
make a bitrate check meaningless); the audio is a 1 kHz sine in stereo. The noise comes from
a seeded generator, so the same arguments write the same picture.

The default is what ``presetsync preview`` uses: 2 s of 320x240 at 25 fps with 44.1 kHz audio,
H.264 and AAC in MP4. The tests write tinier ones.
"""

from __future__ import annotations

import math
import random
import struct
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from . import import_av

if TYPE_CHECKING:
    from av.container import OutputContainer

BARS = [
    (192, 192, 192),
    (192, 192, 0),
    (0, 192, 192),
    (0, 192, 0),
    (192, 0, 192),
    (192, 0, 0),
    (0, 0, 192),
    (16, 16, 16),
]
TONE_HZ = 1000
_FORMATS = {".mp4": "mp4", ".ts": "mpegts", ".flv": "flv", ".mkv": "matroska"}


def write_sample(
    path: str | Path,
    *,
    seconds: float = 2.0,
    width: int = 320,
    height: int = 240,
    fps: int = 25,
    sample_rate: int = 44100,
    audio: bool = True,
    seed: int = 0,
) -> Path:
    """Write the test pattern to *path* (.mp4, .ts, .flv or .mkv) and return the path."""
    import_av()
    import av

    path = Path(path)
    rng = random.Random(seed)
    with av.open(str(path), "w", format=_FORMATS.get(path.suffix.lower(), "mp4")) as out:
        video = out.add_stream("libx264", rate=fps, options={"preset": "veryfast", "crf": "12"})
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        tone = _Tone(out, sample_rate) if audio else None
        row = b"".join(bytes(BARS[x * len(BARS) // width]) for x in range(width))
        bars_height = height * 2 // 3
        frames = round(seconds * fps)
        for index in range(frames):
            frame = av.VideoFrame(width, height, "rgb24")
            plane = frame.planes[0]
            pad = bytes(plane.line_size - width * 3)
            noise = [rng.randbytes(width * 3) + pad for _ in range(height - bars_height)]
            plane.update((row + pad) * bars_height + b"".join(noise))
            frame.pts, frame.time_base = index, Fraction(1, fps)
            out.mux(video.encode(frame))
            if tone is not None:
                tone.write_until((index + 1) / fps)
        out.mux(video.encode(None))
        if tone is not None:
            tone.write_until(frames / fps)
            out.mux(tone.stream.encode(None))
    return path


class _Tone:
    """The sine tone, written in step with the video (muxers want interleaved packets)."""

    def __init__(self, out: OutputContainer, sample_rate: int):
        self.out, self.rate = out, sample_rate
        self.stream = out.add_stream("aac", rate=sample_rate)
        self.stream.layout = "stereo"
        self.stream.bit_rate = 128_000
        self.written = 0

    def write_until(self, seconds: float) -> None:
        import av

        total = round(seconds * self.rate)
        step = 2 * math.pi * TONE_HZ / self.rate
        while self.written < total:
            count = min(1024, total - self.written)
            values = [round(12000 * math.sin(step * (self.written + k))) for k in range(count)]
            frame = av.AudioFrame(format="s16", layout="stereo", samples=count)
            frame.planes[0].update(struct.pack(f"<{2 * count}h", *(v for v in values for _ in (0, 1))))
            frame.sample_rate, frame.pts, frame.time_base = self.rate, self.written, Fraction(1, self.rate)
            self.out.mux(self.stream.encode(frame))
            self.written += count
