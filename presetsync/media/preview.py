"""``presetsync preview`` and ``plan --preview``: render a preset on a sample and check that
what comes out is what the preset declares.

Each preset is rendered with :mod:`.render` (what the local service's workers do), the output
is probed (:mod:`.probe`) and compared, row by row, with the preset's declared values:

===============  ==========================================================================
check            passes when
===============  ==========================================================================
container        the output reads back as the container ``f`` names (FFmpeg's format name)
video / audio    codec as declared (``h264`` by default, ``aac``); no stream with vn/an: 1
width, height,   equal to the declared value; ``shortSide`` is the output's short edge. With
short side       ``intelligentSwitch`` 1 or 2 a size larger than the source is expected to
                 be the source's (no upscaling). Only declared values are checked.
frame rate       within 1% of ``vr``
bitrate          ``vb`` / ``ab`` measured over the stream's packets, within 25% of the
                 declared value: x264's average-bitrate mode lands within about 15% on a
                 2-second clip. With ``--source`` only the upper bound applies, since real
                 content may be easier to compress than the bitrate allows.
sample rate,     equal to ``ar`` / ``channels``
channels
segments (HLS)   every segment but the last lasts ``hls_time`` within 10% (at least 0.1 s);
                 the last is no longer than that
images           avsample: one image per ``interval`` over the sample; avsnapshot: one image
===============  ==========================================================================

So a preset that declares ``height: 361`` fails (H.264 in 4:2:0 needs even sizes: FFmpeg's
output is 360), and so does ``width: 640, height: 360, as: 1`` on a 4:3 source (the ratio is
kept: 480x360). A preset that cannot be rendered at all (a container that cannot hold its
codec, say) fails with the reason. The default sample is the generated test pattern
(:mod:`.sample`): 2 s of 320x240 colour bars over noise at 25 fps, a 1 kHz tone.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypedDict

from ..errors import ExitStatus, InputError
from . import MediaError, import_av
from .probe import first_stream, hls_segments, probe, read_source_info, stream_fps
from .spec import (
    AUDIO_CODECS,
    VIDEO_CODECS,
    SourceInfo,
    Spec,
    VideoSpec,
    image_type,
    no_upscale,
    read_spec,
)

if TYPE_CHECKING:
    from ..config import Config
    from ..presets.model import DesiredPreset
    from ..presets.plan import Change
    from .render import LogoImage


class Sample(TypedDict):
    """The generated test pattern's size and length (:func:`~presetsync.media.sample.write_sample`)."""

    seconds: float
    width: int
    height: int
    fps: int


BITRATE_TOLERANCE = 0.25
FPS_TOLERANCE = 0.01
SEGMENT_TOLERANCE, SEGMENT_TOLERANCE_MIN = 0.10, 0.1
SAMPLE = Sample(seconds=2.0, width=320, height=240, fps=25)


class PreviewMismatch(InputError):
    """Some preset does not render as it declares (exit 1)."""


@dataclass(frozen=True)
class Check:
    what: str
    expected: str
    got: str
    ok: bool


@dataclass(frozen=True)
class Target:
    """A preset to preview: its name, type, param and where it is written (file:line)."""

    name: str
    presettype: str
    param: dict[str, Any]
    where: str = ""
    logos: tuple[LogoImage, ...] = ()  # of a chained avlogo preset


@dataclass
class Preview:
    target: Target
    files: list[Path] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)


def _rate_text(bps: float) -> str:
    return f"{bps / 1_000_000:.3g}M" if bps >= 1_000_000 else f"{bps / 1000:.3g}k"


def _equal(what: str, expected: object, got: object) -> Check:
    return Check(what, str(expected), "none" if got is None else str(got), got is not None and got == expected)


def _absent(what: str, flag: str, stream: dict[str, Any] | None) -> Check:
    return Check(what, f"none ({flag}: 1)", "none" if stream is None else stream["codec_name"], stream is None)


def _bitrate(what: str, declared: int, stream: dict[str, Any] | None, generated: bool) -> Check:
    got = int(stream["bit_rate"]) if stream and stream.get("bit_rate") else None
    high = declared * (1 + BITRATE_TOLERANCE)
    low = declared * (1 - BITRATE_TOLERANCE) if generated else 0
    expected = f"{_rate_text(declared)} ±{BITRATE_TOLERANCE:.0%}" if generated else f"<= {_rate_text(high)}"
    shown = "none" if got is None else _rate_text(round(got, -2))
    return Check(what, expected, shown, got is not None and low <= got <= high)


