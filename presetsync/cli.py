"""The command line: the only place that parses argv and maps exceptions to exit codes.

The commands themselves run elsewhere: validate, lint, plan, apply, export and call in
:mod:`presetsync.commands`; tasks, preview and serve in their packages' command modules.

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
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from . import __version__
from .api.operations import OPERATIONS
from .commands import run_apply, run_call, run_export, run_lint, run_plan, run_validate
from .errors import ExitStatus, PresetsyncError
from .local import command as serve_command
from .media import command as preview_command
from .options import add_config_option, add_connection_options
from .tasks import parser as tasks_parser


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
    return ExitStatus.OK


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
