"""The bitrate ladder as a self-contained SVG (``presetsync lint --chart FILE``).

Pixels per frame on x, video bitrate on y, both linear from 0; one series (colour, line and
legend entry) per family (``h264 mp4``, ``h264 hls``), one circle per rung (class ``rung``,
``data-preset`` its name), labelled with the preset's name and size. Rungs that a
``ladder-monotonic`` finding is reported on are drawn with a red ring. No fonts, scripts or
stylesheets are referenced: the file renders the same anywhere.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from xml.sax.saxutils import escape, quoteattr

from .lint import Rung, rate_text

WIDTH, HEIGHT = 960, 600
LEFT, RIGHT, TOP, BOTTOM = 90, 150, 50, 70  # margins; the right one leaves room for labels
FONT = 12
CHAR_WIDTH = 0.6 * FONT  # a sans-serif character, roughly, for label placement
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f")
FLAG = "#d62728"
COMMON_SIZES = (
    ("360p", 640 * 360),
    ("480p", 854 * 480),
    ("720p", 1280 * 720),
    ("1080p", 1920 * 1080),
    ("1440p", 2560 * 1440),
    ("2160p", 3840 * 2160),
)


def nice_ticks(top: float, count: int = 6) -> list[float]:
    """0, step, 2*step ... up to the first tick >= *top*, with step 1, 2, 2.5 or 5 x 10^n."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    return [i * step for i in range(math.ceil(top / step - 1e-9) + 1)]


def _short(value: float) -> str:
    for suffix, size in (("M", 1e6), ("k", 1e3)):
        if value >= size:
            return f"{value / size:g}{suffix}"
    return f"{value:g}"


def _text(x: float, y: float, body: str, *, anchor: str = "start", size: int = FONT, **attrs: str) -> str:
    extra = "".join(f" {k.replace('_', '-')}={quoteattr(v)}" for k, v in attrs.items())
    return f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}"{extra}>{escape(body)}</text>'


class _Labels:
    """Places point labels where they overlap nothing placed before: right of the point, else
    left of it, each at the point's height or nudged up or down a line at a time."""

    def __init__(self, left_edge: float, right_edge: float) -> None:
        self.left_edge, self.right_edge = left_edge, right_edge
        self.boxes: list[tuple[float, float, float, float]] = []

    def _free(self, box: tuple[float, float, float, float]) -> bool:
        return not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in self.boxes)

    def place(self, x: float, y: float, width: float) -> tuple[float, float]:
        """(x, baseline y) of a label of *width* for the point at (x, y)."""
        sides = [lx for lx in (x + 9, x - 9 - width) if lx >= self.left_edge and lx + width <= self.right_edge]
        sides = sides or [x + 9]
        offsets = [0] + [dy for step in range(1, 12) for dy in (-step * 14, step * 14)]
        candidates = [(lx, y + 4 + dy) for dy in offsets for lx in sides]
        for lx, base in candidates:
            box = (lx, base - FONT, lx + width, base + 3)
            if self._free(box):
                break
        else:
            lx, base = sides[0], y + 4
            box = (lx, base - FONT, lx + width, base + 3)
        self.boxes.append(box)
        return lx, base


