"""The command line: the only place that parses argv and maps exceptions to exit codes.

:func:`main` parses argv, builds the command's :class:`~presetsync.commands.context.Context`
(once: the configuration, the state directory, the retry policy, the one client, the target)
and runs the command with it; the commands are in :mod:`presetsync.commands`, which registers
their parsers here.

Exit codes (README has the same table):
  0 success; ``plan --detailed-exitcode``: no changes
  1 invalid input (files, manifest, flags, config); nothing was sent; ``lint``: findings;
    ``preview``, ``plan --preview``: a preset does not render as declared
  2 ``plan --detailed-exitcode``: changes present
  3 refused: unsafe plan, stale saved plan, conflict
  4 service error (auth, network, API), possibly after partial work, which is reported
  5 ``tasks wait --timeout``: timed out with tasks still running
  130 interrupted (Ctrl-C)
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from . import __version__
from .commands import call, presets, preview, serve, tasks_parser, validate
from .commands.context import Context
from .errors import ExitStatus, PresetsyncError


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
        "5 tasks wait timed out, 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"presetsync {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="-v: info, -vv: debug (secrets redacted)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    call.register(sub)
    validate.register(sub)
    presets.register(sub)
    serve.register(sub)
    tasks_parser.register(sub)
    preview.register(sub)

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


def run_completion(ctx: Context) -> int:
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
    sys.stdout.write(shtab.complete(parser, shell=ctx.args.shell))
    return ExitStatus.OK


def _configure_logging(verbosity: int) -> None:
    import logging  # here: --version and --help do without it

    level = logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; its exit status (:class:`~presetsync.errors.ExitStatus`)."""
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        _configure_logging(args.verbose)
        if not getattr(args, "func", None):
            parser.print_help(sys.stderr)
            return ExitStatus.ERROR
        with Context(args) as ctx:  # closes the command's client (and embedded service) at the end
            return int(args.func(ctx))
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
