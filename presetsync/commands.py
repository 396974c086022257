"""The preset commands (validate, lint, plan, apply, export) and call: each turns the parsed
arguments into one run of the presets layer or one operation and returns its exit status.
cli.py parses argv into them and maps errors to exit statuses. Heavy imports stay inside the
functions, so that ``--version`` and ``--help`` start quickly."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .api.operations import OPERATIONS
from .connect import client_for
from .errors import ExitStatus, InputError
from .media import command as preview_command

if TYPE_CHECKING:
    from .config import Config


def load_config(path: Path | None) -> Config:
    """presetsync.yaml (see config.py), imported on first use: ``--version`` and ``--help`` need
    neither it nor jsonschema."""
    from .config import load_config as load

    return load(path)


def _parse_call_args(operation: str, pairs: Sequence[str], body: str | None) -> dict:
    op = OPERATIONS[operation]
    if op.params is None:
        if pairs:
            raise InputError(f"{operation} takes a JSON body (--body), not NAME=VALUE arguments")
        if body is None:
            raise InputError(f"{operation} needs --body JSON or --body @FILE")
        text = Path(body[1:]).read_text(encoding="utf-8") if body.startswith("@") else body
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise InputError(f"--body is not valid JSON: {exc}") from None
        if not isinstance(value, dict):
            raise InputError("--body must be a JSON object")
        return value
    if body is not None:
        raise InputError(f"{operation} is a GET operation: give NAME=VALUE arguments, not --body")
    args: dict[str, int | str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise InputError(f"argument {pair!r} must be NAME=VALUE")
        param = op.param(name)
        if param is not None and param.type is int:
            try:
                args[name] = int(value)
            except ValueError:
                raise InputError(f"{name} must be an integer, got {value!r}") from None
        else:
            args[name] = value
    return args


def run_call(args: argparse.Namespace) -> int:
    call_args = _parse_call_args(args.operation, args.args, args.body)
    config = load_config(args.config)
    with client_for(args, config) as client:
        result = client.call(args.operation, call_args)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return ExitStatus.OK


def run_validate(args: argparse.Namespace) -> int:
    from .presets.validate import validate_paths

    config = load_config(args.config)
    paths = args.paths
    if args.only_configured and paths:
        from .presets.configured import configured_files

        paths = configured_files(paths, config)
        if not paths:
            return ExitStatus.OK  # none of the files is presetsync's
    return validate_paths(paths or None, config)


def run_lint(args: argparse.Namespace) -> int:
    from .presets.lint import lint_paths

    config = load_config(args.config)
    return lint_paths(args.paths or None, config, chart=args.chart)


def _load_preset_files(args: argparse.Namespace, config: Config):
    """The preset files (task manifests among them are skipped); None after printing their problems."""
    from .presets.validate import load_presets

    loaded = load_presets(args.paths or None, config, manifests=[])
    if not loaded.problems:
        return loaded
    for problem in loaded.problems:
        print(problem, file=sys.stderr)
    print(f"presetsync: {len(loaded.problems)} problem(s) in the preset files; nothing was sent", file=sys.stderr)
    return None


def _target(args: argparse.Namespace, config: Config, client):
    """Where this command's plan applies: ``local`` (its port changes every run) or the URL,
    the region and a fingerprint of the access key id."""
    from .connect import LOCAL
    from .presets.plan import Target

    endpoint = LOCAL if (args.endpoint or config.endpoint) == LOCAL else client.endpoint
    return Target.of(endpoint, client.region, client.credentials.access_key_id)


def _build_plan(args: argparse.Namespace, config: Config, loaded, live, target):
    from .presets.plan import build_plan

    return build_plan(
        loaded.presets,
        live,
        targets=args.target,
        prune=config.prune if args.prune is None else args.prune,
        manage=config.manage,
        protect=config.protect,
        extra_fields=config.extra_fields,
        target=target,
    )


def run_plan(args: argparse.Namespace) -> int:
    from .presets import render
    from .presets.live import fetch_live
    from .presets.saved import save_plan

    if args.max_chars is not None and args.format != "markdown":
        raise InputError("--max-chars is for --format markdown")
    if args.max_chars is not None and args.max_chars < render.MARKDOWN_MIN_CHARS:
        raise InputError(f"--max-chars must be at least {render.MARKDOWN_MIN_CHARS}")
    config = load_config(args.config)
    loaded = _load_preset_files(args, config)
    if loaded is None:
        return ExitStatus.ERROR
    with client_for(args, config) as client:
        live = fetch_live(client)
        plan = _build_plan(args, config, loaded, live, _target(args, config, client))
    verdict = plan.safety_verdict(config.safety, config.protect)  # what apply would say, without --force
    if args.format == "text":
        sys.stdout.write(render.render_text(plan, colour=render.use_colour(sys.stdout), verdict=verdict))
    elif args.format == "json":
        sys.stdout.write(render.render_json(plan, verdict))
    else:
        sys.stdout.write(render.render_markdown(plan, verdict, args.max_chars or render.MARKDOWN_MAX_CHARS))
    _note_undeclared(args, config, loaded, live)
    if args.out:
        save_plan(plan, args.out)
        print(
            f"Saved the plan to {args.out}: run 'presetsync apply {args.out}' to apply exactly this.", file=sys.stderr
        )
    preview_command.preview_plan(args, plan)  # --preview: exit 1 when a preset does not render as declared
    return ExitStatus.CHANGES if args.detailed_exitcode and plan.has_changes else ExitStatus.OK


def _note_undeclared(args: argparse.Namespace, config: Config, loaded, live) -> None:
    """On stderr: how many live presets the files do not declare when nothing will delete them
    (the plan's "No changes" says nothing about them): managed ones need --prune; without
    ``manage:`` globs, --prune deletes none."""
    from .presets.model import matches

    declared = {preset.name for preset in loaded.presets}
    undeclared = [
        name
        for name in live
        if name not in declared and matches(name, args.target or ["*"]) and not matches(name, config.protect)
    ]
    managed = sorted(name for name in undeclared if matches(name, config.manage))
    if managed and not (config.prune if args.prune is None else args.prune):
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


def run_apply(args: argparse.Namespace) -> int:
    from .presets.apply import ApplyOptions, apply_plan
    from .presets.live import fetch_live
    from .presets.render import use_colour
    from .presets.saved import is_saved_plan, load_saved_plan
    from .presets.steps import AuditLog

    if not args.auto_approve and not sys.stdin.isatty():
        raise InputError("apply needs confirmation on a terminal; in CI pass --auto-approve")
    if args.parallelism is not None and args.parallelism < 1:
        raise InputError("--parallelism must be at least 1")
    config = load_config(args.config)
    plan_file = args.paths[0] if len(args.paths) == 1 and is_saved_plan(args.paths[0]) else None
    if plan_file is not None and (args.target or args.prune):
        raise InputError("a saved plan is applied as it is: --target and --prune belong to 'plan'")
    loaded = None if plan_file is not None else _load_preset_files(args, config)
    if plan_file is None and loaded is None:
        return ExitStatus.ERROR
    options = ApplyOptions(
        safety=config.safety,
        protect=config.protect,
        force=args.force,
        parallelism=args.parallelism or config.parallelism,
        fail_fast=args.fail_fast,
        colour=use_colour(sys.stdout),
    )
    prompt = "Apply these changes? Type 'yes' to apply, anything else cancels: "
    with client_for(args, config) as client:
        target = _target(args, config, client)
        saved = load_saved_plan(plan_file, target) if plan_file is not None else None  # before any request
        live = fetch_live(client)
        result = apply_plan(
            saved or _build_plan(args, config, loaded, live, target),
            client,
            live,
            options,
            audit=AuditLog(config.state_dir / "apply-log.jsonl"),
            write=lambda text: print(text, flush=True),
            confirm=None if args.auto_approve else lambda: _confirm(prompt),
        )
    if loaded is not None and not result.interrupted:
        _note_undeclared(args, config, loaded, live)
    if result.interrupted:
        return ExitStatus.INTERRUPTED
    if result.count("failed"):
        return ExitStatus.PARTIAL
    if result.count("conflict"):
        return ExitStatus.REFUSED
    return ExitStatus.OK


def run_export(args: argparse.Namespace) -> int:
    from .presets.export import select, write_export
    from .presets.live import fetch_live

    config = load_config(args.config)
    if args.split and args.out is None:
        raise InputError("--split needs -o DIR")
    if args.split and args.out.suffix in (".yaml", ".yml"):
        raise InputError("--split writes one file per preset: give -o a directory, not a .yaml file")
    with client_for(args, config) as client:
        live = fetch_live(client)
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