def _video_checks(spec: Spec, source: SourceInfo, meta: dict[str, Any], generated: bool) -> list[Check]:
    stream = first_stream(meta, "video")
    if spec.video is None:
        return [_absent("video", "vn", stream)]
    if spec.video.codec == "copy":
        return [Check("video codec", "the source's", stream["codec_name"] if stream else "none", stream is not None)]
    declared: VideoSpec = no_upscale(spec.video, source) if spec.no_upscale else spec.video
    checks = [_equal("video codec", VIDEO_CODECS[declared.codec].name, stream and stream["codec_name"])]
    if stream is None:
        return checks

    def label(what: str, *fields: str) -> str:
        capped = any(getattr(declared, f) != getattr(spec.video, f) for f in fields)
        return f"{what} (no upscaling)" if capped else what

    turned = declared.rotate in (90, 270)  # width and height are the picture's before it is turned
    width, height = (stream["height"], stream["width"]) if turned else (stream["width"], stream["height"])
    if declared.width:
        checks.append(_equal(label("width", "width", "height"), declared.width, width))
    if declared.height:
        checks.append(_equal(label("height", "width", "height"), declared.height, height))
    if declared.short_side:
        checks.append(_equal("short side", declared.short_side, min(width, height)))
    if declared.fps:
        fps = stream_fps(stream)
        ok = fps is not None and abs(fps - declared.fps) <= declared.fps * FPS_TOLERANCE
        shown = "none" if fps is None else f"{fps:.3g}"
        checks.append(Check(label("frame rate", "fps"), f"{declared.fps:g}", shown, ok))
    if declared.bitrate:
        checks.append(_bitrate(label("video bitrate", "bitrate"), declared.bitrate, stream, generated))
    return checks


def _audio_checks(spec: Spec, meta: dict[str, Any], generated: bool) -> list[Check]:
    stream = first_stream(meta, "audio")
    audio = spec.audio
    if audio is None:
        return [_absent("audio", "an", stream)]
    if audio.codec == "copy":
        return [Check("audio codec", "the source's", stream["codec_name"] if stream else "none", stream is not None)]
    checks = [_equal("audio codec", AUDIO_CODECS[audio.codec].name, stream and stream["codec_name"])]
    if stream is None:
        return checks
    if audio.sample_rate:
        checks.append(_equal("sample rate", audio.sample_rate, int(stream["sample_rate"])))
    if audio.channels:
        checks.append(_equal("channels", audio.channels, stream.get("channels")))
    if audio.bitrate:
        checks.append(_bitrate("audio bitrate", audio.bitrate, stream, generated))
    return checks


def _segment_checks(spec: Spec, playlist: Path) -> list[Check]:
    assert spec.hls_time is not None
    target = spec.hls_time
    tolerance = max(target * SEGMENT_TOLERANCE, SEGMENT_TOLERANCE_MIN)
    durations = [duration for _, duration in hls_segments(playlist)]
    ok = bool(durations) and all(abs(d - target) <= tolerance for d in durations[:-1])
    ok = ok and durations[-1] <= target + tolerance
    got = ", ".join(f"{d:.2f}" for d in durations) or "none"
    return [Check("segments (s)", f"{target:g} ±{tolerance:.2g}, the last shorter", got, ok)]


def _image_checks(spec: Spec, files: list[Path], count: int) -> list[Check]:
    assert spec.video is not None
    checks = [_equal("images", count, len(files))]
    if not files:
        return checks
    meta = probe(files[0])
    stream = first_stream(meta, "video") or {}
    kind = image_type(spec, files[0].name)
    checks.append(_equal("image codec", "mjpeg" if kind in ("jpg", "jpeg") else kind, stream.get("codec_name")))
    width, height = stream.get("width"), stream.get("height")
    if spec.video.width:
        checks.append(_equal("width", spec.video.width, width))
    if spec.video.height:
        checks.append(_equal("height", spec.video.height, height))
    if spec.video.short_side and width and height:
        checks.append(_equal("short side", spec.video.short_side, min(width, height)))
    return checks


