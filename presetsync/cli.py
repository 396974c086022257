"""The command line: the only place that parses argv and maps exceptions to exit codes.

Exit codes (README has the same table):
  0 success; ``plan --detailed-exitcode``: no changes
  1 invalid input (files, manifest, flags, config); nothing was sent
  2 ``plan --detailed-exitcode``: changes present
  3 refused: unsafe plan, stale saved plan, conflict
  4 service error (auth, network, API), possibly after partial work, which is reported
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .api.client import OfflineClient
from .api.endpoints import DEFAULT_REGION
from .api.operations import OPERATIONS
from .errors import InputError, PresetsyncError

EXIT_OK, EXIT_INVALID, EXIT_CHANGES, EXIT_REFUSED, EXIT_SERVICE = 0, 1, 2, 3, 4


def _add_connection_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("service")
    group.add_argument("--region", default=None, help=f"signing region (default {DEFAULT_REGION})")
    group.add_argument(
        "--endpoint", default=None, help="service URL (default: as the official SDK resolves it), or 'local'"
    )
    group.add_argument("--use-ssl", action="store_true", help="https where the region's endpoint offers it")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="presetsync",
        description="Kingsoft Cloud offline transcoding presets and tasks as code.",
        epilog="Exit codes: 0 ok, 1 invalid input (nothing sent), 2 plan has changes (--detailed-exitcode), "
        "3 refused (unsafe, stale, conflict), 4 service error.",
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
    _add_connection_options(call)
    call.set_defaults(func=run_call)
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
    args = {}
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


def make_client(args: argparse.Namespace) -> OfflineClient:
    return OfflineClient(args.region or DEFAULT_REGION, endpoint=args.endpoint, use_ssl=args.use_ssl)


def run_call(args: argparse.Namespace) -> int:
    call_args = _parse_call_args(args.operation, args.args, args.body)
    with make_client(args) as client:
        result = client.call(args.operation, call_args)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return EXIT_OK


def _configure_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    if verbosity < 3:
        logging.getLogger("urllib3").setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(args.verbose)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_OK
    try:
        return args.func(args)
    except PresetsyncError as exc:
        print(f"presetsync: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("presetsync: interrupted", file=sys.stderr)
        return 130
