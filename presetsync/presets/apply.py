"""Applying a plan: exactly what was reviewed, or nothing that moved underneath.

A plan becomes steps, run in phases: the deletes of replacements, then creates (with the
creates of replacements), then updates, then prune deletes. Within a phase up to N steps are
in flight. Every step first reads its preset again and compares it with the fingerprint the
plan was made against: a preset that changed meanwhile is a *conflict*, never overwritten.

When the service may or may not have done a write (a lost response: OutcomeUnknown), the
preset is read back: if it is in the desired state the step is done; if it is still in the
state it was planned against, nothing happened and the write is sent again (at most
``max_rounds`` times); anything else is a failure. Nothing is ever reported done unless the
service said so or a read-back showed it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..api.client import OfflineClient
from ..errors import ApiError, OutcomeUnknown, ServiceError
from .live import fetch_live, fingerprint
from .normalize import normalize_preset
from .plan import CREATE, DELETE, REPLACE, UPDATE

DONE, FAILED, CONFLICT, SKIPPED = "done", "failed", "conflict", "skipped"


@dataclass(frozen=True)
class Step:
    """One write: ``create`` (Preset), ``update`` (UpdatePreset) or ``delete`` (DelPreset)."""

    action: str
    name: str
    presettype: str
    expect: str | None  # fingerprint of the live preset the plan saw; None: it did not exist
    body: dict | None = None  # what to send for create and update
    phase: int = 0
    after: str | None = None  # for a replacement's create: the name whose delete must be done first


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

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    def summary(self) -> str:
        return (
            f"Apply: {self.count(DONE)} done, {self.count(FAILED)} failed, "
            f"{self.count(CONFLICT)} conflict(s), {self.count(SKIPPED)} skipped."
        )


def steps_for(changes: Iterable[Any]) -> list[Step]:
    """Plan changes (Change or SavedChange: action, name, presettype, fingerprint, body) as steps."""
    steps = []
    for c in changes:
        expect = c.fingerprint
        if c.action == REPLACE:
            steps.append(Step(DELETE, c.name, c.presettype, expect, phase=0))
            steps.append(Step(CREATE, c.name, c.presettype, None, c.body, phase=1, after=c.name))
        elif c.action == CREATE:
            steps.append(Step(CREATE, c.name, c.presettype, expect, c.body, phase=1))
        elif c.action == UPDATE:
            steps.append(Step(UPDATE, c.name, c.presettype, expect, c.body, phase=2))
        elif c.action == DELETE:
            steps.append(Step(DELETE, c.name, c.presettype, expect, phase=3))
    return steps


class AuditLog:
    """Appends one JSON line per step outcome; never a secret (only names and fingerprints)."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)

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


class Applier:
    def __init__(
        self,
        client: OfflineClient,
        *,
        parallelism: int = 4,
        fail_fast: bool = False,
        extra_fields: Any = None,
        audit: AuditLog | None = None,
        report: Callable[[Outcome], None] | None = None,
        max_rounds: int = 3,
    ):
        self.client = client
        self.parallelism = max(1, parallelism)
        self.fail_fast = fail_fast
        self.extra_fields = extra_fields
        self.audit = audit
        self.report = report or (lambda outcome: None)
        self.max_rounds = max_rounds
        self._stop = threading.Event()
        self._lock = threading.Lock()

    # --- reading ---------------------------------------------------------------------

    def desired(self, step: Step) -> dict | None:
        if step.body is None:
            return None
        b = step.body
        return normalize_preset(
            b.get("preset"), b.get("presettype"), b.get("description"), b.get("param"), self.extra_fields
        )

    def read(self, name: str) -> dict | None:
        """The preset's normalised live state, or None when it does not exist."""
        preset = fetch_live(self.client, names=name).get(name)
        return preset.normalized(self.extra_fields) if preset is not None else None

    # --- running ---------------------------------------------------------------------

    def run(self, steps: Sequence[Step]) -> ApplyResult:
        result = ApplyResult()
        failed_names: set[str] = set()
        for phase in sorted({s.phase for s in steps}):
            batch = [s for s in steps if s.phase == phase]
            with ThreadPoolExecutor(self.parallelism) as pool:
                outcomes = list(pool.map(lambda s: self._run_one(s, failed_names), batch))
            for outcome in outcomes:
                result.outcomes.append(outcome)
                if outcome.status != DONE:
                    failed_names.add(outcome.step.name)
        return result

    def _run_one(self, step: Step, failed_names: set[str]) -> Outcome:
        if self._stop.is_set():
            outcome = Outcome(step, SKIPPED, "not started: an earlier change failed (--fail-fast)")
        elif step.after is not None and step.after in failed_names:
            outcome = Outcome(step, SKIPPED, "not started: deleting the old preset did not succeed")
        else:
            try:
                outcome = self._execute(step)
            except ServiceError as exc:
                outcome = Outcome(step, FAILED, str(exc))
        if outcome.status in (FAILED, CONFLICT) and self.fail_fast:
            self._stop.set()
        if self.audit is not None:
            self.audit.write(outcome)
        with self._lock:
            self.report(outcome)
        return outcome

    def _execute(self, step: Step) -> Outcome:
        target = self.desired(step)
        current = self.read(step.name)
        seen = fingerprint(current)
        target_fp = fingerprint(target)
        if seen != step.expect:
            if current == target:  # already as desired (another run got there first)
                return Outcome(step, DONE, "already in the desired state", seen, target_fp)
            return Outcome(
                step,
                CONFLICT,
                f"{step.name} changed since the plan (planned against {step.expect or 'no preset'}, "
                f"found {seen or 'no preset'}); not overwritten: plan again",
                seen,
                seen,
            )
        reason = ""
        for _ in range(self.max_rounds):
            try:
                self._send(step)
                return Outcome(step, DONE, "", seen, target_fp)
            except OutcomeUnknown as exc:
                unknown, reason = True, f"outcome unknown ({exc.reason})"
            except ApiError as exc:
                unknown, reason = False, str(exc)
            # The service may or may not have done it: read back, never guess.
            now = self.read(step.name)
            if now == target:
                return Outcome(step, DONE, f"{reason}; read back: done", seen, target_fp)
            if fingerprint(now) != seen:
                return Outcome(step, FAILED, f"{reason}; read back: in neither the old nor the new state", seen, None)
            if not unknown:
                return Outcome(step, FAILED, reason, seen, seen)
            # Read back unchanged after a lost response: nothing happened, so sending again is
            # not a guess.
        return Outcome(step, FAILED, f"{reason}; gave up after {self.max_rounds} rounds", seen, seen)

    def _send(self, step: Step) -> None:
        if step.action == CREATE:
            self.client.preset(step.body)
        elif step.action == UPDATE:
            self.client.update_preset(step.body)
        else:
            self.client.del_preset(preset=step.name)


def format_outcome(outcome: Outcome) -> str:
    verbs = {CREATE: "created", UPDATE: "updated", DELETE: "deleted"}
    step = outcome.step
    if outcome.status == DONE:
        text = f"  {verbs[step.action]} {step.name}"
    else:
        text = f"  {outcome.status.upper()} {step.action} {step.name}"
    return text + (f": {outcome.message}" if outcome.message else "")
