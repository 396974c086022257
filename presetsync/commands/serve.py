"""``presetsync serve``: run the local offline service (:mod:`presetsync.local`) in the
foreground.

Also runnable as ``python -m presetsync.local [options]``, which runs this command. On start
it prints one line with the URL it listens on (``--port 0`` picks a free port), and, when it
uses the development account, a line with that account's access key id (the secret only with
``--print-secret``). It stops cleanly, exiting 0, on SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, ExitStatus
from .context import Context

if TYPE_CHECKING:
    from .context import Subparsers

DEFAULT_DB = ".presetsync/local.sqlite"
LOOPBACK = ("127.0.0.1", "::1", "localhost")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on; 0 picks a free one (default 8000)")
    parser.add_argument("--db", default=DEFAULT_DB, metavar="PATH", help=f"SQLite state file (default {DEFAULT_DB})")
    parser.add_argument(
        "--accounts",
        metavar="FILE",
        help="YAML file 'accounts: [{access_key_id: ..., secret_access_key: ...}]'; "
        "without it a development account is created once and kept in the database",
    )
    parser.add_argument(
        "--print-secret", action="store_true", help="also print the development account's secret access key"
    )
    faults = parser.add_argument_group("fault injection")
    faults.add_argument("--latency", type=float, default=0, metavar="MS", help="delay every answer by MS milliseconds")
    faults.add_argument("--fail-rate", type=float, default=0.0, metavar="R", help="answer HTTP 503 with probability R")
    faults.add_argument(
        "--throttle-rate", type=float, default=0.0, metavar="R", help="answer HTTP 429 Throttling with probability R"
    )
    faults.add_argument(
        "--drop-rate",
        type=float,
        default=0.0,
        metavar="R",
        help="close the connection without an answer with probability R (half of them after doing the work)",
    )
    faults.add_argument("--seed", type=int, default=None, metavar="N", help="seed of the fault sequence")
    parser.add_argument(
        "--error-numbers",
        default=None,
        metavar="NAME=N[,NAME=N...]",
        help="errNum of application errors, for testing clients against other readings of the undocumented "
        "codes; names: invalid_parameter (1001), preset_exists (1002), preset_not_found (1003), "
        "task_not_found (1004), no_meta_info (1005)",
    )
    readings = parser.add_argument_group("readings of the documents where they are ambiguous or silent")
    readings.add_argument(
        "--strict-create",
        action="store_true",
        help="refuse a CreateTask whose preset does not exist (errNum preset_not_found, no task created) "
        "instead of accepting it and failing the task",
    )
    readings.add_argument(
        "--later-preset-rules",
        action="store_true",
        help="apply the later documents' preset rules, which the 2016 API does not state: names of 2 to 32 "
        "letters, digits or underscores, and a presettype that UpdatePreset cannot change",
    )
    limits = parser.add_argument_group("limits")
    limits.add_argument(
        "--max-body-bytes",
        type=int,
        default=None,
        metavar="N",
        help="refuse request bodies over N bytes with HTTP 413, unread (default 8 MiB)",
    )
    limits.add_argument(
        "--request-timeout",
        type=float,
        default=None,
        metavar="S",
        help="close a connection whose request does not arrive whole within S seconds of its first byte (default 10)",
    )
    limits.add_argument(
        "--idle-timeout",
        type=float,
        default=None,
        metavar="S",
        help="close a connection that waits more than S seconds for its next request (default 30)",
    )
    parser.add_argument(
        "--task-seconds",
        default=None,
        metavar="S",
        help="seconds from a task's creation until it is done: S (a third in init, the rest in exec) "
        "or INIT,EXEC (default 1,2)",
    )
    media = parser.add_argument_group("real media (needs presetsync[media])")
    media.add_argument(
        "--media-root",
        metavar="DIR",
        help="transcode tasks for real with PyAV: the object /bucket/key is the file DIR/bucket/key "
        "(default: tasks are simulated)",
    )
    media.add_argument(
        "--media-workers", type=int, default=2, metavar="N", help="tasks transcoded at the same time (default 2)"
    )


def register(sub: Subparsers) -> argparse.ArgumentParser:
    """Add the ``serve`` command to the main parser's subparsers."""
    parser = sub.add_parser(
        "serve",
        help="run the local offline service (no account needed)",
        description="Run a local offline service that behaves like the real one: SQLite state, SigV4 "
        "signatures, optional injected faults. Stop it with Ctrl-C.",
    )
    add_arguments(parser)
    parser.set_defaults(func=run_serve)
    return parser


