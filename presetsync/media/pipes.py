"""The ways a stream goes through a transcode (:func:`presetsync.media.render.render`, whose
docstring says what they do): :class:`VideoPipe` (decode, one FFmpeg filter graph, encode),
:class:`AudioPipe` (decode, resample, encode), or with ``copy`` the packets as they are; and
the encoders and output streams they are made of, checked against what this FFmpeg can do.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Protocol, TypeVar

from . import MEDIA_FAILED, SOURCE_MISSING, UNSUPPORTED, MediaError
from .probe import open_media
from .spec import AUDIO_CODECS, VIDEO_CODECS, AudioSpec, SourceInfo, Spec, VideoSpec, even, frame_size

if TYPE_CHECKING:
    from av import AudioStream, Packet, VideoFrame, VideoStream
    from av import Codec as Encoder
    from av.container import OutputContainer
    from av.filter import FilterContext
    from av.stream import Stream

    from .render import LogoImage

_MadeT = TypeVar("_MadeT")
ENCODER_OPTIONS = {
    "libx264": {"preset": "veryfast"},
    "libx265": {"preset": "veryfast", "x265-params": "log-level=error"},
}
ROTATIONS: dict[int, list[tuple[str, str | None]]] = {
    0: [],
    90: [("transpose", "clock")],
    180: [("hflip", None), ("vflip", None)],
    270: [("transpose", "cclock")],
}
_NO_TYPE, _KEYFRAME = 0, 1  # AVPictureType NONE and I (an I frame asked of libx264 is a keyframe)


def find_encoder(name: str) -> Encoder:
    import av

    try:
        return av.Codec(name, "w")
    except ValueError:
        raise MediaError(UNSUPPORTED, f"this FFmpeg (PyAV {av.__version__}) has no {name} encoder") from None


def add_stream(spec: Spec, what: str, add: Callable[[], _MadeT]) -> _MadeT:
    try:
        return add()
    except ValueError as exc:
        assert spec.container is not None
        raise MediaError(UNSUPPORTED, f"container {spec.container.f} cannot hold {what}: {exc}") from None


def made_as(made: object, kind: type[_MadeT], encoder: str) -> _MadeT:
    """A stream or codec context *made* for *encoder*, as the kind that encoder makes
    (PyAV types them by codec name only when the name is written out)."""
    if not isinstance(made, kind):
        raise MediaError(UNSUPPORTED, f"{encoder} does not make a {kind.__name__}")
    return made


class Pipe(Protocol):
    """One input stream's way to the output: its packets fed in, then flushed."""

    def feed(self, packet: Packet[Stream]) -> None: ...

    def flush(self) -> None: ...


class Graph:
    """A filter graph: one video input, a chain of filters, logos overlaid, yuv420p out."""

    def __init__(self, template: VideoStream, filters: list[tuple[str, str | None]], logos: Sequence[LogoImage]):
        import av

        graph = av.filter.Graph()
        self.source = node = graph.add_buffer(template=template)
        for name, args in filters:
            step = graph.add(name, args)
            node.link_to(step)
            node = step
        images: list[tuple[FilterContext, VideoFrame]] = []
        for logo in logos:
            image = logo_frame(logo.path)
            buffer = graph.add_buffer(
                width=image.width, height=image.height, format=image.format, time_base=Fraction(1, 1000)
            )
            overlay = graph.add("overlay", f"x={logo.x}:y={logo.y}")
            node.link_to(overlay, 0, 0)
            buffer.link_to(overlay, 0, 1)
            node = overlay
            images.append((buffer, image))
        pixels = graph.add("format", "yuv420p")
        node.link_to(pixels)
        self.sink = graph.add("buffersink")
        pixels.link_to(self.sink)
        graph.configure()
        for buffer, image in images:  # one picture each, repeated over the whole video
            image.pts = 0
            buffer.push(image)
            buffer.push(None)
        self.graph = graph

    def push(self, frame: VideoFrame | None) -> None:
        self.source.push(frame)

    def pull(self) -> Iterator[VideoFrame]:
        import av

        while True:
            try:
                frame = self.sink.pull()
            except (av.BlockingIOError, av.EOFError):
                return
            assert isinstance(frame, av.VideoFrame)  # a video graph gives video frames
            yield frame


def logo_frame(path: Path) -> VideoFrame:
    if not path.is_file():
        raise MediaError(SOURCE_MISSING, f"the logo {path.name} does not exist")
    with open_media(path, "the logo ") as container:
        for frame in container.decode(video=0):
            return frame
    raise MediaError(MEDIA_FAILED, f"the logo {path.name} holds no picture")


