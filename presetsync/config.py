"""presetsync.yaml: where the preset files are, which service, what is managed, safety thresholds.

Validated against ``schemas/config.schema.json`` (defaults come from there too); every problem
is reported with file:line:col in one :class:`~presetsync.errors.ConfigError`. Paths under
``presets:`` are relative to the configuration file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ConfigError
from .inputs.problems import Problem
from .inputs.schemas import config_schema

if TYPE_CHECKING:
    from .inputs.documents import YamlDocument

CONFIG_NAMES = ("presetsync.yaml", "presetsync.yml")
NO_CONFIG = "no presetsync.yaml here (use -c FILE, or create one: see README)"


def _default(*path: str) -> Any:
    node: Any = config_schema()
    for part in path:
        node = node["properties"][part]
    return node.get("default")


@dataclass(frozen=True)
class Safety:
    """Thresholds over which a plan is refused. ``None`` means "no limit"."""

    max_deletes: int | None = None
    max_change_percent: float | None = None
    min_existing: int | None = None


@dataclass(frozen=True)
class LintSettings:
    """``lint:``: rule ids that never run, and per rule id the preset name globs it skips."""

    ignore: tuple[str, ...] = ()
    ignore_presets: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass
class Config:
    """The configuration; built by :func:`load_config`, with the schema's defaults filled in.

    ``path`` is the file read (``None``: there was none); ``base_dir`` is the absolute directory
    relative paths are taken from (the file's directory, else the working directory);
    ``presets`` are absolute paths. ``extra_fields`` maps a presettype to dotted field paths.
    """

    path: Path | None
    base_dir: Path
    endpoint: str | None = None
    region: str | None = None
    presets: list[Path] = field(default_factory=list)
    manage: list[str] = field(default_factory=list)
    protect: list[str] = field(default_factory=list)
    prune: bool = False
    safety: Safety = field(default_factory=Safety)
    parallelism: int = 4
    retry_budget: float | None = None  # None: the client's default (RetryPolicy.budget)
    extra_fields: dict[str, tuple[str, ...]] = field(default_factory=dict)
    journal: str | None = None  # a PostgreSQL URL; None: the SQLite file in .presetsync/
    tasks: dict[str, Any] = field(default_factory=dict)
    lint: LintSettings = field(default_factory=LintSettings)

    @property
    def state_dir(self) -> Path:
        """``.presetsync/`` beside the config file: journals, audit log, the embedded service."""
        from .state import STATE_DIR_NAME

        return self.base_dir / STATE_DIR_NAME

    def extra_fields_for(self, presettype: str) -> tuple[str, ...]:
        return self.extra_fields.get(presettype, ())

    def preset_paths(self) -> list[Path]:
        """``presets:``, for a command given no preset files. Without a configuration file and
        without the default ``presets`` directory, a ConfigError that says where to start."""
        if self.path is None and not any(p.exists() for p in self.presets):
            shown = ", ".join(f"{os.path.relpath(p, self.base_dir)}/" for p in self.presets)
            raise ConfigError(f"{NO_CONFIG} and no {shown} directory; or name the preset files on the command line")
        return list(self.presets)


def find_config(cwd: Path | None = None) -> Path | None:
    """``presetsync.yaml`` (or ``.yml``) in *cwd*, if there is one."""
    base = cwd or Path.cwd()
    found = [base / name for name in CONFIG_NAMES if (base / name).is_file()]
    if len(found) > 1:
        raise ConfigError(f"both {found[0]} and {found[1]} exist; keep one of them")
    return found[0] if found else None


class InvalidConfig(ConfigError):
    """An invalid configuration file; ``problems`` holds each problem, at its file:line:col."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(set(problems))
        lines = "\n".join(f"  {p}" for p in self.problems)
        count = len(self.problems)
        super().__init__(f"invalid configuration ({count} problem{'s' if count != 1 else ''}):\n{lines}")


def load_config(path: Path | str | None = None, cwd: Path | None = None) -> Config:
    """Read and validate a configuration file.

    Without *path*, ``presetsync.yaml`` (or ``.yml``) in *cwd* (default: the working directory)
    is read if present; otherwise the defaults are returned. Raises ConfigError listing every
    problem as ``file:line:col: message``.
    """
    cwd = (cwd or Path.cwd()).absolute()
    if path is None:
        found = find_config(cwd)
        if found is None:
            return _build({}, None, cwd)
        path = found
    path = Path(os.path.normpath(cwd / Path(path).expanduser()))
    if not path.is_file():
        raise ConfigError(f"{path}: no such configuration file")
    from .inputs.documents import load_yaml  # here: without a configuration file, no YAML to import

    doc = load_yaml(path, allow_empty=True)
    if doc.problems:
        raise InvalidConfig(doc.problems)
    data = {} if doc.data is None else doc.data
    if not isinstance(data, Mapping):
        raise InvalidConfig(
            [doc.problem((), "the configuration must be a mapping of settings (endpoint:, presets:, ...)")]
        )
    if not _config_is_valid(data):
        problems = _config_problems(doc, data)
        if problems:  # (always, unless the compiled check and jsonschema disagree)
            raise InvalidConfig(problems)
    return _build(data, path, path.parent)


def _config_is_valid(data: object) -> bool:
    """The schema's yes/no, compiled where it can be (:class:`.inputs.schema_check.QuickCheck`):
    jsonschema, which takes longer to import than the rest of a small command's start-up, is
    needed only to word the problems."""
    from .inputs.schema_check import QuickCheck

    return QuickCheck(config_schema()).is_valid(data)


def _config_problems(doc: YamlDocument, data: object) -> list[Problem]:
    import jsonschema

    from .inputs.schema_messages import SchemaErrorTranslator

    validator = jsonschema.Draft202012Validator(config_schema())
    return SchemaErrorTranslator(doc, validator.schema).problems(validator.iter_errors(data))


def _build(data: Mapping[str, Any], path: Path | None, base_dir: Path) -> Config:
    base_dir = base_dir.absolute()
    safety = data.get("safety", {})
    presets = data.get("presets", _default("presets"))
    return Config(
        path=path,
        base_dir=base_dir,
        endpoint=data.get("endpoint"),
        region=data.get("region"),
        presets=[Path(os.path.normpath(base_dir / Path(p).expanduser())) for p in presets],
        manage=list(data.get("manage", _default("manage"))),
        protect=list(data.get("protect", _default("protect"))),
        prune=bool(data.get("prune", _default("prune"))),
        safety=Safety(
            max_deletes=safety.get("max_deletes", _default("safety", "max_deletes")),
            max_change_percent=safety.get("max_change_percent", _default("safety", "max_change_percent")),
            min_existing=safety.get("min_existing", _default("safety", "min_existing")),
        ),
        parallelism=int(data.get("parallelism", _default("parallelism"))),
        retry_budget=data.get("retry_budget"),
        extra_fields={k: tuple(v) for k, v in data.get("extra_fields", {}).items()},
        journal=data.get("journal"),
        tasks=dict(data.get("tasks", {})),
        lint=LintSettings(
            ignore=tuple(data.get("lint", {}).get("ignore", ())),
            ignore_presets={k: tuple(v) for k, v in data.get("lint", {}).get("ignore_presets", {}).items()},
        ),
    )
