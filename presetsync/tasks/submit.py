"""Submitting a manifest's tasks: each exactly once, whatever happens to this process.

:class:`Submitter` works on the journal's scope (the manifest's tasks, see
:mod:`.journal`), in this order:

1. **settle** every task left in doubt by an earlier run (:mod:`.settle`), before anything
   is sent; if the service cannot be asked, stop: nothing is sent;
2. **send**, with N worker threads fed through a bounded queue (flat memory, at most N
   requests in flight), every scope task that is ``planned`` or ``failed``. Each worker
   commits ``sending`` to the journal, sends the CreateTask, then records the answer:

   * a task id: ``submitted``;
   * an error answer (HTTP 4xx, ``errNum`` != 0): ``failed`` - nothing was created;
   * OutcomeUnknown, an HTTP 5xx, an answer without a task id: left in doubt;
   * ServiceUnreachable (nothing reached the service) or an authentication refusal: the
     task goes back to ``planned`` and the whole run stops sending;
3. **settle** the tasks this run left in doubt, and send those not found again (step 2), up
   to ``max_rounds`` times.

``retry`` first turns submitted tasks whose status is ``fail`` back into ``failed`` (see
:func:`presetsync.tasks.status.reopen_failed`), then runs the same steps.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Callable

from ..api.client import OfflineClient
from ..errors import ApiError, OutcomeUnknown, ServiceError, ServiceUnreachable
from .journal import FAILED, PLANNED, SENDING, SUBMITTED, Entry, Journal
from .progress import Progress
from .settle import DEFAULT_GRACE, Settlement, settle

MAX_ROUNDS = 10
SHOWN_FAILURES = 20


@dataclass
class SubmitResult:
    """What a submission did; :attr:`ok` when every scope task is submitted."""

    total: int = 0
    sent: int = 0  # submitted by this run
    already: int = 0  # submitted before this run (found by a settlement included)
    found_earlier: int = 0  # of those: in doubt from an earlier run, found in the service
    resent_earlier: int = 0  # in doubt from an earlier run, not found: sent again
    failed: int = 0
    failures: list[Entry] = field(default_factory=list)  # the first few failed tasks
    in_doubt: int = 0
    not_sent: int = 0
    stopped: str | None = None
    duplicates: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.failed or self.in_doubt or self.not_sent)

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
        for entry in self.failures:
            lines.append(f"  failed: {entry.source} {entry.short_id}: {entry.error}")
        if self.failed > len(self.failures):
            lines.append(f"  ... and {self.failed - len(self.failures)} more ('presetsync tasks status MANIFEST')")
        if self.in_doubt:
            lines.append(
                f"{self.in_doubt} task(s) are in doubt (the service could not confirm them): run the same "
                "command again to settle them; nothing will be sent twice."
            )
        if self.not_sent:
            lines.append(f"{self.not_sent} task(s) were not sent: run the same command again.")
        if self.stopped:
            lines.append(f"Stopped sending: {self.stopped}")
        for task_id, taskid in self.duplicates:
            lines.append(f"warning: task {task_id[:12]} exists twice in the service: {taskid} is an extra copy")
        return lines


class Submitter:
    """Sends the scope's unsubmitted tasks (see the module doc). One per journal at a time."""

    def __init__(
        self,
        client: OfflineClient,
        journal: Journal,
        *,
        parallelism: int = 4,
        grace: float = DEFAULT_GRACE,
        max_rounds: int = MAX_ROUNDS,
        progress: Progress | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.client = client
        self.journal = journal
        self.parallelism = max(1, parallelism)
        self.grace = grace
        self.max_rounds = max_rounds
        self.progress = progress or Progress(journal.scope_size(), enabled=False)
        self.clock = clock
        self.sleep = sleep
        self._stop: str | None = None
        self._stop_lock = threading.Lock()
        self._sent = 0

    def run(self) -> SubmitResult:
        result = SubmitResult(total=self.journal.scope_size())
        before = self.journal.scope_states()
        result.already = before.get(SUBMITTED, 0)
        self.progress.add("already", result.already)

        earlier = self._settle(self.journal.in_doubt(), earlier=True)
        result.found_earlier, result.resent_earlier = len(earlier.found), len(earlier.not_found)
        found_here = self._in_scope(earlier.found)
        result.already += found_here
        self.progress.add("already", found_here)
        result.duplicates += earlier.duplicates

        states = (PLANNED, FAILED)
        for _ in range(self.max_rounds):
            if self._stop:
                break
            self._send_all(self.journal.scope_entries(states))
            doubts = self.journal.in_doubt()
            if not doubts or self._stop:
                break
            settled = self._settle(doubts, earlier=False)
            result.duplicates += settled.duplicates
            if not settled.not_found:
                break
            states = (PLANNED,)  # a failure is final within a run
        result.sent = self._sent
        self._finish(result)
        return result

    # -- settlement -------------------------------------------------------------------------

    def _in_scope(self, ids: Iterable[str]) -> int:
        ids = set(ids)
        if not ids:
            return 0
        return sum(1 for entry in self.journal.scope_entries([SUBMITTED]) if entry.id in ids)

    def _settle(self, entries: list[Entry], *, earlier: bool) -> Settlement:
        if not entries:
            return Settlement()
        when = "left in doubt by an earlier run" if earlier else "in doubt"
        self.progress.note(f"settling {len(entries)} task(s) {when} through GetTaskList")
        try:
            settled = settle(self.client, self.journal, entries, grace=self.grace, clock=self.clock, sleep=self.sleep)
        except ServiceError as exc:
            self._stopping(f"cannot settle the tasks in doubt, so nothing more is sent ({exc})")
            return Settlement()
        if not earlier:
            self._sent += len(settled.found)
            self.progress.resolve(len(settled.found), len(settled.not_found))
        self.progress.note(
            f"settled: {len(settled.found)} found in the service, {len(settled.not_found)} not found "
            f"(to be sent), {len(settled.undecided)} undecided"
        )
        return settled

    # -- sending ----------------------------------------------------------------------------

    def _stopping(self, reason: str) -> None:
        with self._stop_lock:
            if self._stop is None:
                self._stop = reason
                self.progress.note(f"stopping: {reason}")

    def _send_all(self, entries: Iterable[Entry]) -> None:
        """Feed *entries* to the workers through a bounded queue; return when all are done."""
        work: queue.Queue[Entry | None] = queue.Queue(maxsize=2 * self.parallelism)
        workers = [
            threading.Thread(target=self._work, args=(work,), name=f"presetsync-submit-{n}", daemon=True)
            for n in range(self.parallelism)
        ]
        for worker in workers:
            worker.start()
        try:
            for entry in entries:
                if self._stop:
                    break
                work.put(entry)
        except BaseException:
            self._stopping("interrupted")
            raise
        finally:
            for _ in workers:
                work.put(None)
            for worker in workers:
                worker.join()

    def _work(self, work: queue.Queue[Entry | None]) -> None:
        while True:
            entry = work.get()
            if entry is None:
                return
            if not self._stop:
                self._send(entry)

    def _send(self, entry: Entry) -> None:
        journal, now = self.journal, self.clock
        journal.mark_sending(entry.id, now())
        try:
            answer = self.client.create_task(entry.body)
        except OutcomeUnknown as exc:
            journal.mark_doubt(entry.id, str(exc), now())
            self.progress.add("doubt")
            return
        except ServiceUnreachable as exc:
            journal.mark_unsent(entry.id, str(exc), now())
            self._stopping(f"the service cannot be reached ({exc})")
            return
        except ApiError as exc:
            if exc.status >= 500:
                journal.mark_doubt(entry.id, str(exc), now())
                self.progress.add("doubt")
                return
            journal.mark_failed(entry.id, str(exc), now())
            self.progress.add("failed")
            if exc.status in (401, 403):
                self._stopping(f"the service refused the credentials ({exc})")
            return
        except Exception as exc:  # a bug after sending: the outcome is unknown, settle it
            journal.mark_doubt(entry.id, f"{type(exc).__name__}: {exc}", now())
            self.progress.add("doubt")
            return
        taskid = answer.get("taskid") if isinstance(answer, dict) else None
        if not isinstance(taskid, str) or not taskid:
            journal.mark_doubt(entry.id, "CreateTask answered without a taskid", now())
            self.progress.add("doubt")
            return
        journal.mark_submitted(entry.id, taskid, now())
        with self._stop_lock:
            self._sent += 1
        self.progress.add("submitted")

    def _finish(self, result: SubmitResult) -> None:
        states = self.journal.scope_states()
        result.in_doubt = states.get(SENDING, 0)
        result.not_sent = states.get(PLANNED, 0) + states.get("new", 0)
        result.failed = states.get(FAILED, 0)
        if result.failed:
            failures = self.journal.scope_entries([FAILED], batch=SHOWN_FAILURES)
            result.failures = [entry for _, entry in zip(range(SHOWN_FAILURES), failures)]
        result.stopped = self._stop
        self.progress.finish()
