"""Applying a plan: exactly what was reviewed, or nothing that moved underneath.

:func:`apply_plan` is the one path for fresh and saved plans: what is left to do against the
live presets (staleness), the plan shown, safety and protection, confirmation, then the steps.

A plan becomes steps, run in phases: the deletes of replacements, then creates (with the
creates of replacements), then updates, then prune deletes. Within a phase up to N requests
are in flight. Every step is checked shortly before it is written: its preset is read again,
in batches (one GetPresetList of up to :data:`BATCH` names for as many steps), and compared
with the fingerprint the plan was made against: a preset that changed meanwhile is a
*conflict*, never overwritten.

When a write fails, the service may or may not have done it (a lost response:
OutcomeUnknown), so the preset is read back, batched with the other writes in doubt: if it is
in the desired state the step is done; if it is still in the state it was planned against
after a lost response, nothing happened and the write is sent again (at most ``max_rounds``
times); anything else is a failure. Nothing is ever reported done unless the service said so
or a read-back showed it.

The values it works with (steps, outcomes, the result, the audit log) are in
:mod:`presetsync.presets.steps`.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ..api.client import OfflineClient
from ..errors import ApiError, OutcomeUnknown, ServiceError
from .live import LivePreset, fetch_live, fingerprint
from .normalize import ExtraFields, normalize_preset
from .plan import CREATE, UPDATE, Plan
from .render import render_text
from .steps import CONFLICT, DONE, FAILED, SKIPPED, ApplyResult, AuditLog, Outcome, Step, format_outcome, steps_for

if TYPE_CHECKING:
    from ..config import Safety

#: A normalised preset (:func:`~presetsync.presets.normalize.normalize_preset`), as compared.
Normalized = dict[str, Any]
#: What a worker of a phase does next.
_Job = Literal["skip", "read", "write", "end"]

# Names per GetPresetList(presets=NAME,...): names have at most 32 characters, so the query
# stays under about 1.7 KB; at 50 changes a read, reads add 2% to the requests of an apply.
BATCH = 50


@dataclass(eq=False)
class _Entry:
    """One step on its way through its phase: checked, written, settled."""

    step: Step
    target: Normalized | None = None  # the desired normalised state (None: deleted)
    seen: str | None = None  # fingerprint the check found just before the first write
    writes: int = 0  # times sent
    reason: str = ""  # why the last write failed; a read-back settles it
    unknown: bool = False  # the last write may or may not have happened
    outcome: Outcome | None = None


class Applier:
    """Runs steps phase by phase (see :class:`_Phase`) and decides each one's outcome."""

    def __init__(
        self,
        client: OfflineClient,
        *,
        parallelism: int = 4,
        fail_fast: bool = False,
        extra_fields: ExtraFields = None,
        audit: AuditLog | None = None,
        report: Callable[[Outcome], None] | None = None,
        max_rounds: int = 3,
        batch: int = BATCH,
    ):
        self.client = client
        self.parallelism = max(1, parallelism)
        self.fail_fast = fail_fast
        self.extra_fields = extra_fields
        self.audit = audit
        self.report = report or (lambda outcome: None)
        self.max_rounds = max_rounds
        self.batch = max(1, batch)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.interrupted = False

    # --- reading ---------------------------------------------------------------------

    def desired(self, step: Step) -> Normalized | None:
        """The step's normalised desired state: the plan's, or its body's (None: deleted)."""
        if step.body is None or step.target is not None:
            return step.target
        b = step.body
        return normalize_preset(b["preset"], b["presettype"], b.get("description"), b.get("param"), self.extra_fields)

    def read(self, names: Sequence[str]) -> dict[str, LivePreset]:
        """The live presets among *names*: one GetPresetList(presets=NAME,NAME,...)."""
        return fetch_live(self.client, names=",".join(names))

    def normalized(self, preset: LivePreset | None) -> Normalized | None:
        return None if preset is None else preset.normalized(self.extra_fields)

    @property
    def stopped(self) -> bool:
        """--fail-fast and something failed or conflicted, or Ctrl-C: start nothing new."""
        return self._stop.is_set()

    def interrupt(self) -> None:
        """Ctrl-C: start nothing new; writes in flight finish and are settled."""
        self.interrupted = True
        self._stop.set()

    # --- deciding --------------------------------------------------------------------

    def finish(
        self, entry: _Entry, status: str, message: str = "", before: str | None = None, after: str | None = None
    ) -> None:
        entry.outcome = outcome = Outcome(entry.step, status, message, before, after)
        if status in (FAILED, CONFLICT) and self.fail_fast:
            self._stop.set()
        if self.audit is not None:
            self.audit.write(outcome)
        with self._lock:
            self.report(outcome)

    def check(self, entry: _Entry, now: Normalized | None) -> bool:
        """Before the first write, with *now* the preset as just read: True when it may be
        written (it is as planned); else its outcome is given (already done, or a conflict)."""
        step, seen = entry.step, fingerprint(now)
        if seen == step.expect:
            entry.seen = seen
            return True
        if now == entry.target:  # already as desired (another run got there first)
            self.finish(entry, DONE, "already in the desired state", seen, seen)
        else:
            message = (
                f"{step.name} changed since the plan (planned against {step.expect or 'no preset'}, "
                f"found {seen or 'no preset'}); not overwritten: plan again"
            )
            self.finish(entry, CONFLICT, message, seen, seen)
        return False

    def write(self, entry: _Entry) -> bool:
        """Send the step: True when it failed and must be read back; else its outcome is given."""
        entry.writes += 1
        try:
            self._send(entry.step)
        except OutcomeUnknown as exc:
            entry.unknown, entry.reason = True, f"outcome unknown ({exc.reason})"
            return True
        except ApiError as exc:
            entry.unknown, entry.reason = False, str(exc)
            return True
        except ServiceError as exc:
            self.finish(entry, FAILED, str(exc), entry.seen)
            return False
        self.finish(entry, DONE, "", entry.seen, fingerprint(entry.target))
        return False

    def settle(self, entry: _Entry, now: Normalized | None) -> bool:
        """After a failed write, with *now* the preset as read back: True when nothing happened
        after a lost response, so sending again is not a guess; else its outcome is given."""
        reason, seen = entry.reason, entry.seen
        if now == entry.target:
            self.finish(entry, DONE, f"{reason}; read back: done", seen, fingerprint(now))
        elif fingerprint(now) != seen:
            self.finish(entry, FAILED, f"{reason}; read back: in neither the old nor the new state", seen)
        elif not entry.unknown:
            self.finish(entry, FAILED, reason, seen, seen)
        elif entry.writes >= self.max_rounds:
            self.finish(entry, FAILED, f"{reason}; gave up after {self.max_rounds} rounds", seen, seen)
        else:
            return True
        return False

    def unread(self, entry: _Entry, exc: ServiceError) -> None:
        """The read before the first write, or the read-back, failed."""
        if entry.writes == 0:
            self.finish(entry, FAILED, f"not sent: reading it first failed: {exc}")
        else:
            self.finish(entry, FAILED, f"{entry.reason}; reading it back failed: {exc}", entry.seen)

    # --- running ---------------------------------------------------------------------

    def run(self, steps: Sequence[Step]) -> ApplyResult:
        result = ApplyResult()
        failed_names: set[str] = set()
        for phase in sorted({s.phase for s in steps}):
            entries = [_Entry(s, self.desired(s)) for s in steps if s.phase == phase]
            todo: list[_Entry] = []
            for entry in entries:
                if self.interrupted:
                    self.finish(entry, SKIPPED, "not started: interrupted")
                elif entry.step.after is not None and entry.step.after in failed_names:
                    self.finish(entry, SKIPPED, "not started: deleting the old preset did not succeed")
                else:
                    todo.append(entry)
            _Phase(self, todo).run()
            for entry in entries:
                assert entry.outcome is not None, f"{entry.step.name} was left without an outcome"
                result.outcomes.append(entry.outcome)
                if entry.outcome.status != DONE:
                    failed_names.add(entry.step.name)
        result.interrupted = self.interrupted
        return result

    def _send(self, step: Step) -> None:
        if step.action == CREATE:
            self.client.preset(step.body)
        elif step.action == UPDATE:
            self.client.update_preset(step.body)
        else:
            self.client.del_preset(preset=step.name)


