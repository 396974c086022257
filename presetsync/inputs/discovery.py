"""Which files a command reads: paths expanded into a sorted list of YAML files."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from .problems import Problem, display_path

PRESET_SUFFIXES = (".yaml", ".yml")


def discover(
    paths: Iterable[Path | str], *, suffixes: Sequence[str] = PRESET_SUFFIXES
) -> tuple[list[Path], list[Problem]]:
    """Expand *paths* into a sorted, de-duplicated list of files.

    A file is taken as given (whatever its suffix); a directory is searched recursively for
    files ending in *suffixes*, skipping hidden files and directories, in sorted order. A path
    that does not exist, or a directory without any such file, is a problem.
    """
    files: list[Path] = []
    problems: list[Problem] = []
    seen: set[Path] = set()

    def add(path: Path) -> None:
        try:
            key = path.resolve()
        except OSError:  # pragma: no cover - resolve() only fails on exotic file systems
            key = path.absolute()
        if key not in seen:
            seen.add(key)
            files.append(path)

    for given in paths:
        path = Path(given)
        if path.is_dir():
            found = sorted(_walk(path, tuple(s.lower() for s in suffixes)), key=lambda p: p.relative_to(path).parts)
            if not found:
                wanted = " or ".join(f"*{s}" for s in suffixes)
                problems.append(Problem(display_path(path), 0, 0, f"no {wanted} files in this directory"))
            for file in found:
                add(file)
        elif path.exists():
            add(path)
        else:
            problems.append(Problem(display_path(path), 0, 0, "no such file or directory"))
    return files, problems


def _walk(root: Path, suffixes: tuple[str, ...]) -> Iterable[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith(".") and name.lower().endswith(suffixes):
                yield Path(dirpath) / name
