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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from ..errors import UnsafePlanError
from .model import DELETE, REPLACE, UPDATE, matches

if TYPE_CHECKING:
    from ..config import Safety


class PlannedChange(Protocol):
    """What the rules read of a plan's change (:class:`~presetsync.presets.plan.Change`)."""

    @property
    def action(self) -> str: ...

    @property
    def name(self) -> str: ...


def protected_changes(changes: Iterable[PlannedChange], protect: Sequence[str]) -> list[str]:
    return [f"{c.action} {c.name}" for c in changes if c.action in (DELETE, REPLACE) and matches(c.name, protect)]


@dataclass(frozen=True)
class SafetyVerdict:
    """What apply would say about a plan: the one place of the rules (see :func:`safety_verdict`).

    *protected*: changes that delete or replace a protected preset (``delete NAME``), refused
    even with --force. *over*: the thresholds gone over, each as a sentence, refused unless
    --force.
    """

    protected: tuple[str, ...] = ()
    over: tuple[str, ...] = ()

    @property
    def status(self) -> str:
        """``refused`` (even with --force), ``needs-force`` or ``ok``."""
        return "refused" if self.protected else "needs-force" if self.over else "ok"

    def error(self, force: bool) -> UnsafePlanError | None:
        """The error apply raises with or without *force*; None when it goes ahead."""
        if self.protected:
            return UnsafePlanError(
                f"refused: the plan would {', '.join(self.protected)}, protected by 'protect:' in the config "
                "(--force does not override protection)"
            )
        if self.over and not force:
            return UnsafePlanError("unsafe plan: " + "; ".join(self.over) + " (use --force)")
        return None

    def to_data(self) -> dict[str, str | list[str]]:
        return {"verdict": self.status, "protected": list(self.protected), "over_thresholds": list(self.over)}


def safety_verdict(
    changes: Sequence[PlannedChange],
    *,
    managed: int,
    safety: Safety | None,
    protect: Sequence[str],
) -> SafetyVerdict:
    """The verdict on *changes* (see :meth:`presetsync.presets.plan.Plan.safety_verdict`).

    *managed* is the number of live presets presetsync manages: those declared in the files
    or matched by ``manage:``. Without *safety* only protection is checked.
    """
    over = []
    if safety is not None:
        deletes = sum(1 for c in changes if c.action in (DELETE, REPLACE))
        if safety.max_deletes is not None and deletes > safety.max_deletes:
            over.append(f"{deletes} deletes (including replacements) is over safety.max_deletes = {safety.max_deletes}")
        changed = sum(1 for c in changes if c.action in (UPDATE, REPLACE, DELETE))
        if safety.max_change_percent is not None and managed >= (safety.min_existing or 0) and managed > 0:
            percent = 100.0 * changed / managed
            if percent > safety.max_change_percent:
                over.append(
                    f"{changed} of {managed} managed presets changed ({percent:.0f}%) is over "
                    f"safety.max_change_percent = {safety.max_change_percent:g}"
                )
    return SafetyVerdict(tuple(protected_changes(changes, protect)), tuple(over))