def parse_task_seconds(text: str | None) -> tuple[float, float]:
    from ..local.server import DEFAULT_TASK_DURATIONS

    if text is None:
        return DEFAULT_TASK_DURATIONS
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        values = []
    if len(values) == 1 and values[0] >= 0:
        return values[0] / 3, values[0] * 2 / 3
    if len(values) == 2 and min(values) >= 0:
        return values[0], values[1]
    raise ConfigError(f"--task-seconds must be S or INIT,EXEC (non-negative seconds), got {text!r}")


def parse_error_numbers(text: str) -> dict[str, int]:
    """``NAME=N,NAME=N`` as ``{name: number}``, checked."""
    from ..local.protocol import error_numbering

    numbers: dict[str, int] = {}
    for pair in text.split(","):
        name, sep, value = pair.strip().partition("=")
        try:
            numbers[name.strip()] = int(value)
        except ValueError:
            sep = ""
        if not sep:
            raise ConfigError(f"--error-numbers must be NAME=N pairs separated by commas, got {pair.strip()!r}")
    try:
        error_numbering(numbers)
    except ValueError as exc:
        raise ConfigError(f"--error-numbers: {exc}") from None
    return numbers


def _limits(args: argparse.Namespace) -> dict[str, Any]:
    """The --max-body-bytes, --request-timeout and --idle-timeout given, checked."""
    given = {
        name: value
        for name, value in (
            ("max_body_bytes", args.max_body_bytes),
            ("request_timeout", args.request_timeout),
            ("idle_timeout", args.idle_timeout),
        )
        if value is not None
    }
    for name, value in given.items():
        if not (0 < value < float("inf")):
            raise ConfigError(f"--{name.replace('_', '-')} must be a positive number, got {value}")
    return given


def run_serve(ctx: Context, *, stop: threading.Event | None = None) -> int:
    """Serve until SIGINT/SIGTERM (or until *stop* is set, for callers in other threads)."""
    from ..local.auth import load_accounts
    from ..local.faults import Faults
    from ..local.server import LocalService

    args = ctx.args

    if not 0 <= args.port <= 65535:
        raise ConfigError(f"--port must be from 0 to 65535, got {args.port}")
    accounts = load_accounts(args.accounts) if args.accounts else None
    error_numbers = parse_error_numbers(args.error_numbers) if args.error_numbers else None
    faults = Faults(
        latency_ms=args.latency,
        fail_rate=args.fail_rate,
        throttle_rate=args.throttle_rate,
        drop_rate=args.drop_rate,
        seed=args.seed,
    )
    service = LocalService(
        args.db,
        host=args.host,
        port=args.port,
        accounts=accounts,
        faults=faults,
        task_durations=parse_task_seconds(args.task_seconds),
        error_numbers=error_numbers,
        **_limits(args),
        media_root=args.media_root,
        media_workers=args.media_workers,
        strict_create=args.strict_create,
        later_preset_rules=args.later_preset_rules,
    )
    stop = stop or threading.Event()
    previous = _install_signal_handlers(stop)
    try:
        try:
            service.start()
        except OSError as exc:
            raise ConfigError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
        print(f"presetsync local offline service listening on {service.url}", flush=True)
        if service.media_root is not None:
            print(f"media root: {service.media_root} (tasks are transcoded with PyAV)", flush=True)
        readings = [
            flag
            for flag, on in (("--strict-create", args.strict_create), ("--later-preset-rules", args.later_preset_rules))
            if on
        ]
        if readings:
            print(f"readings: {' '.join(readings)}", flush=True)
        dev = service.dev_credentials
        if dev is not None:
            print(f"development account access key id: {dev.access_key_id}", flush=True)
            if args.print_secret:
                print(f"development account secret access key: {dev.secret_access_key}", flush=True)
        if args.host not in LOOPBACK:
            print(f"warning: listening on {args.host}, reachable from other machines", file=sys.stderr, flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        service.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return ExitStatus.OK


def _install_signal_handlers(stop: threading.Event) -> dict[int, Any]:
    """SIGINT and SIGTERM set *stop* (only possible from the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous: dict[int, Any] = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.signal(signum, lambda *_: stop.set())
    return previous
