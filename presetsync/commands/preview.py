"""``presetsync preview`` and ``plan --preview``: their options and the hand-over to
:mod:`presetsync.media.preview`, which does the work and imports PyAV when it runs (this
module is argparse only: cheap to import)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .context import Context, add_config_option

if TYPE_CHECKING:
    from ..presets.plan import Plan
    from .context import Subparsers


def register(sub: Subparsers) -> None:
    """Add the ``preview`` command to the main parser's subparsers."""
    parser = sub.add_parser(
        "preview",
        help="render a preset on a sample and check the output against it (needs presetsync[media])",
        description="Render presets locally with PyAV on a sample (default: a generated 2 s 320x240 test "
        "pattern with a tone), probe the output and check it against what the preset declares: container, "
        "codecs, size, frame rate, bitrates (within 25%), HLS segment durations. Prints a table per preset; "
        "exit 1 when a preset does not render as declared.",
    )
    parser.add_argument(
        "preset",
        metavar="PRESET_OR_FILE",
        help="a preset name from the config's preset files ('AVOP|AVLOGO' for a chain), or a preset YAML file",
    )
    parser.add_argument("--source", type=Path, metavar="SAMPLE", help="a media file to render instead of the pattern")
    parser.add_argument("-o", "--out", type=Path, metavar="DIR", help="keep the outputs in DIR (default: discarded)")
    parser.add_argument("--size", metavar="WxH", help="size of the generated test pattern (default 320x240)")
    add_config_option(parser)
    parser.set_defaults(func=run_preview)


def add_plan_option(plan: argparse.ArgumentParser) -> None:
    plan.add_argument(
        "--preview",
        action="store_true",
        help="also render every created or changed preset on a test pattern and check it (see 'preview'); "
        "exit 1 when one does not render as declared",
    )


def preview_plan(ctx: Context, plan: Plan) -> None:
    """The ``plan --preview`` hook: previews the plan's created and changed presets (stdout
    with a text plan, stderr otherwise); PreviewMismatch (exit 1) on a mismatch."""
    if getattr(ctx.args, "preview", False):
        from ..media.preview import preview_plan as run

        run(plan.changes, out=sys.stdout if ctx.args.format == "text" else sys.stderr)


def run_preview(ctx: Context) -> int:
    from ..media.preview import run_preview as run

    return run(ctx.args, ctx.config)
