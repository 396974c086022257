"""``presetsync lint``: rules across presets that no single schema check sees.

Each rule has a stable id, used in findings (``file:line:col: ID message``) and to silence it
in presetsync.yaml (``lint: {ignore: [ID], ignore_presets: {ID: [globs]}}``):

``ladder-monotonic``
    Among the video presets of one family (container and video codec: ``h264 mp4``,
    ``h264 hls``), a rung with more pixels per frame must have a higher video bitrate than
    every rung with fewer pixels and no higher frame rate. Rungs of the same resolution are not
    compared (a "high" and a "low" 720p are fine), nor a smaller rung at a higher frame rate
    (720p60 may cost more than 1080p30).
``bits-per-pixel``
    ``vb / (width * height * vr)`` must lie in the codec's band (:data:`BPP_BANDS`).
``duplicate-param``
    Two names with the same presettype and the same normalised param (both places reported).
``hls-gop``
    An avm3u8 preset whose ``hls_time`` is not a whole number of keyframe intervals
    (``VIDEO.gop`` frames at ``VIDEO.vr``), where all three are written.

Resolution: ``width`` x ``height`` when both are written; otherwise the missing side follows
the source's aspect ratio, which is taken to be 16:9 (``shortSide: 480`` is 853x480). A preset
with neither (the source's size), without ``vb``, with ``vn: 1`` or ``vcodec: copy`` is not a rung.

Lint reads files only; it never contacts the service.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ..errors import ExitStatus, InputError
from ..inputs.problems import plural
from .catalog import presettype_spec
from .model import DesiredPreset
from .normalize import ExtraFields, normalize_param, parse_number
from .plan import matches
from .validate import load_presets

if TYPE_CHECKING:
    from ..config import Config

#: Sane bits per pixel (vb / (width * height * vr)) per video codec, low and high.
#: H.264: 0.02 is 1.25 Mbit/s for 1080p30, where blocking shows in motion; 0.3 is ~3x what
#: common ladders use (0.05-0.15), bitrate spent for nothing. H.265 needs about half the
#: bitrate of H.264 for the same quality, so its band is halved.
BPP_BANDS: dict[str, tuple[float, float]] = {"h264": (0.02, 0.3), "h265": (0.01, 0.15)}

#: The aspect ratio a side left to the source is computed with.
ASSUMED_ASPECT = 16 / 9

#: How far (in frames) a segment boundary may fall from a keyframe (29.97 fps x 6 s is fine).
FRAME_TOLERANCE = 0.5

VIDEO_TYPES = ("avop", "avm3u8")


@dataclass(frozen=True, order=True)
class Finding:
    """One finding; ``str()`` is ``file:line:col: ID message``. Sorts by place, then rule.
    ``preset`` is the preset it is reported on."""

    file: str
    line: int
    col: int
    rule: str
    message: str
    preset: str = field(default="", compare=False)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}: {self.rule} {self.message}"


def _at(preset: DesiredPreset, ref: str, rule: str, message: str) -> Finding:
    line, col = preset.position(ref)
    return Finding(preset.file, line, col, rule, message, preset.name)


def _name_at(preset: DesiredPreset) -> tuple[int, int]:
    return preset.positions.find((*preset.base, "preset"), key=False) if preset.positions else (preset.line, 1)


def _place(preset: DesiredPreset, ref: str = "") -> str:
    line, _ = preset.position(ref) if ref else _name_at(preset)
    return f"{preset.file}:{line}"


def rate_text(bps: float) -> str:
    """``2500000`` -> ``2.5 Mbit/s``."""
    for unit, size in (("Mbit/s", 1e6), ("kbit/s", 1e3)):
        if bps >= size:
            return f"{bps / size:.3g} {unit}"
    return f"{bps:g} bit/s"


@dataclass(frozen=True)
class Rung:
    """A preset that encodes video at a known bitrate and resolution: one rung of a ladder."""

    preset: DesiredPreset
    family: str  # "h264 mp4", "h265 hls"
    vcodec: str
    width: int
    height: int
    estimated: bool  # a side follows the source's aspect ratio (taken as 16:9)
    vb: int
    fps: float | None
    param: dict[str, Any] = field(repr=False)  # normalised

    @property
    def name(self) -> str:
        return self.preset.name

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def size(self) -> str:
        return f"{'~' if self.estimated else ''}{self.width}x{self.height}"

    @property
    def bpp(self) -> float | None:
        return self.vb / (self.pixels * self.fps) if self.fps else None


def _default(presettype: str, ref: str) -> object:
    spec = presettype_spec(presettype)
    fspec = spec.field(ref) if spec else None
    return fspec.default if fspec is not None and fspec.has_default else None


def _resolution(video: Mapping[str, Any]) -> tuple[int, int, bool] | None:
    width, height, short = (parse_number(video.get(k), integer=True) for k in ("width", "height", "shortSide"))
    if width and height:
        return width, height, False
    side = height or short
    if side:
        return round(side * ASSUMED_ASPECT), side, True
    if width:
        return width, round(width / ASSUMED_ASPECT), True
    return None


def rung_of(preset: DesiredPreset, extra_fields: ExtraFields = None) -> Rung | None:
    """The preset as a ladder rung, or ``None`` when it encodes no video at a known bitrate and size."""
    if preset.presettype not in VIDEO_TYPES:
        return None
    param = normalize_param(preset.presettype, preset.param, extra_fields)
    video = param.get("VIDEO") if isinstance(param, dict) else None
    if not isinstance(video, dict) or parse_number(video.get("vn")) == 1:
        return None
    vcodec = video.get("vcodec", _default(preset.presettype, "VIDEO.vcodec"))
    vb, size = video.get("vb"), _resolution(video)
    if vcodec == "copy" or not isinstance(vb, int) or size is None:
        return None
    container = "hls" if preset.presettype == "avm3u8" else str(param.get("f", "?"))
    fps = parse_number(video.get("vr"))
    return Rung(
        preset=preset,
        family=f"{vcodec} {container}",
        vcodec=str(vcodec),
        width=size[0],
        height=size[1],
        estimated=size[2],
        vb=vb,
        fps=float(fps) if fps else None,
        param=param,
    )


def ladder(presets: Iterable[DesiredPreset], extra_fields: ExtraFields = None) -> dict[str, list[Rung]]:
    """Family -> its rungs, by pixels then bitrate; families sorted by name."""
    families: dict[str, list[Rung]] = {}
    for preset in presets:
        rung = rung_of(preset, extra_fields)
        if rung is not None:
            families.setdefault(rung.family, []).append(rung)
    return {k: sorted(v, key=lambda r: (r.pixels, r.vb, r.name)) for k, v in sorted(families.items())}


# -- rules: each takes the presets it applies to and the extra fields, yields findings ---------


def _not_faster(lower: Rung, higher: Rung) -> bool:
    """A smaller rung at a higher frame rate (720p60 beside 1080p30) may cost more: not compared."""
    return lower.fps is None or higher.fps is None or lower.fps <= higher.fps


def check_ladder(presets: Sequence[DesiredPreset], extra_fields: ExtraFields) -> Iterable[Finding]:
    for family, rungs in ladder(presets, extra_fields).items():
        for rung in rungs:
            lower = [r for r in rungs if r.pixels < rung.pixels and _not_faster(r, rung) and r.vb >= rung.vb]
            if not lower:
                continue
            other = max(lower, key=lambda r: (r.vb, r.pixels))
            yield _at(
                rung.preset,
                "VIDEO.vb",
                "ladder-monotonic",
                f"{rung.name} ({rung.size}) has {rate_text(rung.vb)}, not more than the lower rung "
                f"{other.name} ({other.size}, {rate_text(other.vb)}) at {_place(other.preset, 'VIDEO.vb')}: "
                f"the {family} ladder must rise with resolution",
            )


def check_bits_per_pixel(presets: Sequence[DesiredPreset], extra_fields: ExtraFields) -> Iterable[Finding]:
    for rung in (r for rungs in ladder(presets, extra_fields).values() for r in rungs):
        band = BPP_BANDS.get(rung.vcodec)
        bpp, fps = rung.bpp, rung.fps
        if band is None or bpp is None or fps is None or band[0] <= bpp <= band[1]:
            continue
        low, high = band
        bound, verb = (low, "raise") if bpp < low else (high, "lower")
        yield _at(
            rung.preset,
            "VIDEO.vb",
            "bits-per-pixel",
            f"{bpp:.3g} bits per pixel ({rate_text(rung.vb)} at {rung.size}, {fps:g} fps) is outside "
            f"the {rung.vcodec} band {low:g}-{high:g}: {verb} VIDEO.vb to about "
            f"{rate_text(bound * rung.pixels * fps)} or change the resolution",
        )


def check_duplicates(presets: Sequence[DesiredPreset], extra_fields: ExtraFields) -> Iterable[Finding]:
    groups: dict[str, list[DesiredPreset]] = {}
    for preset in presets:
        param = normalize_param(preset.presettype, preset.param, extra_fields)
        key = json.dumps([preset.presettype, param], sort_keys=True, default=str)
        groups.setdefault(key, []).append(preset)
    for group in groups.values():
        names = {p.name for p in group}
        if len(names) < 2:
            continue  # one name defined twice is validate's problem
        for preset in group:
            others = ", ".join(f"{o.name} ({_place(o)})" for o in group if o.name != preset.name)
            line, col = _name_at(preset)
            yield Finding(
                preset.file,
                line,
                col,
                "duplicate-param",
                f"{preset.name} has the same {preset.presettype} param as {others} after normalisation: "
                "keep one name, or make them differ",
                preset.name,
            )


def _divisor_near(frames: int, gop: float) -> int:
    """The divisor of *frames* closest to *gop*."""
    small = [d for d in range(1, int(frames**0.5) + 1) if frames % d == 0]
    return min(small + [frames // d for d in small], key=lambda d: (abs(d - gop), d))


def check_hls_gop(presets: Sequence[DesiredPreset], extra_fields: ExtraFields) -> Iterable[Finding]:
    for preset in presets:
        if preset.presettype != "avm3u8":
            continue
        param = normalize_param(preset.presettype, preset.param, extra_fields)
        video = param.get("VIDEO") if isinstance(param, dict) else None
        video = video if isinstance(video, dict) else {}
        seconds, gop, fps = (
            parse_number(param.get("hls_time")),
            parse_number(video.get("gop")),
            parse_number(video.get("vr")),
        )
        if not (seconds and gop and fps) or min(seconds, gop, fps) <= 0:
            continue
        frames = seconds * fps  # frames per segment
        keyframes = round(frames / gop)
        if keyframes >= 1 and abs(frames - keyframes * gop) <= FRAME_TOLERANCE:
            continue
        hint = f"a VIDEO.gop of {_divisor_near(round(frames), gop)}" if round(frames) >= 1 else "a shorter VIDEO.gop"
        yield _at(
            preset,
            "hls_time",
            "hls-gop",
            f"hls_time {seconds:g} s is not a whole number of keyframe intervals (VIDEO.gop {gop:g} frames at "
            f"{fps:g} fps is {gop / fps:.3g} s), so segments cannot all start on a keyframe: use {hint} "
            f"(a divisor of the {frames:g} frames of a segment) or another hls_time",
        )


#: A rule's check: the presets it applies to and the extra fields -> its findings.
Check = Callable[[Sequence[DesiredPreset], ExtraFields], Iterable[Finding]]
#: Rule id -> its check: the ids are stable (findings print them, presetsync.yaml names them).
RULES: dict[str, Check] = {
    "ladder-monotonic": check_ladder,
    "bits-per-pixel": check_bits_per_pixel,
    "duplicate-param": check_duplicates,
    "hls-gop": check_hls_gop,
}


def lint_presets(
    presets: Sequence[DesiredPreset],
    *,
    ignore: Iterable[str] = (),
    ignore_presets: Mapping[str, Sequence[str]] | None = None,
    extra_fields: ExtraFields = None,
) -> list[Finding]:
    """Every finding, sorted. A rule in *ignore* does not run; the presets matched by
    ``ignore_presets[rule]`` (name globs) take no part in that rule."""
    skip, ignore_presets = set(ignore), ignore_presets or {}
    findings: set[Finding] = set()
    for rule, check in RULES.items():
        if rule in skip:
            continue
        globs = ignore_presets.get(rule, ())
        findings.update(check([p for p in presets if not matches(p.name, globs)], extra_fields))
    return sorted(findings)


def lint_paths(
    paths: Iterable[Path | str] | None = None,
    config: Config | None = None,
    *,
    chart: Path | None = None,
    out: TextIO | None = None,
) -> int:
    """What ``presetsync lint`` does: print the load problems or the findings (one per line) and
    a summary; write the ladder chart to *chart*; return the exit code (0 clean, 1 otherwise)."""
    out = out or sys.stdout
    loaded = load_presets(paths, config, manifests=[])  # task manifests are not presets
    if loaded.problems:
        for problem in loaded.problems:
            print(problem, file=out)
        print(f"{plural(len(loaded.problems), 'problem')} in the preset files; nothing was linted", file=out)
        return ExitStatus.ERROR
    extra_fields = config.extra_fields if config is not None else None
    findings = lint_presets(
        loaded.presets,
        ignore=config.lint.ignore if config is not None else (),
        ignore_presets=config.lint.ignore_presets if config is not None else None,
        extra_fields=extra_fields,
    )
    if chart is not None:
        from .chart import ladder_svg

        flagged = {f.preset for f in findings if f.rule == "ladder-monotonic"}
        svg = ladder_svg(ladder(loaded.presets, extra_fields), flagged=flagged)
        try:
            chart.write_text(svg, encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot write the chart {chart}: {exc.strerror or exc}") from None
    for finding in findings:
        print(finding, file=out)
    if findings:
        print(f"{plural(len(findings), 'finding')} in {plural(len({f.file for f in findings}), 'file')}", file=out)
        return ExitStatus.ERROR
    print(f"{plural(len(loaded.files), 'file')}, {plural(len(loaded.presets), 'preset')}: no findings", file=out)
    return ExitStatus.OK
