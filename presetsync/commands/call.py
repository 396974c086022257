"""``presetsync call OPERATION``: one operation of the offline API, its JSON answer printed.

GET operations take ``NAME=VALUE`` arguments (integers where the operation says so); Preset,
UpdatePreset and CreateTask take a JSON body with ``--body`` (a JSON text or ``@FILE``). The
arguments are checked before the client is opened: bad ones send nothing.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..api.operations import OPERATIONS
from ..errors import ExitStatus, InputError
from .context import Context, add_config_option, add_connection_options

if TYPE_CHECKING:
    from .context import Subparsers


def register(sub: Subparsers) -> None:
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


def parse_call_args(operation: str, pairs: Sequence[str], body: str | None) -> dict[str, Any]:
    """The arguments of *operation*: the JSON object of *body*, or the NAME=VALUE *pairs*."""
    op = OPERATIONS[operation]
    if op.params is None:
        if pairs:
            raise InputError(f"{operation} takes a JSON body (--body), not NAME=VALUE arguments")
        if body is None:
            raise InputError(f"{operation} needs --body JSON or --body @FILE")
        try:
            text = Path(body[1:]).read_text(encoding="utf-8") if body.startswith("@") else body
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"--body {body}: cannot read it: {getattr(exc, 'strerror', None) or exc}") from None
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise InputError(f"--body is not valid JSON: {exc}") from None
        if not isinstance(value, dict):
            raise InputError("--body must be a JSON object")
        return value
    if body is not None:
        raise InputError(f"{operation} is a GET operation: give NAME=VALUE arguments, not --body")
    args: dict[str, Any] = {}
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


def run_call(ctx: Context) -> int:
    args: argparse.Namespace = ctx.args
    call_args = parse_call_args(args.operation, args.args, args.body)
    result = ctx.client().call(args.operation, call_args)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return ExitStatus.OK
