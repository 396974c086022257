"""``presetsync validate`` and ``presetsync lint``: the offline checks.

``validate`` checks preset files (:mod:`presetsync.presets.validate`) and the task manifests
among the files given (:mod:`presetsync.tasks.check`) in one run, and prints every problem as
file:line:col. A manifest's presets must be in the preset files or in the service; the
service is read (one GetPresetList, nothing written) only for names no file has, through the
command's client, with few and short attempts: when it cannot be read, such names are
warnings and validate stays usable offline. ``--only-configured`` first keeps the files that
are presetsync's (:mod:`.configured`), for the pre-commit hook.

``lint`` checks rules across presets (:mod:`presetsync.presets.lint`) and never contacts the
service.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from ..errors import ExitStatus
from ..inputs.problems import plural
from .context import Context, add_config_option

if TYPE_CHECKING:
    from ..config import Config
    from ..inputs.documents import YamlDocument
    from ..tasks.check import LivePresets
    from .context import Subparsers


def register(sub: Subparsers) -> None:
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


def run_validate(ctx: Context) -> int:
    config = ctx.config
    paths = ctx.args.paths
    if ctx.args.only_configured and paths:
        from .configured import configured_files

        paths = configured_files(paths, config)
        if not paths:
            return ExitStatus.OK  # none of the files is presetsync's
    return validate_paths(paths or None, config, live_presets=lambda: read_live_presets(ctx))


def run_lint(ctx: Context) -> int:
    from ..presets.lint import lint_paths

    return lint_paths(ctx.args.paths or None, ctx.config, chart=ctx.args.chart)


def read_live_presets(ctx: Context) -> tuple[set[str] | None, str]:
    """(the live preset names, "") through the command's client, or (None, why not)."""
    from ..errors import PresetsyncError
    from ..tasks.check import live_preset_names

    try:
        return live_preset_names(ctx.client()), ""
    except (PresetsyncError, OSError) as exc:
        return None, _reason(exc, ctx.endpoint)


def _reason(exc: Exception, endpoint: str | None) -> str:
    from ..errors import ApiError, CredentialsError, ServiceUnreachable

    if isinstance(exc, CredentialsError):
        return "no credentials found"
    if isinstance(exc, ServiceUnreachable):
        return f"no answer from {endpoint or 'the official endpoint'}"
    if isinstance(exc, ApiError):
        return f"the service answered HTTP {exc.status}" + (f" ({exc.code})" if exc.code else "")
    return str(exc).splitlines()[0][:200]


def _not_read() -> tuple[set[str] | None, str]:
    return None, "the service was not read"


def validate_paths(
    paths: Iterable[Path | str] | None = None,
    config: Config | None = None,
    *,
    out: TextIO | None = None,
    live_presets: LivePresets | None = None,
) -> int:
    """What ``presetsync validate`` does: print every problem (one per line, sorted by file and
    line) and a one-line summary; return the exit status (0 ok, 1 problems).

    Task manifests among the files are checked too: their presets must exist in the preset
    files or among the names *live_presets* returns (called only for names the files do not
    have; ``(None, why not)`` makes such names warnings). Without *live_presets* the service
    is not read.
    """
    from ..presets.validate import load_presets

    out = out or sys.stdout
    manifest_docs: list[tuple[Path, YamlDocument]] = []
    result = load_presets(paths, config, manifests=manifest_docs)
    problems, warnings, manifest_tasks = list(result.problems), [], 0
    if manifest_docs:
        from ..tasks.check import check_manifest_docs

        report = check_manifest_docs(manifest_docs, result.presets, config, live_presets=live_presets or _not_read)
        problems = sorted(set(problems + report.problems))
        warnings, manifest_tasks = report.warnings, report.tasks
    for problem in problems:
        print(problem, file=out)
    for warning in warnings:
        print(warning, file=out)
    if problems:
        files = len({p.file for p in problems})
        print(f"{plural(len(problems), 'problem')} in {plural(files, 'file')}", file=out)
        return ExitStatus.ERROR
    summary = f"{plural(len(result.files) + len(manifest_docs), 'file')}, {plural(len(result.presets), 'preset')}"
    if manifest_docs:
        summary += f", {plural(len(manifest_docs), 'manifest')} with {plural(manifest_tasks, 'task')}"
    if warnings:
        summary += f" ({plural(len(warnings), 'warning')})"
    print(f"{summary}: ok", file=out)
    return ExitStatus.OK
