"""The command line: the only place that parses argv and maps exceptions to exit codes.

Exit codes (README has the same table):
  0 success; ``plan --detailed-exitcode``: no changes
  1 invalid input (files, manifest, flags, config); nothing was sent; ``lint``: findings;
    ``preview``, ``plan --preview``: a preset does not render as declared
  2 ``plan --detailed-exitcode``: changes present
  3 refused: unsafe plan, stale saved plan, conflict
  4 service error (auth, network, API), possibly after partial work, which is reported
  5 ``tasks wait --timeout``: timed out with tasks still running
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from . import __version__
from .api.operations import OPERATIONS
from .connect import client_for
from .errors import ExitStatus, InputError, PresetsyncError
from .local import command as serve_command
from .media import command as preview_command
from .options import add_config_option, add_connection_options
from .tasks import parser as tasks_parser

if TYPE_CHECKING:
    from .config import Config

EXIT_OK, EXIT_INVALID, EXIT_CHANGES, EXIT_REFUSED, EXIT_SERVICE = (
    ExitStatus.OK,
    ExitStatus.ERROR,
    ExitStatus.CHANGES,
    ExitStatus.REFUSED,
    ExitStatus.PARTIAL,
)


def load_config(path: Path | None) -> Config:
    """presetsync.yaml (see config.py), imported on first use: ``--version`` and ``--help`` need
    neither it nor jsonschema."""
    from .config import load_config as load

    return load(path)


def _add_preset_selection(parser: argparse.ArgumentParser, paths_help: str) -> None:
    parser.add_argument("paths", nargs="*", type=Path, metavar="PATH", help=paths_help)
    parser.add_argument("--target", action="append", default=[], metavar="NAME", help="only this preset (glob; repeat)")
    parser.add_argument("--prune", action="store_true", default=None, help="delete managed presets not in the files")


class _Parser(argparse.ArgumentParser):
    """argparse, with bad usage exiting 1 (the README's "invalid input") rather than 2, which
    ``plan --detailed-exitcode`` uses for "changes present"; subcommands inherit it."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(ExitStatus.ERROR, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="presetsync",
        description="Kingsoft Cloud offline transcoding presets and tasks as code.",
        epilog="Exit codes: 0 ok, 1 invalid input (nothing sent), lint findings or preview mismatches, "
        "2 plan has changes (--detailed-exitcode), 3 refused (unsafe, stale, conflict), 4 service error, "
        "5 tasks wait timed out.",
    )
    parser.add_argument("--version", action="version", version=f"presetsync {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="-v: info, -vv: debug (secrets redacted)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    call = sub.add_parser(
        "call",
        help="call one API operation and print the JSON answer",
        description="Call one operation of the offline API. GET operations take NAME=VALUE arguments; "
        "Preset, UpdatePreset and CreateTask take a JSON body with --body (a JSON text or @FILE).",
    )
    call.add_argument("operation", choices=sorted(OPERATIONS), metavar="OPERATION", help=", ".join(OPERATIONS))
    call.add_argument("args", nargs="*", metavar="NAME=VALUE")
    call.add_argument("--body", help="JSON body for POST operations, or @FILE")
    add_connection_options(call)
    add_config_option(call)
    call.set_defaults(func=run_call)

    validate = sub.add_parser(
        "validate",
        help="check preset files and task manifests offline",
        description="Check preset files and task manifests against their schemas; print every problem as "
        "file:line:col: message. Nothing is sent to the service (a manifest's presets missing from the files are "
        "looked up with one GetPresetList).",
    )
    validate.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="files or directories (default: config)")
    validate.add_argument(
        "--only-configured",
        action="store_true",
        help="of the files given, check only preset files under the config's presets: paths and task manifests, "
        "and skip the rest silently (the pre-commit hook)",
    )
    add_config_option(validate)
    validate.set_defaults(func=run_validate)

    lint = sub.add_parser(
        "lint",
        help="check rules across presets offline (ladder, bits per pixel, duplicates, HLS GOP)",
        description="Check rules that no single preset's schema sees: ladder-monotonic, bits-per-pixel, "
        "duplicate-param, hls-gop. Prints each finding as file:line:col: ID message; exit 1 when there is any. "
        "Silence a rule with 'lint: {ignore: [ID]}' or 'lint: {ignore_presets: {ID: [GLOB]}}' in presetsync.yaml. "
        "Never contacts the service.",
    )
    lint.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="files or directories (default: config)")
    lint.add_argument("--chart", type=Path, metavar="FILE", help="also draw the bitrate ladder as an SVG file")
    add_config_option(lint)
    lint.set_defaults(func=run_lint)

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
    preview_command.add_plan_option(plan)
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

    serve_command.register(sub)
    tasks_parser.register(sub)
    preview_command.register(sub)

    completion = sub.add_parser(
        "completion",
        help="print a shell completion script (bash or zsh)",
        description="Print a script that completes presetsync's commands, options, their choices and file names. "
        "bash: add 'eval \"$(presetsync completion bash)\"' to ~/.bashrc. zsh: 'presetsync completion zsh > "
        "~/.zfunc/_presetsync' with ~/.zfunc on $fpath before compinit.",
    )
    completion.add_argument("shell", choices=("bash", "zsh"))
    completion.set_defaults(func=run_completion)
    return parser


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
    return EXIT_OK


def run_validate(args: argparse.Namespace) -> int:
    from .presets.validate import validate_paths

    config = load_config(args.config)
    paths = args.paths
    if args.only_configured and paths:
        from .presets.configured import configured_files

        paths = configured_files(paths, config)
        if not paths:
            return EXIT_OK  # none of the files is presetsync's
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
        return EXIT_INVALID
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
    return EXIT_CHANGES if args.detailed_exitcode and plan.has_changes else EXIT_OK


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
    from .presets.apply import ApplyOptions, AuditLog, apply_plan
    from .presets.live import fetch_live
    from .presets.render import use_colour
    from .presets.saved import is_saved_plan, load_saved_plan

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
        return EXIT_INVALID
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
        return EXIT_SERVICE
    if result.count("conflict"):
        return EXIT_REFUSED
    return EXIT_OK


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
    return EXIT_OK


def run_completion(args: argparse.Namespace) -> int:
    """Print the completion script that shtab makes from this parser, with file name completion
    for every argument that takes a path."""
    import shtab

    def files_for_paths(parser: argparse.ArgumentParser) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for subparser in action.choices.values():
                    files_for_paths(subparser)
            elif action.type is Path:
                action.complete = shtab.FILE  # type: ignore[attr-defined]

    parser = build_parser()
    files_for_paths(parser)
    sys.stdout.write(shtab.complete(parser, shell=args.shell))
    return EXIT_OK


def _configure_logging(verbosity: int) -> None:
    import logging  # here: --version and --help do without it

    level = logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    if verbosity < 3:
        logging.getLogger("urllib3").setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; its exit status (:class:`~presetsync.errors.ExitStatus`)."""
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        _configure_logging(args.verbose)
        if not getattr(args, "func", None):
            parser.print_help(sys.stderr)
            return ExitStatus.ERROR
        return int(args.func(args))
    except PresetsyncError as exc:
        print(f"presetsync: error: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print("presetsync: interrupted", file=sys.stderr)
        return ExitStatus.INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`presetsync tasks list | head`): stop quietly, as git and pip do.
        # Point stdout at /dev/null so that Python's last flush at exit does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ExitStatus.OK
