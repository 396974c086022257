"""Which of the files a tool hands over are presetsync's: ``validate --only-configured``.

pre-commit (and ``git ls-files | xargs``) passes every changed YAML file of a repository:
``docker-compose.yml``, CI files, Kubernetes manifests. Of those, presetsync checks

- the preset files: files at or below the configuration's ``presets:`` paths (as ``validate``
  without paths finds them: ``*.yaml`` / ``*.yml`` below a directory, hidden ones skipped);
- the task manifests, wherever they are: a file whose schema line names
  ``task-manifest.schema.json``, or whose top-level keys are all manifest keys (``tasks``,
  ``matrix``, ``defaults``, ``x-...``). A ``Taskfile.yml`` (``version:`` and ``tasks:``) is
  not one.

and leaves every other file alone, silently. Only files that may be manifests are parsed (a
line-start ``tasks:``, ``matrix:`` or ``defaults:`` first), so the filter costs little.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from ..inputs.discovery import PRESET_SUFFIXES
from ..inputs.documents import load_yaml
from ..presets.model import MANIFEST_KEYS, is_manifest

if TYPE_CHECKING:
    from ..config import Config

_SCHEMA_LINE = re.compile(rb"^#.*\$schema=\S*task-manifest\.schema\.json", re.M)
_MANIFEST_KEY_LINE = re.compile(rb"^(?:tasks|matrix|defaults)[ \t]*:", re.M)


def _below(path: Path, root: Path) -> bool:
    """*path* is *root*, or a file below the directory *root* that ``discover`` would find."""
    if path == root:
        return True
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        return False
    return path.suffix.lower() in PRESET_SUFFIXES and not any(part.startswith(".") for part in parts)


def is_manifest_file(path: Path) -> bool:
    """Whether *path* is recognised as a task manifest (see the module doc)."""
    try:
        raw = path.read_bytes()
    except OSError:
        return False
    if _SCHEMA_LINE.search(raw):
        return True
    if not _MANIFEST_KEY_LINE.search(raw):
        return False
    data = load_yaml(path).data
    return is_manifest(data) and all(str(key) in MANIFEST_KEYS or str(key).startswith("x-") for key in data)


def configured_files(paths: Iterable[Path | str], config: Config) -> list[Path]:
    """The files of *paths* that are presetsync's preset files or task manifests, in order."""
    roots = [Path(p).resolve() for p in config.presets]
    own = config.path.resolve() if config.path is not None else None
    kept: list[Path] = []
    for given in paths:
        path = Path(given)
        if not path.is_file():
            continue
        resolved = path.resolve()
        if resolved == own:
            continue
        if any(_below(resolved, root) for root in roots) or (
            path.suffix.lower() in PRESET_SUFFIXES and is_manifest_file(path)
        ):
            kept.append(path)
    return kept