def check_output(
    spec: Spec, source: SourceInfo, files: list[Path], meta_text: str | None, generated: bool
) -> list[Check]:
    """The :class:`Check` rows of one rendered preset (see the module docstring)."""
    if spec.presettype == "avinfo":
        meta = json.loads(meta_text or "{}")
        fmt = meta.get("format", {})
        got = f"{fmt.get('format_name', 'none')}, {len(meta.get('streams', []))} stream(s)"
        return [Check("meta info", "the source's format and streams", got, bool(meta.get("streams")))]
    if spec.presettype in ("avsnapshot", "avsample"):
        count = 1
        if spec.presettype == "avsample":
            assert spec.interval
            count = max(1, math.ceil(source.duration / spec.interval - 1e-9))
        return _image_checks(spec, files, count)
    assert spec.container is not None
    meta = probe(files[0])
    container = spec.container
    expected = container.demuxer if container.demuxer == container.f else f"{container.demuxer} (f: {container.f})"
    checks = [
        Check("container", expected, meta["format"]["format_name"], meta["format"]["format_name"] == container.demuxer)
    ]
    checks += _video_checks(spec, source, meta, generated)
    checks += _audio_checks(spec, meta, generated)
    if spec.is_hls:
        checks += _segment_checks(spec, files[0])
    return checks


def _output_path(target: Target, spec: Spec, out_dir: Path) -> Path:
    if spec.presettype == "avsample":
        return out_dir / target.name / f"{target.name}-%03d.{image_type(spec, '.jpg')}"
    if spec.presettype == "avsnapshot":
        return out_dir / f"{target.name}.{image_type(spec, '.jpg')}"
    if spec.is_hls:
        return out_dir / target.name / f"{target.name}.m3u8"
    extension = spec.container.extension if spec.container else "out"
    return out_dir / f"{target.name}.{extension}"


def preview(target: Target, source: Path, out_dir: Path, *, generated: bool = False) -> Preview:
    """Render *target* on *source* into *out_dir* and check the output."""
    from .render import Job, render

    result = Preview(target)
    try:
        spec = read_spec(target.presettype, target.param)
        job = Job(target.presettype, target.param, source, _output_path(target, spec, out_dir), logos=target.logos)
        rendered = render(job)
        result.files = rendered.files
        info = read_source_info(source)
        result.checks = check_output(spec, info, rendered.files, rendered.meta, generated)
    except MediaError as exc:
        result.checks = [Check("render", "an output", f"failed: {exc.message}", False)]
    return result