def ladder_svg(families: Mapping[str, Sequence[Rung]], *, flagged: Collection[str] = ()) -> str:
    """The SVG document for *families* (family -> rungs, as :func:`lint.ladder` gives them)."""
    rungs = [r for series in families.values() for r in series]
    x_ticks = nice_ticks(max((r.pixels for r in rungs), default=0) * 1.05)
    y_ticks = nice_ticks(max((r.vb for r in rungs), default=0) * 1.05)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def sx(pixels: float) -> float:
        return LEFT + plot_w * pixels / x_ticks[-1]

    def sy(bps: float) -> float:
        return TOP + plot_h * (1 - bps / y_ticks[-1])

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="Helvetica, Arial, sans-serif">',
        "<title>Bitrate ladder</title>",
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        _text(LEFT, TOP - 20, "Bitrate ladder: video bitrate by resolution", size=16, font_weight="bold"),
    ]
    # Grid, ticks and axes.
    for tick in x_ticks:
        x = sx(tick)
        out.append(f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{TOP + plot_h}" stroke="#e6e6e6"/>')
        out.append(f'<line x1="{x:.1f}" y1="{TOP + plot_h}" x2="{x:.1f}" y2="{TOP + plot_h + 5}" stroke="#333"/>')
        out.append(_text(x, TOP + plot_h + 20, _short(tick), anchor="middle"))
    for tick in y_ticks:
        y = sy(tick)
        out.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" y2="{y:.1f}" stroke="#e6e6e6"/>')
        out.append(f'<line x1="{LEFT - 5}" y1="{y:.1f}" x2="{LEFT}" y2="{y:.1f}" stroke="#333"/>')
        out.append(_text(LEFT - 8, y + 4, _short(tick), anchor="end"))
    out.append(
        f'<path d="M{LEFT},{TOP} V{TOP + plot_h} H{LEFT + plot_w}" fill="none" stroke="#333" stroke-width="1.2"/>'
    )
    last = -math.inf  # common 16:9 sizes under the pixel ticks, where they do not crowd each other
    for name, pixels in COMMON_SIZES:
        x = sx(pixels)
        if pixels <= x_ticks[-1] and x - last >= 34:
            out.append(f'<line x1="{x:.1f}" y1="{TOP + plot_h}" x2="{x:.1f}" y2="{TOP + plot_h + 26}" stroke="#bbb"/>')
            out.append(_text(x, TOP + plot_h + 36, name, anchor="middle", size=10, fill="#888"))
            last = x
    out.append(
        _text(
            LEFT + plot_w / 2,
            HEIGHT - 14,
            "resolution: pixels per frame (~: a side estimated at 16:9)",
            anchor="middle",
        )
    )
    out.append(
        f'<text x="22" y="{TOP + plot_h / 2:.1f}" font-size="{FONT}" text-anchor="middle" '
        f'transform="rotate(-90 22 {TOP + plot_h / 2:.1f})">video bitrate (bit/s)</text>'
    )
    if not rungs:
        out.append(
            _text(LEFT + plot_w / 2, TOP + plot_h / 2, "no video presets with a bitrate and a size", anchor="middle")
        )
    # The legend sits in the empty top-left corner (ladders rise to the right); labels avoid it.
    labels = _Labels(LEFT + 4, WIDTH - 6)
    entries = [
        (family, PALETTE[i % len(PALETTE)], f"{family} ({len(series)} {'rung' if len(series) == 1 else 'rungs'})")
        for i, (family, series) in enumerate(families.items())
    ]
    legend_x, legend_y = LEFT + 16, TOP + 20
    for index, (_, colour, text) in enumerate(entries):
        y = legend_y + index * 20
        out.append(
            f'<line x1="{legend_x}" y1="{y - 4}" x2="{legend_x + 22}" y2="{y - 4}" stroke="{colour}" stroke-width="2"/>'
        )
        out.append(f'<circle cx="{legend_x + 11}" cy="{y - 4}" r="4" fill="{colour}"/>')
        out.append(_text(legend_x + 30, y, text))
    texts = [text for _, _, text in entries]
    if flagged:
        y = legend_y + len(entries) * 20
        out.append(f'<circle cx="{legend_x + 11}" cy="{y - 4}" r="5" fill="white" stroke="{FLAG}" stroke-width="3"/>')
        out.append(_text(legend_x + 30, y, "ladder-monotonic finding"))
        texts.append("ladder-monotonic finding")
    if texts:
        right = legend_x + 30 + max(map(len, texts)) * CHAR_WIDTH
        labels.boxes.append((legend_x - 6, legend_y - 16, right, legend_y + 20 * len(texts) - 12))
    for rung in rungs:  # labels do not cover points
        x, y = sx(rung.pixels), sy(rung.vb)
        labels.boxes.append((x - 6, y - 6, x + 6, y + 6))
    # Series: a line through the rungs, a circle and a label per rung.
    for (family, series), (_, colour, _) in zip(families.items(), entries):
        points = " ".join(f"{sx(r.pixels):.1f},{sy(r.vb):.1f}" for r in series)
        out.append(f'<g class="series" data-family={quoteattr(family)}>')
        if len(series) > 1:
            out.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2" opacity="0.7"/>')
        for rung in series:
            x, y = sx(rung.pixels), sy(rung.vb)
            bpp = f", {rung.bpp:.3f} bits per pixel" if rung.bpp is not None else ""
            tip = f"{rung.name}: {rung.size}, {rate_text(rung.vb)}{bpp} ({rung.preset.file}:{rung.preset.line})"
            ring = (
                f' stroke="{FLAG}" stroke-width="3"' if rung.name in flagged else ' stroke="white" stroke-width="1.5"'
            )
            out.append(
                f'<circle class="rung" data-preset={quoteattr(rung.name)} cx="{x:.1f}" cy="{y:.1f}" r="5" '
                f'fill="{colour}"{ring}><title>{escape(tip)}</title></circle>'
            )
            label = f"{rung.name} {rung.size}"
            lx, ly = labels.place(x, y, len(label) * CHAR_WIDTH)
            out.append(_text(lx, ly, label, fill="#222"))
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"
