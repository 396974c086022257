"""Safety before anything is sent: protected presets and change thresholds.

- ``protect:`` globs name presets that are never deleted or replaced, even with --force.
  (Prune never proposes deleting them; a replacement of one refuses the plan.)
- ``safety.max_deletes``: at most this many deletes (prune deletes and replacements).
- ``safety.max_change_percent``: updates, replacements and deletes as a percentage of the
  managed live presets, enforced once at least ``safety.min_existing`` presets are managed
  (on a handful of presets a percentage says little).
Both thresholds give way to --force; protection never does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ..config import Safety
from ..errors import UnsafePlanError
from .plan import DELETE, REPLACE, UPDATE, matches


def protected_changes(changes: Iterable[Any], protect: Sequence[str]) -> list[str]:
    return [f"{c.action} {c.name}" for c in changes if c.action in (DELETE, REPLACE) and matches(c.name, protect)]


def check_safety(
    changes: Sequence[Any],
    *,
    managed: int,
    safety: Safety,
    protect: Sequence[str],
    force: bool,
) -> None:
    """Raise UnsafePlanError when *changes* (Change or SavedChange) must not be applied.

    *managed* is the number of live presets presetsync manages: those declared in the files
    or matched by ``manage:``.
    """
    touched = protected_changes(changes, protect)
    if touched:
        raise UnsafePlanError(
            f"refused: the plan would {', '.join(touched)}, protected by 'protect:' in the config "
            "(--force does not override protection)"
        )
    if force:
        return
    problems = []
    deletes = sum(1 for c in changes if c.action in (DELETE, REPLACE))
    if safety.max_deletes is not None and deletes > safety.max_deletes:
        problems.append(f"{deletes} deletes (including replacements) is over safety.max_deletes = {safety.max_deletes}")
    changed = sum(1 for c in changes if c.action in (UPDATE, REPLACE, DELETE))
    if safety.max_change_percent is not None and managed >= (safety.min_existing or 0) and managed > 0:
        percent = 100.0 * changed / managed
        if percent > safety.max_change_percent:
            problems.append(
                f"{changed} of {managed} managed presets changed ({percent:.0f}%) is over "
                f"safety.max_change_percent = {safety.max_change_percent:g}"
            )
    if problems:
        raise UnsafePlanError("unsafe plan: " + "; ".join(problems) + " (use --force)")
