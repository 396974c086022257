"""The sender threads of `tasks submit` (issue 12): tasks claimed N at a time, answers
recorded in batches, and no task left claimed when sending stops or is interrupted."""

from __future__ import annotations

import json
import random
import threading
from collections import Counter

from loopback import RawServer, answer
from test_client_retries import CREDS

from presetsync.api import OfflineClient
from presetsync.tasks.identity import task_identity
from presetsync.tasks.journal import Journal
from presetsync.tasks.manifest import TaskSpec
from presetsync.tasks.submit import Submitter

NO_TASKS = json.dumps({"taskInfo": [], "total": 0, "errNum": 0, "errMsg": "success"}).encode()
REFUSED = answer(403, json.dumps({"Error": {"Code": "SignatureDoesNotMatch", "Message": "refused"}}).encode())
PARALLELISM = 4


class Service:
    """Lists no task and gives the first *accepted* CreateTasks a task id each. Each later
    CreateTask is held until *held* of them are waiting, then they are all refused (403)."""

    def __init__(self, accepted: int = 10**6, held: int = PARALLELISM):
        self.accepted = accepted
        self.creates = 0
        self._lock = threading.Lock()
        self._held = threading.Barrier(held)
        self.server = RawServer(self._serve)

    def _serve(self, n, rfile, conn, server) -> None:
        while (request := server.read(n, rfile)) is not None:
            if request.header("X-Action") != "CreateTask":
                conn.sendall(answer(200, NO_TASKS))
                continue
            with self._lock:
                self.creates += 1
                number = self.creates
            if number > self.accepted:
                self._held.wait(60)
                conn.sendall(REFUSED)
            else:
                taskid = f"{number:08x}" + "0" * 32 + "20261202"
                conn.sendall(answer(200, json.dumps({"taskid": taskid, "errNum": 0}).encode()))


def specs(count: int) -> list[TaskSpec]:
    bodies = [
        {"preset": "p1", "srcInfo": [{"path": f"/in/{n}.mp4"}], "dstBucket": "b", "dstObjectKey": f"{n}.mp4"}
        for n in range(count)
    ]
    return [TaskSpec(task_identity(body), body, f"m.yaml:{n}") for n, body in enumerate(bodies)]


def submit(tmp_path, service: Service, tasks, **options):
    """Run a submission; the result, the journal's entries and each one's history events."""
    try:
        with Journal(tmp_path / "j.sqlite") as journal:
            client = OfflineClient(
                endpoint=service.server.url, credentials=CREDS, sleep=lambda s: None, rng=random.Random(1)
            )
            result = Submitter(client, journal, parallelism=PARALLELISM, grace=0, **options).run(tasks)
            entries = list(journal.scope_entries())
            histories = {entry.id: [event for _, event, _, _ in journal.history(entry.id)] for entry in entries}
    finally:
        service.server.close()
    return result, entries, histories


def test_every_task_is_sent_once_and_recorded(tmp_path):
    service = Service()
    result, entries, histories = submit(tmp_path, service, specs(61))
    assert result.ok and result.sent == 61 == service.creates
    assert Counter(entry.state for entry in entries) == {"submitted": 61}
    assert len({entry.taskid for entry in entries}) == 61
    assert all(history == ["planned", "sending", "submitted"] for history in histories.values())


def test_a_refusal_stops_sending_and_the_claimed_tasks_not_sent_are_planned_again(tmp_path):
    """Tasks are claimed 4 at a time, when none claimed is left: when the 7th to 10th
    CreateTasks are refused together, 12 tasks were claimed, so 2 were never sent."""
    service = Service(accepted=6)
    result, entries, histories = submit(tmp_path, service, specs(40))
    states = Counter(entry.state for entry in entries)
    assert result.stopped and "refused the credentials" in result.stopped
    assert service.creates == 10, "nothing sent after the refusal"
    assert states == {"submitted": 6, "failed": 4, "planned": 30}
    released = [entry for entry in entries if histories[entry.id] == ["planned", "sending", "not sent"]]
    assert len(released) == 2 and all(entry.attempts == 0 for entry in released), "claims undone"
    assert result.in_doubt == 0 and result.not_sent == 30


def test_an_interrupted_run_records_every_answer_it_had(tmp_path):
    """Ctrl-C while the manifest is read (here: its third chunk of 10): the 20 tasks sent are
    recorded, though too few to fill a batch and with a clock that never moves."""

    def interrupted():
        yield from specs(20)
        raise KeyboardInterrupt

    service = Service()
    result, entries, _ = submit(tmp_path, service, interrupted(), chunk=10, clock=lambda: 1_000_000.0)
    assert result.interrupted and service.creates == 20
    assert Counter(entry.state for entry in entries) == {"submitted": 20}
    assert result.in_doubt == 0 and result.sent == 20
