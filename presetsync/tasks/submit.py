"""Submitting a manifest's tasks: each exactly once, whatever happens to this process.

:class:`Submitter` works on the journal's scope (the manifest's tasks, see
:mod:`.journal`), in this order:

1. **reconcile** every scope task not known to exist (missing from the journal, planned,
   failed, in doubt) with the service's task list (:mod:`.reconcile`), before anything is
   sent: a task that exists is not sent again, whatever the journal said; if the service
   cannot be asked, stop: nothing is sent;
2. **send**, with N sender threads (at most N requests in flight, flat memory; see
   :mod:`.senders`), every scope task that is ``planned`` or ``failed``. Each task is
   *claimed* (:meth:`.Journal.claim`, committed before the CreateTask is sent; a task
   another submitter of a shared journal claimed first is skipped), sent, and its answer
   recorded:

   * a task id: ``submitted``;
   * an error answer (HTTP 4xx, ``errNum`` != 0): ``failed`` - nothing was created;
   * OutcomeUnknown, an HTTP 5xx, an answer without a task id: left in doubt;
   * ServiceUnreachable (nothing reached the service) or an authentication refusal: the
     task goes back to ``planned`` and the whole run stops sending;
3. **reconcile** again when this run left tasks in doubt, and send those not found again
   (step 2), up to ``max_rounds`` times.

``retry`` first turns submitted tasks whose status is ``fail`` back into ``failed`` (see
:func:`presetsync.tasks.status.reopen_failed`), then runs the same steps.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Callable

from ..api.client import OfflineClient
from ..errors import ServiceError
from .journal import FAILED, PLANNED, SENDING, SUBMITTED, Entry, Journal
from .manifest import TaskSpec
from .progress import Progress
from .reconcile import DEFAULT_GRACE, DEFAULT_LOOKBACK_DAYS, Reconciliation, read_service, settle, wait_grace
from .senders import Senders

MAX_ROUNDS = 10
SHOWN_FAILURES = 20
CHUNK = 2000  # tasks read from the manifest, reconciled and handed to the senders at a time


@dataclass
class SubmitResult:
    """What a submission did; :attr:`ok` when every scope task is submitted, once."""

    total: int = 0
    sent: int = 0  # submitted by this run
    already: int = 0  # known to exist before this run sent anything (found in the service included)
    found: int = 0  # of those: not known to the journal, found in the service
    found_earlier: int = 0  # in doubt from an earlier run, found in the service
    resent_earlier: int = 0  # in doubt from an earlier run, not found: sent again
    by_others: int = 0  # submitted meanwhile by another submitter of a shared journal
    elsewhere: int = 0  # being sent right now by another submitter of a shared journal
    failed: int = 0
    failures: list[Entry] = field(default_factory=list)  # the first few failed tasks
    in_doubt: int = 0
    not_sent: int = 0
    stopped: str | None = None
    duplicates: list[tuple[str, str]] = field(default_factory=list)
    duplicate_count: int = 0
    interrupted: bool = False  # Ctrl-C: what was in flight was recorded, nothing more was sent
    overwrites: int = 0  # tasks refused: they would write outputs of other submitted tasks
    overwrite_examples: list[tuple[Entry, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.failed or self.in_doubt or self.not_sent or self.duplicate_count or self.overwrites)

    def summary(self) -> list[str]:
        lines = [
            f"Submitted {self.sent} task{'s' if self.sent != 1 else ''}; "
            f"{self.already} already submitted; {self.failed} failed "
            f"({self.total} in the manifest)."
        ]
        if self.found_earlier or self.resent_earlier:
            lines.append(
                f"Settled {self.found_earlier + self.resent_earlier} task(s) left in doubt by an earlier run: "
                f"{self.found_earlier} found in the service, {self.resent_earlier} not found and sent again."
            )
        if self.found:
            lines.append(
                f"Found {self.found} task(s) in the service that the journal did not know as submitted: not sent again."
            )
        if self.by_others:
            lines.append(f"{self.by_others} task(s) were submitted meanwhile by other submitters of the journal.")
        if self.elsewhere:
            lines.append(
                f"{self.elsewhere} task(s) are being sent by other submitters of the journal right now "
                "('presetsync tasks wait MANIFEST' follows them)."
            )
        for entry in self.failures:
            lines.append(f"  failed: {entry.source} {entry.short_id}: {entry.error}")
        if self.failed > len(self.failures):
            lines.append(f"  ... and {self.failed - len(self.failures)} more ('presetsync tasks status MANIFEST')")
        if self.in_doubt:
            lines.append(
                f"{self.in_doubt} task(s) are in doubt (the service could not confirm them): run the same "
                "command again to settle them; nothing will be sent twice."
            )
        if self.interrupted:
            started = self.sent + self.already + self.failed + self.in_doubt + self.elsewhere
            lines.append(
                f"Interrupted: {self.sent + self.already} submitted, {self.in_doubt} in doubt, "
                f"{self.failed} failed, {self.total - started} not started. Run the same command again to "
                "resume: tasks in doubt are settled first, and nothing is sent twice."
            )
        elif self.not_sent:
            lines.append(f"{self.not_sent} task(s) were not sent: run the same command again.")
        if self.stopped and not self.interrupted:
            lines.append(f"Stopped sending: {self.stopped}")
        for task_id, taskid in self.duplicates:
            lines.append(f"error: task {task_id[:12]} exists twice in the service: {taskid} is an extra copy")
        if self.duplicate_count > len(self.duplicates):
            lines.append(f"error: ... and {self.duplicate_count - len(self.duplicates)} more tasks exist twice")
        if self.duplicate_count:
            lines.append(
                "Tasks that exist twice will be transcoded twice: delete the extra copies "
                "('presetsync tasks delete TASKID'), then run the same command again."
            )
        return lines


class Submitter:
    """Sends the scope's unsubmitted tasks (see the module doc)."""

    def __init__(
        self,
        client: OfflineClient,
        journal: Journal,
        *,
        parallelism: int = 4,
        grace: float = DEFAULT_GRACE,
        lookback_days: float = DEFAULT_LOOKBACK_DAYS,
        allow_overwrite: bool = False,
        max_rounds: int = MAX_ROUNDS,
        chunk: int = CHUNK,
        progress: Progress | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.client = client
        self.journal = journal
        self.parallelism = max(1, parallelism)
        self.grace = grace
        self.lookback_days = lookback_days
        self.allow_overwrite = allow_overwrite
        self.max_rounds = max_rounds
        self.chunk = chunk
        self.progress = progress or Progress(journal.scope_size(), enabled=False)
        self.clock = clock
        self.sleep = sleep
        self._settled = 0  # tasks in doubt of this run found in the service
        self._listed: int | None = None  # service tasks read (None: not read yet)
        self.senders = self._new_senders()

    def _new_senders(self) -> Senders:
        return Senders(
            self.client, self.journal, parallelism=self.parallelism, progress=self.progress, clock=self.clock
        )

    def run(self, tasks: Iterable[TaskSpec] | None = None) -> SubmitResult:
        """Submit the scope's tasks; with *tasks* (a stream), add them to the scope first, a
        chunk (:data:`CHUNK` tasks) at a time, each chunk reconciled and handed to the senders
        before the next is read: sending starts at once and memory stays flat."""
        result = SubmitResult()
        self._settled = 0
        senders = self.senders = self._new_senders()  # (a run's threads end with it)
        senders.start()
        try:
            if tasks is None:
                self._chunk(result, 0)
            else:
                chunks = iter(tasks)
                while not senders.stopped:
                    chunk = list(itertools.islice(chunks, self.chunk))
                    if not chunk:
                        break
                    after = self.journal.scope_size()
                    self.journal.add_scope(chunk, persist=True)
                    self._chunk(result, after)
            senders.drain()
            self._rounds(result)
        except KeyboardInterrupt:  # finish what is in flight, record it, and say where things stand
            senders.stop("interrupted")
            result.interrupted = True
        except BaseException:
            senders.stop("interrupted")
            raise
        finally:
            senders.close()
        result.total = max(self.journal.scope_size(), self.progress.total)
        result.sent = senders.sent + self._settled
        self._finish(result)
        return result

    def _chunk(self, result: SubmitResult, after: int) -> None:
        """Reconcile the scope's tasks after position *after*, check their outputs, and have
        those to send sent."""
        journal = self.journal
        result.already += journal.scope_states(after).get(SUBMITTED, 0)
        if journal.scope_needs_reconciling(after):
            done = self._reconcile(after=after, earlier=True)
            if done is None:
                return
            result.found_earlier += len(done.doubts_found)
            result.resent_earlier += len(done.doubts_not_found)
            result.found += done.found - len(done.doubts_found)
            result.already += done.found
            result.duplicates += done.duplicates[: SHOWN_FAILURES - len(result.duplicates)]
            result.duplicate_count += done.duplicate_count
        self.progress.add("already", journal.scope_states(after).get(SUBMITTED, 0))
        if not self.allow_overwrite:
            count, examples = journal.overwrites(after=after)
            if count:
                result.overwrites = count
                result.overwrite_examples = examples
                self.senders.stop(f"{count} task(s) would write outputs that other submitted tasks wrote")
                return
        self.senders.feed(journal.scope_entries((PLANNED, FAILED), after=after))

    def _rounds(self, result: SubmitResult) -> None:
        """Settle the tasks this run left in doubt and send those not found again."""
        for _ in range(self.max_rounds):
            if self.senders.stopped or not self.journal.in_doubt():
                return
            done = self._reconcile(after=0, earlier=False)
            if done is None or not done.doubts_not_found:
                return
            self.senders.feed(self.journal.scope_entries([PLANNED]))  # a failure is final within a run
            self.senders.drain()

    # -- reconciliation -----------------------------------------------------------------------

    def _reconcile(self, *, after: int, earlier: bool) -> Reconciliation | None:
        """Reconcile scope tasks after *after* with the service (read once for the chunks of
        a run, again for each round that settles doubts); None when the service could not
        be asked (then the run stops sending)."""
        doubts = self.journal.in_doubt(after)
        if doubts:
            when = "left in doubt by an earlier run" if earlier else "in doubt"
            self.progress.note(f"settling {len(doubts)} task(s) {when} through GetTaskList")
        try:
            if self._listed is None or not earlier:
                wait_grace(self.journal, self.grace, self.clock, self.sleep)
                if earlier:
                    self.progress.note("reading the service's task list (GetTaskList) before sending")
                self._listed = read_service(
                    self.client, self.journal, lookback_days=self.lookback_days, clock=self.clock
                )
            done = settle(self.journal, after=after, clock=self.clock)
        except ServiceError as exc:
            self.senders.stop(f"cannot read the service's task list, so nothing more is sent ({exc})")
            return None
        if not earlier:
            self._settled += len(done.doubts_found)
            self.progress.resolve(len(done.doubts_found), len(done.doubts_not_found))
        if done.found or doubts:
            self.progress.note(
                f"{done.found} task(s) found among {self._listed} in the service"
                + (f" ({len(done.doubts_found)} of {len(doubts)} in doubt)" if doubts else "")
            )
        return done

    def _finish(self, result: SubmitResult) -> None:
        states = self.journal.scope_states()
        result.by_others = max(0, states.get(SUBMITTED, 0) - result.already - result.sent)
        result.already += result.by_others
        result.in_doubt = len(self.journal.in_doubt()) if states.get(SENDING) else 0
        result.elsewhere = states.get(SENDING, 0) - result.in_doubt
        result.not_sent = states.get(PLANNED, 0) + states.get("new", 0)
        result.failed = states.get(FAILED, 0)
        if result.failed:
            failures = self.journal.scope_entries([FAILED], batch=SHOWN_FAILURES)
            result.failures = [entry for _, entry in zip(range(SHOWN_FAILURES), failures)]
        result.stopped = self.senders.stop_reason
        self.progress.finish()