def format_table(result: Preview, source_label: str, *, show_output: bool = True) -> str:
    """The table ``preview`` prints for one preset: a title line, then check, expected, got, ok."""
    target = result.target
    where = f" ({target.where})" if target.where else ""
    output = f" -> {result.files[0]}" if result.files and show_output else ""
    lines = [f"{target.name}{where}, {target.presettype}, on {source_label}{output}"]
    rows = [("check", "expected", "got", "")] + [
        (c.what, c.expected, c.got, "ok" if c.ok else "MISMATCH") for c in result.checks
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        lines.append("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[3])
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _describe_source(source: Path, sample: Sample | None) -> str:
    if sample is not None:
        return "the test pattern ({width}x{height}, {fps} fps, {seconds:g} s)".format(**sample)
    info = read_source_info(source)
    size = f"{info.width}x{info.height}, " if info.width else ""
    return f"{source} ({size}{info.duration:.1f} s)"


def run_previews(
    targets: Sequence[Target],
    *,
    source: Path | None = None,
    out_dir: Path | None = None,
    size: tuple[int, int] | None = None,
    out: TextIO | None = None,
) -> list[Preview]:
    """Preview every target on *source* (default: the test pattern, of *size*), printing a
    table for each to *out*; outputs go to *out_dir* (default: a temporary directory)."""
    from .sample import write_sample

    out = out or sys.stdout
    import_av()
    if source is not None and not source.is_file():
        raise InputError(f"--source {source}: no such file")
    with tempfile.TemporaryDirectory(prefix="presetsync-preview-") as tmp:
        sample = None
        if source is None:
            sample = SAMPLE.copy()
            if size is not None:
                sample["width"], sample["height"] = size
            source = write_sample(Path(tmp) / "sample.mp4", **sample)
        try:
            label = _describe_source(source, sample)
        except MediaError as exc:
            raise InputError(f"--source {source}: {exc.message}") from None
        results = []
        for target in targets:
            result = preview(target, source, out_dir or Path(tmp) / "out", generated=sample is not None)
            out.write(format_table(result, label, show_output=out_dir is not None))
            out.flush()
            results.append(result)
    return results


def _summary(results: Sequence[Preview]) -> str:
    bad = [r.target.name for r in results if not r.ok]
    if not bad:
        return f"preview: {len(results)} preset(s) render as declared"
    return f"preview: {len(bad)} of {len(results)} preset(s) do not render as declared: {', '.join(bad)}"


# --- turning names and files into targets ------------------------------------------------------


def _logo_images(avlogo: DesiredPreset) -> tuple[LogoImage, ...]:
    """The logos of an avlogo preset as local files: logoUrl is read as a path, relative to
    the preset's file."""
    from .render import LogoImage

    base = Path(avlogo.file).parent
    logos = []
    for logo in read_spec("avlogo", avlogo.param).logos:
        path = Path(logo.url)
        logos.append(LogoImage(path if path.is_absolute() else base / path, logo.x, logo.y))
    return tuple(logos)


def _target(preset: DesiredPreset, logos: tuple[LogoImage, ...] = ()) -> Target:
    return Target(preset.name, preset.presettype, dict(preset.param), f"{preset.file}:{preset.line}", logos)


def targets_from(arg: str, config: Config | None) -> list[Target]:
    """The presets PRESET_OR_FILE names: a preset YAML file (all its presets), or a preset
    name from the config's preset files (``avop|avlogo`` for a chain)."""
    from ..inputs.schema_messages import did_you_mean
    from ..presets.validate import load_presets

    path = Path(arg)
    is_file = path.suffix.lower() in (".yaml", ".yml") or path.is_file()
    loaded = load_presets([path] if is_file else None, config, manifests=[])
    if loaded.problems:
        shown = "\n".join(str(problem) for problem in loaded.problems)
        raise InputError(f"{len(loaded.problems)} problem(s) in the preset files:\n{shown}")
    if is_file:
        if not loaded.presets:
            raise InputError(f"{arg}: no presets in this file")
        return [_target(p) for p in loaded.presets if p.presettype != "avlogo"] or _only_logos(loaded.presets)
    by_name = {p.name: p for p in loaded.presets}
    names = arg.split("|")
    for name in names:
        if name not in by_name:
            raise InputError(f"no preset named {name!r} in the preset files{did_you_mean(name, by_name)}")
    first = by_name[names[0]]
    if len(names) == 1 and first.presettype == "avlogo":
        _only_logos([first])
    if len(names) > 1:
        if len(names) != 2 or (first.presettype, by_name[names[1]].presettype) != ("avop", "avlogo"):
            raise InputError(f"{arg!r}: a chain is one avop preset and one avlogo preset ('AVOP|AVLOGO')")
        return [_target(first, _logo_images(by_name[names[1]]))]
    return [_target(first)]


def _only_logos(presets: Iterable[DesiredPreset]) -> list[Target]:
    names = ", ".join(p.name for p in presets)
    raise InputError(f"{names}: an avlogo preset is previewed chained after an avop preset: preview 'AVOP|{names}'")


def _size(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    width, _, height = text.lower().partition("x")
    if not (width.isdigit() and height.isdigit() and int(width) >= 16 and int(height) >= 16):
        raise InputError(f"--size must be WIDTHxHEIGHT (at least 16x16), got {text!r}")
    return int(width), int(height)


def run_preview(args: argparse.Namespace, config: Config | None) -> int:
    """``presetsync preview`` with its parsed *args* and the configuration (whose preset files
    name the presets): exit 0 when every preset renders as declared, else 1."""
    targets = targets_from(args.preset, config)
    results = run_previews(targets, source=args.source, out_dir=args.out, size=_size(args.size))
    print(_summary(results))
    if args.out is not None:
        print(f"The outputs are in {args.out}.")
    return ExitStatus.OK if all(result.ok for result in results) else ExitStatus.ERROR


def preview_plan(changes: Iterable[Change], *, out: TextIO | None = None) -> None:
    """``plan --preview``: preview every preset the plan creates, updates or replaces (from its
    body, as apply would send it); PreviewMismatch when any does not render as declared."""
    out = out or sys.stdout
    targets: list[Target] = []
    logos: list[Target] = []
    for change in changes:
        body = change.body
        if change.action not in ("create", "update", "replace") or not body:
            continue
        target = Target(body["preset"], body["presettype"], dict(body["param"]), change.source or "")
        (logos if target.presettype == "avlogo" else targets).append(target)
    if logos:
        names = ", ".join(t.name for t in logos)
        print(f"preview: not previewed alone (avlogo, used chained): {names}", file=out)
    if not targets:
        print("preview: no created or changed preset to preview", file=out)
        return
    print(file=out)
    results = run_previews(targets, out=out)
    if not all(result.ok for result in results):
        raise PreviewMismatch(_summary(results))
    print(_summary(results), file=out)