class VideoPipe:
    def __init__(
        self,
        out: OutputContainer,
        vin: VideoStream,
        video: VideoSpec,
        source: SourceInfo,
        spec: Spec,
        logos: Sequence[LogoImage],
    ):
        import av

        self.out, self.vin = out, vin
        self.graph: Graph | None = None
        self.key_every: float | None = None
        self.next_key = 0.0
        if video.codec == "copy":
            what = f"{vin.codec_context.name} video"
            self.stream = add_stream(spec, what, lambda: out.add_stream_from_template(vin))
            return
        codec = VIDEO_CODECS[video.codec]
        find_encoder(codec.encoder)
        assert source.width and source.height
        width, height = (even(n) for n in frame_size(video, source.width, source.height))
        fps = Fraction(video.fps or source.fps or 25).limit_denominator(1001)
        options = ENCODER_OPTIONS.get(codec.encoder, {})
        added = add_stream(
            spec, f"{video.codec} video", lambda: out.add_stream(codec.encoder, rate=fps, options=dict(options))
        )
        stream = made_as(added, av.VideoStream, codec.encoder)
        stream.width, stream.height = (height, width) if video.rotate in (90, 270) else (width, height)
        stream.pix_fmt = "yuv420p"
        if video.bitrate:
            stream.bit_rate = video.bitrate
        self.key_every = spec.hls_time  # HLS cuts at keyframes: one every hls_time seconds
        filters = [("fps", f"fps={fps}"), ("scale", f"{width}:{height}"), ("setsar", "1"), *ROTATIONS[video.rotate]]
        self.graph = Graph(vin, filters, logos)
        self.stream = stream

    def feed(self, packet: Packet[Stream]) -> None:
        if self.graph is None:
            if packet.dts is not None:
                packet.stream = self.stream
                self.out.mux(packet)
            return
        for frame in self.vin.decode(packet):
            self.graph.push(frame)
            self._drain()

    def _drain(self) -> None:
        assert self.graph is not None
        for frame in self.graph.pull():
            frame.pict_type = _NO_TYPE  # the encoder places keyframes, not the source's
            if self.key_every and (frame.time or 0.0) + 1e-6 >= self.next_key:
                frame.pict_type = _KEYFRAME
                self.next_key += self.key_every
            self.out.mux(self.stream.encode(frame))

    def flush(self) -> None:
        if self.graph is not None:
            self.graph.push(None)
            self._drain()
            self.out.mux(self.stream.encode(None))


def layout_for(channels: int | None, source_layout: str) -> str:
    """The layout written: the source's, or FFmpeg's default one for *channels* (``6c``: 5.1)."""
    import av

    if channels is None:
        return source_layout
    return str(av.AudioLayout(f"{channels}c").name)


class AudioPipe:
    def __init__(self, out: OutputContainer, ain: AudioStream, audio: AudioSpec, spec: Spec):
        import av

        self.out, self.ain = out, ain
        self.resampler: av.AudioResampler | None = None
        if audio.codec == "copy":
            what = f"{ain.codec_context.name} audio"
            self.stream = add_stream(spec, what, lambda: out.add_stream_from_template(ain))
            return
        codec = AUDIO_CODECS[audio.codec]
        encoder = find_encoder(codec.encoder)
        rate = audio.sample_rate or ain.codec_context.sample_rate
        rates = encoder.audio_rates
        if rates and rate not in rates:
            if audio.sample_rate:
                shown = ", ".join(str(r) for r in sorted(rates))
                raise MediaError(UNSUPPORTED, f"param.AUDIO.ar {rate}: the {audio.codec} encoder takes {shown}")
            rate = min(rates, key=lambda r: abs(r - rate))  # the source's rate is not possible: the nearest
        layout = layout_for(audio.channels, ain.codec_context.layout.name)
        added = add_stream(spec, f"{audio.codec} audio", lambda: out.add_stream(codec.encoder, rate=rate))
        stream = made_as(added, av.AudioStream, codec.encoder)
        stream.layout = layout
        if audio.bitrate:
            stream.bit_rate = audio.bitrate
        formats = encoder.audio_formats or [ain.codec_context.format]
        self.resampler = av.AudioResampler(format=formats[0].name, layout=layout, rate=rate)
        self.stream = stream

    def feed(self, packet: Packet[Stream]) -> None:
        if self.resampler is None:
            if packet.dts is not None:
                packet.stream = self.stream
                self.out.mux(packet)
            return
        for frame in self.ain.decode(packet):
            for resampled in self.resampler.resample(frame):
                self.out.mux(self.stream.encode(resampled))

    def flush(self) -> None:
        if self.resampler is not None:
            for resampled in self.resampler.resample(None):
                self.out.mux(self.stream.encode(resampled))
            self.out.mux(self.stream.encode(None))