class _Phase:
    """The steps of one phase, worked through by the applier's N workers, so that at most N
    requests are in flight. Steps are checked in batches (one GetPresetList of up to ``batch``
    names) shortly before they are written; writes that failed are read back the same way, in
    batches. A worker reads the next batch as soon as fewer than N checked steps wait, so the
    other workers keep writing meanwhile."""

    def __init__(self, applier: Applier, entries: Sequence[_Entry]):
        self.applier = applier
        self.unchecked = deque(entries)  # not yet read
        self.doubts: deque[_Entry] = deque()  # a write failed: to read back
        self.ready: deque[_Entry] = deque()  # read and as planned: to write (again)
        self.reading = False
        self.cond = threading.Condition()

    def run(self) -> None:
        workers = min(self.applier.parallelism, len(self.unchecked))
        if workers:
            with ThreadPoolExecutor(workers) as pool:
                futures = [pool.submit(self.work) for _ in range(workers)]
                while True:
                    try:
                        for future in futures:
                            future.result()
                        return
                    except KeyboardInterrupt:
                        if self.applier.interrupted:
                            raise  # a second Ctrl-C: stop waiting
                        self.applier.interrupt()  # the first: let the writes in flight end
                        with self.cond:
                            self.cond.notify_all()

    def work(self) -> None:
        applier = self.applier
        while True:
            job, entries = self.next_job()
            if job == "skip":
                why = "interrupted" if applier.interrupted else "an earlier change failed (--fail-fast)"
                for entry in entries:
                    applier.finish(entry, SKIPPED, f"not started: {why}")
            elif job == "read":
                self.read(entries)
            elif job == "write":
                if applier.write(entries[0]):
                    with self.cond:
                        self.doubts.append(entries[0])
                        self.cond.notify_all()
            else:
                return

    def next_job(self) -> tuple[_Job, list[_Entry]]:
        """What this worker does next: skip, read, write, or (nothing left for it) end."""
        with self.cond:
            while True:
                if self.applier.stopped:
                    # Fail-fast: what was never sent is skipped; writes in doubt are still settled.
                    fresh = [e for e in self.ready if e.writes == 0] + list(self.unchecked)
                    if fresh:
                        self.ready = deque(e for e in self.ready if e.writes)
                        self.unchecked.clear()
                        return "skip", fresh
                if (self.doubts or self.unchecked) and not self.reading and len(self.ready) < self.applier.parallelism:
                    self.reading = True
                    batch: list[_Entry] = []
                    while len(batch) < self.applier.batch and (self.doubts or self.unchecked):
                        batch.append((self.doubts or self.unchecked).popleft())
                    return "read", batch
                if self.ready:
                    return "write", [self.ready.popleft()]
                if not (self.reading or self.doubts or self.unchecked):
                    return "end", []  # writes still in flight are settled by their own workers
                self.cond.wait()

    def read(self, batch: list[_Entry]) -> None:
        applier = self.applier
        again: list[_Entry] = []  # as planned, to write (again)
        try:
            live = applier.read([e.step.name for e in batch])
        except ServiceError as exc:
            for entry in batch:
                applier.unread(entry, exc)
        else:
            for entry in batch:
                decide = applier.check if entry.writes == 0 else applier.settle
                if decide(entry, applier.normalized(live.get(entry.step.name))):
                    again.append(entry)
        finally:
            with self.cond:
                self.reading = False
                self.ready.extend(again)
                self.cond.notify_all()


