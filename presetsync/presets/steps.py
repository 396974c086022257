"""The steps of an apply and their outcomes: the values, one line each for the terminal, and the
audit log (``.presetsync/apply-log.jsonl``). :mod:`presetsync.presets.apply` runs the steps."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..state import private_file
from .plan import CREATE, DELETE, REPLACE, UPDATE, Change

DONE, FAILED, CONFLICT, SKIPPED = "done", "failed", "conflict", "skipped"


@dataclass(frozen=True)
class Step:
    """One write: ``create`` (Preset), ``update`` (UpdatePreset) or ``delete`` (DelPreset)."""

    action: str
    name: str
    presettype: str
    expect: str | None  # fingerprint of the live preset the plan saw; None: it did not exist
    body: dict[str, Any] | None = None  # what to send for create and update
    phase: int = 0
    after: str | None = None  # for a replacement's create: the name whose delete must be done first
    target: dict[str, Any] | None = field(default=None, compare=False, repr=False)  # the plan's normalised body


@dataclass(frozen=True)
class Outcome:
    step: Step
    status: str
    message: str = ""
    before: str | None = None  # fingerprint seen just before writing
    after: str | None = None  # fingerprint once done (None: deleted or unknown)


@dataclass
class ApplyResult:
    outcomes: list[Outcome] = field(default_factory=list)
    interrupted: bool = False  # Ctrl-C: writes in flight were settled, nothing more was started

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    def summary(self) -> str:
        line = (
            f"Apply: {self.count(DONE)} done, {self.count(FAILED)} failed, "
            f"{self.count(CONFLICT)} conflict(s), {self.count(SKIPPED)} skipped."
        )
        if self.interrupted:
            line += (
                f"\nInterrupted: {self.count(DONE)} done, {self.count(FAILED)} failed, "
                f"{self.count(SKIPPED)} not started. Run the same apply again to finish: "
                "what is already done is skipped."
            )
        return line


def steps_for(changes: Iterable[Change]) -> list[Step]:
    """Plan changes as steps (a replacement is a delete, then a create)."""
    steps: list[Step] = []
    for c in changes:
        expect = c.fingerprint
        if c.action == REPLACE:
            steps.append(Step(DELETE, c.name, c.presettype, expect, phase=0))
            steps.append(Step(CREATE, c.name, c.presettype, None, c.body, phase=1, after=c.name, target=c.after))
        elif c.action == CREATE:
            steps.append(Step(CREATE, c.name, c.presettype, expect, c.body, phase=1, target=c.after))
        elif c.action == UPDATE:
            steps.append(Step(UPDATE, c.name, c.presettype, expect, c.body, phase=2, target=c.after))
        elif c.action == DELETE:
            steps.append(Step(DELETE, c.name, c.presettype, expect, phase=3))
    return steps


class AuditLog:
    """Appends one JSON line per step outcome; never a secret (only names and fingerprints)."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        private_file(path)

    def write(self, outcome: Outcome) -> None:
        record = {
            "time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "preset": outcome.step.name,
            "action": outcome.step.action,
            "before": outcome.before,
            "after": outcome.after,
            "outcome": outcome.status,
            "message": outcome.message,
        }
        line = json.dumps(record, ensure_ascii=False, sort_keys=False) + "\n"
        with self._lock, open(self.path, "a", encoding="utf-8") as fh:
            fh.write(line)


def format_outcome(outcome: Outcome) -> str:
    verbs = {CREATE: "created", UPDATE: "updated", DELETE: "deleted"}
    step = outcome.step
    if outcome.status == DONE:
        text = f"  {verbs[step.action]} {step.name}"
    else:
        text = f"  {outcome.status.upper()} {step.action} {step.name}"
    return text + (f": {outcome.message}" if outcome.message else "")
