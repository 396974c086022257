"""The threads that claim, send and record CreateTasks for :class:`.submit.Submitter`.

The main thread hands the senders the tasks to send as an iterator (:meth:`Senders.feed`,
a page of the journal's scope at a time); the senders take from it themselves, so that no
queue hands tasks over one by one. Whichever sender finds no claimed task left claims the
next N (N senders) in one journal transaction, committed before any of them is sent, then
each sender takes one, sends it and notes the answer:

* a task id: ``submitted``; an error answer (HTTP 4xx, ``errNum`` != 0): ``failed``;
* OutcomeUnknown, an HTTP 5xx, an answer without a task id, a bug: in doubt (the task stays
  ``sending``, to be settled through GetTaskList);
* ServiceUnreachable (nothing reached the service), 401 or 403: the run stops; a task that
  was not sent goes back to ``planned``, and so do the claimed tasks nobody sent yet.

Answers are recorded :data:`RECORD_BATCH` to a transaction, or fewer once the oldest waited
:data:`RECORD_DELAY` seconds: a fraction of a commit per task instead of two. A crash loses
at most those answers: their tasks stay ``sending``, and the next run settles them through
GetTaskList before it sends anything, like any task in doubt. Senders never see Ctrl-C
(only the main thread does), so a claim is never left half done.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Iterator
from operator import attrgetter
from typing import Callable, NamedTuple

from ..api.client import OfflineClient
from ..api.results import UnexpectedAnswer
from ..errors import ApiError, OutcomeUnknown, ServiceUnreachable
from .journal import FAILED, SUBMITTED, Entry, Journal
from .progress import Progress

RECORD_BATCH = 32  # answers recorded in one journal transaction...
RECORD_DELAY = 0.25  # ... or fewer, once the oldest waited this long (seconds)
UNSENT, DOUBT = "unsent", "doubt"


class _Answer(NamedTuple):
    """What became of one task: *state* ``submitted`` (*detail*: the task id), ``failed``,
    ``doubt`` or ``unsent`` (*detail*: why), at *at*."""

    state: str
    task_id: str
    detail: str
    at: float


class Senders:
    """*parallelism* sender threads (see the module doc): :meth:`start`, then :meth:`feed`
    and :meth:`drain` as often as needed, :meth:`close` at the end. ``stop_reason`` says why
    the run stopped sending (None: it did not); ``sent`` counts the tasks submitted."""

    def __init__(
        self,
        client: OfflineClient,
        journal: Journal,
        *,
        parallelism: int,
        progress: Progress,
        clock: Callable[[], float],
    ):
        self.client = client
        self.journal = journal
        self.parallelism = max(1, parallelism)
        self.progress = progress
        self.clock = clock
        self.stop_reason: str | None = None
        self.sent = 0
        self._threads: list[threading.Thread] = []
        # Shared under _lock: the tasks to claim, those claimed and not taken yet, how many
        # are being sent, whether the threads are to end, the first failure of a thread.
        self._lock = threading.Condition()
        self._source: Iterator[Entry] | None = None
        self._claimed: deque[Entry] = deque()
        self._busy = 0
        self._closing = False
        self._error: BaseException | None = None
        self._answers: list[_Answer] = []  # noted, not recorded yet
        self._answers_lock = threading.Lock()

    @property
    def stopped(self) -> bool:
        return self.stop_reason is not None

    def stop(self, reason: str) -> None:
        """Stop sending (the first reason is kept); what is in flight is still recorded."""
        with self._lock:
            if self.stop_reason is not None:
                return
            self.stop_reason = reason
            self._lock.notify_all()
        self.progress.note(f"stopping: {reason}")

    # -- the main thread's side -------------------------------------------------------------

    def start(self) -> None:
        for n in range(self.parallelism):
            thread = threading.Thread(target=self._run, name=f"presetsync-submit-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def feed(self, entries: Iterator[Entry]) -> None:
        """Have *entries* claimed and sent; return once all are claimed (or sending stopped),
        while the last ones are still being sent."""
        with self._lock:
            self._source = entries
            self._lock.notify_all()
            while self._source is not None and self._error is None:
                self._lock.wait()
        self._reraise()

    def drain(self) -> None:
        """Wait until every task fed was sent (or released), and record the answers."""
        with self._lock:
            while (self._source is not None or self._claimed or self._busy) and self._error is None:
                self._lock.wait()
        self._reraise()
        self.flush()

    def close(self) -> None:
        """End the threads once what they are sending is answered; record every answer."""
        with self._lock:
            self._closing = True
            self._lock.notify_all()
        for thread in self._threads:
            thread.join()
        self.flush()

    def _reraise(self) -> None:
        """A sender's failure (the journal's, most likely) raised in the main thread."""
        if self._error is not None:
            raise self._error

    # -- the senders' side -------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            entry = self._next()
            if entry is None:
                return
            try:
                self._send(entry)
            except BaseException as exc:  # the main thread raises it
                self._failed(exc)
            finally:
                with self._lock:
                    self._busy -= 1
                    if not self._busy:
                        self._lock.notify_all()  # drain() may be waiting for this

    def _next(self) -> Entry | None:
        """The next claimed task to send, claiming the next few when none is left; None when
        the threads are to end. Claimed tasks are released when sending stops."""
        with self._lock:
            while True:
                if self.stop_reason is not None:
                    self._release()
                if self._claimed:
                    self._busy += 1
                    return self._claimed.popleft()
                if self._source is not None:
                    try:
                        self._claim(list(itertools.islice(self._source, self.parallelism)))
                    except BaseException as exc:
                        self._failed(exc)
                    continue
                if self._closing:
                    return None
                self._lock.wait()

    def _release(self) -> None:
        """Sending stopped (lock held): the claimed tasks go back to planned, the source ends."""
        for entry in self._claimed:
            self._note(UNSENT, entry, f"not sent: {self.stop_reason}")
        self._claimed.clear()
        self._end_source()

    def _end_source(self) -> None:
        if self._source is not None:
            self._source = None
            self._lock.notify_all()  # feed() and drain() may be waiting for this

    def _claim(self, entries: list[Entry]) -> None:
        """Claim *entries* in one transaction (lock held); none left ends the source."""
        if not entries:
            self._end_source()
            return
        claimed = self.journal.claim_many([entry.id for entry in entries], self.clock())
        self._claimed.extend(entry for entry in entries if entry.id in claimed)  # in manifest order

    def _failed(self, exc: BaseException) -> None:
        with self._lock:
            if self._error is None:
                self._error = exc
            self._lock.notify_all()
        self.stop(f"{type(exc).__name__}: {exc}")

    def _send(self, entry: Entry) -> None:
        try:
            taskid = self.client.create_task(entry.body)
        except (OutcomeUnknown, UnexpectedAnswer) as exc:  # sent, but no task id known
            self._note(DOUBT, entry, str(exc))
        except ServiceUnreachable as exc:
            self._note(UNSENT, entry, str(exc))
            self.stop(f"the service cannot be reached ({exc})")
        except ApiError as exc:
            self._note(DOUBT if exc.status >= 500 else FAILED, entry, str(exc))
            if exc.status in (401, 403):
                self.stop(f"the service refused the credentials ({exc})")
        except Exception as exc:  # a bug after sending: the outcome is unknown, settle it
            self._note(DOUBT, entry, f"{type(exc).__name__}: {exc}")
        else:
            self._note(SUBMITTED, entry, taskid)

    # -- recording the answers ---------------------------------------------------------------

    def _note(self, state: str, entry: Entry, detail: str) -> None:
        """Count an answer; record those noted so far when there are enough of them, or the
        oldest waited long enough."""
        now = self.clock()
        if state != UNSENT:
            self.progress.add(state)
        with self._answers_lock:
            if state == SUBMITTED:
                self.sent += 1
            self._answers.append(_Answer(state, entry.id, detail, now))
            if len(self._answers) < RECORD_BATCH and now - self._answers[0].at < RECORD_DELAY:
                return
            answers, self._answers = self._answers, []
        self._record(answers)

    def flush(self) -> None:
        """Record every answer noted so far."""
        with self._answers_lock:
            answers, self._answers = self._answers, []
        self._record(answers)

    def _record(self, answers: list[_Answer]) -> None:
        if not answers:
            return
        journal = self.journal
        marks = {
            FAILED: journal.mark_failed,
            DOUBT: journal.mark_doubt,
            UNSENT: journal.mark_unsent,
        }
        ordered = sorted(answers, key=attrgetter("task_id"))  # rows in one order (see Journal.claim_many)
        with journal.db.transaction():  # one commit for them all
            for state, run in itertools.groupby(ordered, key=attrgetter("state")):
                if state == SUBMITTED:  # nearly always all of them: a few statements for the lot
                    journal.record_submitted_many([(answer.task_id, answer.detail, answer.at) for answer in run])
                    continue
                for answer in run:
                    marks[state](answer.task_id, answer.detail, answer.at)