@dataclass(frozen=True)
class ApplyOptions:
    """How a plan is applied: the config's policy and the command's flags."""

    safety: Safety | None = None  # None: no thresholds
    protect: Sequence[str] = ()
    force: bool = False
    parallelism: int = 4
    fail_fast: bool = False
    colour: bool = False


def apply_plan(
    plan: Plan,
    client: OfflineClient,
    live: Mapping[str, LivePreset],
    options: ApplyOptions,
    *,
    audit: AuditLog | None = None,
    write: Callable[[str], None] = print,
    confirm: Callable[[], bool] | None = None,
) -> ApplyResult:
    """Apply *plan*, fresh or saved, against *live* (the presets just read); the one apply path.

    1. What is left: changes already in the desired state are done (and said so); a change
       whose preset is in neither the planned nor the desired state refuses the whole plan
       (StalePlanError). Nothing left: nothing is sent.
    2. The plan left is shown, rendered from its own data: what is shown is what is sent.
    3. Safety and protection (UnsafePlanError) on what is left.
    4. *confirm* (None: approved); declined, nothing is sent.
    5. The steps, each reported through *write* as it ends, then the summary.
    """
    left, done = plan.remaining(live)
    if done:
        write(f"Already applied: {', '.join(done)}.")
        if not left.changes:
            write(f"Nothing left to do: the plan's {len(done)} change(s) are already applied.")
            return ApplyResult()
    write(render_text(left, colour=options.colour).rstrip("\n"))
    if not left.changes:
        return ApplyResult()
    left.raise_if_unsafe(options.safety, options.protect, options.force)
    if confirm is not None and not confirm():
        write("Apply cancelled; nothing was changed.")
        return ApplyResult()
    applier = Applier(
        client,
        parallelism=options.parallelism,
        fail_fast=options.fail_fast,
        extra_fields=plan.extra_fields,
        audit=audit,
        report=lambda outcome: write(format_outcome(outcome)),
    )
    result = applier.run(steps_for(left.changes))
    write(result.summary())
    return result
