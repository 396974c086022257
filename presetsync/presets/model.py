"""Plain values shared by loading, validation, planning and rendering.

``DesiredPreset`` is one preset as written in a file (its ``param`` is exactly what apply
sends); the plan's actions and :func:`matches`, the glob rule of ``manage:``, ``protect:`` and
``--target``. A problem in a file is :class:`presetsync.inputs.problems.Problem`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..inputs.positions import Positions, YamlPath

CREATE, UPDATE, REPLACE, DELETE, UNCHANGED = "create", "update", "replace", "delete", "unchanged"
ACTIONS = (CREATE, UPDATE, REPLACE, DELETE)

# The top-level keys that tell the two kinds of YAML files apart. Preset files and task
# manifests share directories (``validate``, the pre-commit hook, ``lint`` and ``preview`` read
# whatever is there), so the rule lives here, below both presets and tasks.
PRESET_FILE_KEYS = ("presets", "preset", "presettype", "param")
MANIFEST_KEYS = ("tasks", "matrix", "defaults")


def is_manifest(data: object) -> bool:
    """Whether loaded YAML data is a task manifest rather than a preset file: a mapping with a
    top-level ``tasks``, ``matrix`` or ``defaults`` and none of a preset file's keys."""
    return (
        isinstance(data, Mapping)
        and any(key in data for key in MANIFEST_KEYS)
        and not any(key in data for key in PRESET_FILE_KEYS)
    )


def matches(name: str, globs: Iterable[str]) -> bool:
    """True when *name* matches one of the (case-sensitive) *globs*."""
    return any(fnmatchcase(name, g) for g in globs)


_PART = re.compile(r"\[(\d+)\]|([^.\[\]]+)")


def field_path(ref: str | tuple[str | int, ...]) -> tuple[str | int, ...]:
    """``"VIDEO.vb"`` or ``("VIDEO", "vb")`` -> ``("VIDEO", "vb")``; ``""`` -> ``()``;
    list items by index: ``"IMAGE[0].logoUrl"`` or ``"IMAGE.0.logoUrl"`` -> ``("IMAGE", 0, "logoUrl")``."""
    if not isinstance(ref, str):
        return tuple(ref)
    out: list[str | int] = []
    for index, name in _PART.findall(ref):
        out.append(int(index) if index else int(name) if name.isdigit() else name)
    return tuple(out)


@dataclass
class DesiredPreset:
    """A preset as declared in a file.

    ``param`` is the mapping as written (bitrates like ``"128k"`` untouched): it is what apply
    sends. Compare through :mod:`presetsync.presets.normalize`, never directly.
    ``file`` is the path for display; ``line`` is where the preset's mapping starts;
    ``base`` is the preset's path inside the file's data (``("presets", 2)`` or ``()``).
    """

    name: str
    presettype: str
    description: str | None
    param: dict[str, Any]
    file: str
    line: int
    positions: Positions | None = field(default=None, repr=False, compare=False)
    base: YamlPath = ()

    def position(self, ref: str | tuple[str | int, ...] = (), *, key: bool = True) -> tuple[int, int]:
        """(line, col) of a param field, e.g. ``position("VIDEO.vb")``; ``()`` is the preset itself.

        ``key=True`` gives the key's position, ``key=False`` the value's. A field that is not
        in the file (a default, say) falls back to its nearest written ancestor.
        """
        if self.positions is None:
            return (self.line, 1)
        path = field_path(ref)
        full = (*self.base, "param", *path) if path else tuple(self.base)
        return self.positions.find(full, key=key and bool(path))

    def where(self, ref: str | tuple[str | int, ...] = ()) -> str:
        """``file:line:col`` of a param field (or of the preset), for messages."""
        line, col = self.position(ref)
        return f"{self.file}:{line}:{col}"

    def body(self) -> dict[str, Any]:
        """The Preset/UpdatePreset request body, as written in the file."""
        out: dict[str, Any] = {"preset": self.name, "presettype": self.presettype}
        if self.description is not None:
            out["description"] = self.description
        out["param"] = self.param
        return out
