"""``presetsync plan``, ``apply`` and ``export``: the preset files against the live presets.

Each loads what it needs (the preset files, checked, or a saved plan), reads the live presets
through the command's client (one GetPresetList) and hands both to the presets package:
:func:`~presetsync.presets.plan.build_plan`, :func:`~presetsync.presets.apply.apply_plan`,
:func:`~presetsync.presets.export.write_export`. Problems in the files are printed and
nothing is sent (exit 1). A plan is bound to the Context's target: a saved plan applies only
to the endpoint, region and account it was made for.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ExitStatus, InputError
from .context import Context, add_config_option, add_connection_options
from .preview import add_plan_option, preview_plan

if TYPE_CHECKING:
    import argparse
    from collections.abc import Mapping

    from ..presets.live import LivePreset
    from ..presets.plan import Plan
    from ..presets.validate import LoadResult
    from .context import Subparsers


def _add_preset_selection(parser: argparse.ArgumentParser, paths_help: str) -> None:
    parser.add_argument("paths", nargs="*", type=Path, metavar="PATH", help=paths_help)
    parser.add_argument("--target", action="append", default=[], metavar="NAME", help="only this preset (glob; repeat)")
    parser.add_argument("--prune", action="store_true", default=None, help="delete managed presets not in the files")


def register(sub: Subparsers) -> None:
    plan = sub.add_parser(
        "plan",
        help="show what apply would change",
        description="Compare the preset files with the live presets and show a field-level plan.",
    )
    _add_preset_selection(plan, "files or directories (default: config)")
    plan.add_argument("-o", "--out", type=Path, help="save the plan to FILE for a later 'apply FILE'")
    plan.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    plan.add_argument(
        "--max-chars",
        type=int,
        default=None,
        metavar="N",
        help="markdown: longer than N characters (default 60000, a pull-request comment), show the summary table "
        "without the per-preset diffs",
    )
    plan.add_argument(
        "--detailed-exitcode", action="store_true", help="exit 2 when there are changes, 0 when there are none"
    )
    add_plan_option(plan)
    add_config_option(plan)
    add_connection_options(plan)
    plan.set_defaults(func=run_plan)

    apply = sub.add_parser(
        "apply",
        help="make the live presets match the files, or run a saved plan",
        description="Apply the plan of PATHS (preset files or directories; default: config), or exactly the "
        "changes of a saved plan file written by 'plan -o'. Shows the plan and asks for confirmation on a "
        "terminal unless --auto-approve.",
    )
    _add_preset_selection(apply, "preset files or directories (default: config), or a PLANFILE")
    apply.add_argument("--auto-approve", action="store_true", help="do not ask for confirmation")
    apply.add_argument("--force", action="store_true", help="go over the safety thresholds (never over protect:)")
    apply.add_argument(
        "--parallelism", type=int, default=None, metavar="N", help="changes in flight (default: config, 4)"
    )
    apply.add_argument("--fail-fast", action="store_true", help="start no new change after one fails")
    add_config_option(apply)
    add_connection_options(apply)
    apply.set_defaults(func=run_apply)

    export = sub.add_parser(
        "export",
        help="write live presets as preset YAML",
        description="Write live presets as preset files (normalised, stable key order, with the schema line), "
        "so that onboarding an existing account is export, commit, and an empty plan.",
    )
    export.add_argument("names", nargs="*", metavar="NAME", help="presets to export (globs; default: all)")
    export.add_argument("--type", dest="presettype", metavar="T", help="only presets of this presettype")
    export.add_argument("-o", "--out", type=Path, help="a .yaml FILE, or a DIR (default: standard output)")
    export.add_argument("--split", action="store_true", help="one file per preset in DIR")
    add_config_option(export)
    add_connection_options(export)
    export.set_defaults(func=run_export)


def _load_preset_files(ctx: Context) -> LoadResult | None:
    """The preset files (task manifests among them are skipped); None after printing their problems."""
    from ..presets.validate import load_presets

    loaded = load_presets(ctx.args.paths or None, ctx.config, manifests=[])
    if not loaded.problems:
        return loaded
    for problem in loaded.problems:
        print(problem, file=sys.stderr)
    print(f"presetsync: {len(loaded.problems)} problem(s) in the preset files; nothing was sent", file=sys.stderr)
    return None


def _prune(ctx: Context) -> bool:
    return ctx.config.prune if ctx.args.prune is None else bool(ctx.args.prune)


def _build_plan(ctx: Context, loaded: LoadResult, live: Mapping[str, LivePreset]) -> Plan:
    from ..presets.plan import build_plan

    config = ctx.config
    return build_plan(
        loaded.presets,
        live,
        targets=ctx.args.target,
        prune=_prune(ctx),
        manage=config.manage,
        protect=config.protect,
        extra_fields=config.extra_fields,
        target=ctx.target,
    )


def run_plan(ctx: Context) -> int:
    from ..presets import render
    from ..presets.live import fetch_live
    from ..presets.saved import save_plan

    args = ctx.args
    if args.max_chars is not None and args.format != "markdown":
        raise InputError("--max-chars is for --format markdown")
    if args.max_chars is not None and args.max_chars < render.MARKDOWN_MIN_CHARS:
        raise InputError(f"--max-chars must be at least {render.MARKDOWN_MIN_CHARS}")
    config = ctx.config
    loaded = _load_preset_files(ctx)
    if loaded is None:
        return ExitStatus.ERROR
    live = fetch_live(ctx.client())
    plan = _build_plan(ctx, loaded, live)
    verdict = plan.safety_verdict(config.safety, config.protect)  # what apply would say, without --force
    if args.format == "text":
        sys.stdout.write(render.render_text(plan, colour=render.use_colour(sys.stdout), verdict=verdict))
    elif args.format == "json":
        sys.stdout.write(render.render_json(plan, verdict))
    else:
        sys.stdout.write(render.render_markdown(plan, verdict, args.max_chars or render.MARKDOWN_MAX_CHARS))
    _note_undeclared(ctx, loaded, live)
    if args.out:
        save_plan(plan, args.out)
        print(
            f"Saved the plan to {args.out}: run 'presetsync apply {args.out}' to apply exactly this.", file=sys.stderr
        )
    preview_plan(ctx, plan)  # --preview: exit 1 when a preset does not render as declared
    return ExitStatus.CHANGES if args.detailed_exitcode and plan.has_changes else ExitStatus.OK


def _note_undeclared(ctx: Context, loaded: LoadResult, live: Mapping[str, LivePreset]) -> None:
    """On stderr: how many live presets the files do not declare when nothing will delete them
    (the plan's "No changes" says nothing about them): managed ones need --prune; without
    ``manage:`` globs, --prune deletes none."""
    from ..presets.model import matches

    config = ctx.config
    declared = {preset.name for preset in loaded.presets}
    undeclared = [
        name
        for name in live
        if name not in declared and matches(name, ctx.args.target or ["*"]) and not matches(name, config.protect)
    ]
    managed = sorted(name for name in undeclared if matches(name, config.manage))
    if managed and not _prune(ctx):
        shown = ", ".join(managed[:3]) + (f" and {len(managed) - 3} more" if len(managed) > 3 else "")
        print(
            f"Note: {len(managed)} managed live preset(s) are not in the files ({shown}): "
            "--prune (or prune: true in presetsync.yaml) deletes them.",
            file=sys.stderr,
        )
    if undeclared and not config.manage:
        print(
            f"Note: {len(undeclared)} live preset(s) are not in the files; presetsync leaves them "
            "alone. To let --prune delete such presets, claim their names with manage: globs in presetsync.yaml "
            "(see README).",
            file=sys.stderr,
        )


def _confirm(prompt: str) -> bool:
    print(prompt, end="", flush=True)
    try:
        answer = sys.stdin.readline()
    except KeyboardInterrupt:
        return False
    return answer.strip() == "yes"


def run_apply(ctx: Context) -> int:
    from ..presets.apply import ApplyOptions, apply_plan
    from ..presets.live import fetch_live
    from ..presets.render import use_colour
    from ..presets.saved import is_saved_plan, load_saved_plan
    from ..presets.steps import AuditLog

    args = ctx.args
    if not args.auto_approve and not sys.stdin.isatty():
        raise InputError("apply needs confirmation on a terminal; in CI pass --auto-approve")
    if args.parallelism is not None and args.parallelism < 1:
        raise InputError("--parallelism must be at least 1")
    config = ctx.config
    plan_file = args.paths[0] if len(args.paths) == 1 and is_saved_plan(args.paths[0]) else None
    if plan_file is not None and (args.target or args.prune):
        raise InputError("a saved plan is applied as it is: --target and --prune belong to 'plan'")
    loaded = None if plan_file is not None else _load_preset_files(ctx)
    if plan_file is None and loaded is None:
        return ExitStatus.ERROR
    options = ApplyOptions(
        safety=config.safety,
        protect=config.protect,
        force=args.force,
        parallelism=ctx.parallelism,
        fail_fast=args.fail_fast,
        colour=use_colour(sys.stdout),
    )
    prompt = "Apply these changes? Type 'yes' to apply, anything else cancels: "
    saved = load_saved_plan(plan_file, ctx.target) if plan_file is not None else None  # before any request
    live = fetch_live(ctx.client())
    if saved is not None:
        plan = saved
    else:
        assert loaded is not None  # no saved plan: the files were loaded
        plan = _build_plan(ctx, loaded, live)
    result = apply_plan(
        plan,
        ctx.client(),
        live,
        options,
        audit=AuditLog(ctx.state_dir / "apply-log.jsonl"),
        write=lambda text: print(text, flush=True),
        confirm=None if args.auto_approve else lambda: _confirm(prompt),
    )
    if loaded is not None and not result.interrupted:
        _note_undeclared(ctx, loaded, live)
    if result.interrupted:
        return ExitStatus.INTERRUPTED
    if result.count("failed"):
        return ExitStatus.PARTIAL
    if result.count("conflict"):
        return ExitStatus.REFUSED
    return ExitStatus.OK


def run_export(ctx: Context) -> int:
    from ..presets.export import select, write_export
    from ..presets.live import fetch_live

    args = ctx.args
    config = ctx.config
    if args.split and args.out is None:
        raise InputError("--split needs -o DIR")
    if args.split and args.out.suffix in (".yaml", ".yml"):
        raise InputError("--split writes one file per preset: give -o a directory, not a .yaml file")
    live = fetch_live(ctx.client())
    chosen = select(live, args.names, args.presettype)
    missing = [n for n in args.names if not any(ch in n for ch in "*?[") and n not in live]
    if missing:
        raise InputError(f"no live preset named {', '.join(missing)}")
    written, problems = write_export(
        chosen, args.out, split=args.split, base_dir=config.base_dir, extra_fields=config.extra_fields
    )
    if "-" in written:
        sys.stdout.write(written["-"])
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    where = "standard output" if args.out is None else f"{len(written)} file(s) under {args.out}"
    print(f"Exported {len(chosen)} preset(s) to {where}.", file=sys.stderr)
    return ExitStatus.OK
