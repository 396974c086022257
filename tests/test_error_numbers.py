"""No reliance on invented error numbers (issue 10, point 4).

The real service's errNum values are not documented, so the local service can be told to
answer its application errors with other numbers, and every test here runs under three
readings: the local service's own numbers, "not found" and "no meta" swapped, and one number
for every error. ``tasks status/wait/show/top/delete/meta`` conclude "deleted", "does not
exist" or "no meta information yet" only when GetTaskList confirms it; an error about a
task the list shows is reported as the error it is.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
import requests
from conftest import no_sleep
from scripted import Reply, ScriptedServer
from test_tasks_cli import create_presets, make_project, service_tasks, write_manifest

from presetsync.api import client as client_module
from presetsync.api.client import OfflineClient
from presetsync.api.credentials import Credentials
from presetsync.errors import ApiError
from presetsync.local.faults import Faults
from presetsync.local.protocol import ERROR_NAMES
from presetsync.tasks import status

READINGS = {
    "local-numbers": None,
    "swapped": {"task_not_found": 1005, "no_meta_info": 1004, "preset_not_found": 1004},
    "one-number": {name: 40001 for name in ERROR_NAMES},
}


@pytest.fixture(params=list(READINGS))
def reading(request):
    return READINGS[request.param]


class NoSleepClient(OfflineClient):
    def __init__(self, *args, **options):
        options.setdefault("sleep", no_sleep)
        super().__init__(*args, **options)


@pytest.fixture(autouse=True)
def no_retry_sleep(monkeypatch):
    """The command line's clients retry at once (their backoff is not what is tested here)."""
    monkeypatch.setattr(client_module, "OfflineClient", NoSleepClient)  # the Context imports it when it opens one


def start_project(service_factory, tmp_path, monkeypatch, capsys, reading, **options):
    service = service_factory(error_numbers=reading, **options)
    create_presets(service)
    return make_project(service, tmp_path, monkeypatch, capsys)


@pytest.fixture
def project(service_factory, tmp_path, monkeypatch, capsys, reading):
    return start_project(service_factory, tmp_path, monkeypatch, capsys, reading)


def absent_taskid() -> str:
    """A well-formed id of a task that does not exist, created (it says) today."""
    return "0" * 32 + datetime.now(timezone.utc).strftime("%Y%m%d")


def test_the_local_service_answers_with_the_numbers_it_is_given(project, reading):
    numbers = {**ERROR_NAMES, **(reading or {})}
    with pytest.raises(ApiError) as missing_task:
        project.client.get_task_by_task_id(taskid=absent_taskid())
    with pytest.raises(ApiError) as missing_preset:
        project.client.get_preset_detail(preset="nope")
    with pytest.raises(ApiError) as invalid:
        project.client.get_task_list(limit=500)
    assert (missing_task.value.err_num, missing_preset.value.err_num, invalid.value.err_num) == (
        numbers["task_not_found"],
        numbers["preset_not_found"],
        numbers["invalid_parameter"],
    )
    assert "does not exist" in missing_task.value.err_msg, "only the number changes"


def test_bad_error_numbers_are_refused():
    from presetsync.local.server import LocalService

    with pytest.raises(ValueError, match="unknown error name 'task_missing'"):
        LocalService("unused.sqlite", error_numbers={"task_missing": 7})
    with pytest.raises(ValueError, match="non-zero integer"):
        LocalService("unused.sqlite", error_numbers={"task_not_found": 0})


def test_wait_and_status_report_a_deleted_task_as_deleted(project):
    write_manifest(project.root / "m.yaml", 2)
    assert project.run("tasks", "submit", "m.yaml")[0] == 0
    deleted = service_tasks(project.client)[0]["taskid"]
    project.client.del_task_by_task_id(taskid=deleted)

    code, out, err = project.run("tasks", "wait", "m.yaml")
    assert code == 4, err
    assert out.splitlines()[0] == "4 tasks: 3 succ, 1 deleted"
    assert deleted in out and "GetTaskList does not list it" in out
    code, out, _ = project.run("tasks", "status", "m.yaml", "--format", "json")
    assert json.loads(out)["summary"] == {"deleted": 1, "succ": 3}


def test_many_tasks_a_deleted_one_is_confirmed_by_the_pass_already_made(project, monkeypatch):
    monkeypatch.setattr(status, "FEW", 3)  # more than FEW: one GetTaskList pass first
    write_manifest(project.root / "m.yaml", 3)
    assert project.run("tasks", "submit", "m.yaml")[0] == 0
    deleted = service_tasks(project.client)[-1]["taskid"]
    project.client.del_task_by_task_id(taskid=deleted)
    project.service.stats.reset()

    code, out, _ = project.run("tasks", "status", "m.yaml")
    assert code == 0 and out.splitlines()[-1] == "6 tasks: 5 succ, 1 deleted"
    assert project.service.stats.by_action() == {"GetTaskList": 1, "GetTaskByTaskID": 1}


def test_show_top_and_delete_of_a_task_that_does_not_exist(project):
    write_manifest(project.root / "m.yaml", 1)
    assert project.run("tasks", "submit", "m.yaml")[0] == 0
    kept, gone = (t["taskid"] for t in service_tasks(project.client))
    assert project.run("tasks", "delete", gone) == (0, f"{gone}: deleted\n", "")

    for command in ("show", "top", "delete", "status"):
        code, out, err = project.run("tasks", command, gone)
        assert code == 4, (command, out)
        assert f"task {gone} does not exist: GetTaskList does not list it" in err, (command, err)
    assert project.run("tasks", "top", kept)[0] == 0
    assert project.run("tasks", "show", kept)[0] == 0


def test_a_delete_whose_answer_was_lost_is_done_when_the_list_confirms_it(project):
    write_manifest(project.root / "m.yaml", 1)
    assert project.run("tasks", "submit", "m.yaml")[0] == 0
    taskid = service_tasks(project.client)[0]["taskid"]
    # seed 82: the first request is processed and its answer lost, the next ones get through
    project.service.set_faults(Faults(drop_rate=0.3, seed=82))

    assert project.run("tasks", "delete", taskid) == (0, f"{taskid}: deleted\n", "")
    assert project.service.fault_counts == {"drop_after": 1}
    assert project.service.stats.count("DelTaskByTaskID") == 2
    project.service.set_faults(Faults())
    assert taskid not in {t["taskid"] for t in service_tasks(project.client)}


def test_meta_says_why_a_task_has_no_meta_information(service_factory, tmp_path, monkeypatch, capsys, reading):
    project = start_project(service_factory, tmp_path, monkeypatch, capsys, reading, task_durations=(3600, 0))
    running = project.client.create_task(
        {"preset": "web_720p", "srcInfo": [{"path": "/b/a.mp4"}], "dstBucket": "b", "dstObjectKey": "a.mp4"}
    )

    code, _, err = project.run("tasks", "meta", running)
    assert code == 4
    assert f"task {running} has no meta information yet: its status is init" in err

    code, _, err = project.run("tasks", "meta", absent_taskid())
    assert code == 4 and f"task {absent_taskid()} does not exist: GetTaskList does not list it" in err


def test_meta_of_a_failed_task_says_it_failed(project):
    failed = project.client.create_task(
        {"preset": "missing_preset", "srcInfo": [{"path": "/b/a.mp4"}], "dstBucket": "b", "dstObjectKey": "a.mp4"}
    )
    code, _, err = project.run("tasks", "meta", failed)
    assert code == 4
    assert f"task {failed} failed (errorCode 3001: preset missing_preset does not exist)" in err


def test_apply_and_plan_converge_whatever_the_numbers(project):
    (project.root / "presets").mkdir()
    (project.root / "presets" / "p.yaml").write_text(
        "presets:\n  - {preset: web_720p, presettype: avop, param: {f: flv}}\n"
        "  - {preset: new_one, presettype: avop, param: {f: mp4}}\n"
    )
    with (project.root / "presetsync.yaml").open("a") as config:
        config.write("manage: ['*']\n")
    code, out, err = project.run("apply", "--auto-approve", "--prune")
    assert code == 0, out + err
    assert project.run("plan", "--prune", "--detailed-exitcode")[0] == 0
    live = project.client.get_preset_list(withDetail=0)
    assert {p["preset"] for p in live} == {"new_one", "web_720p"}


# --------------------------------------------------------------------------------------------
# An error about a task the list shows is not "not found"

TASKID = "4c8db1abd488c49a4dafe51cabedd79a20161107"
LISTED = {"taskInfo": [{"taskid": TASKID, "taskStatus": "exec"}], "total": 1, "errNum": 0, "errMsg": "success"}
NOT_FOUND_LOOKALIKE = {"errNum": 1004, "errMsg": "busy, try later"}


def scripted_client(server) -> OfflineClient:
    return OfflineClient(endpoint=server.url, credentials=Credentials("AKLTEXAMPLESCRIPT000", "ExampleSecret/x"))


def test_an_error_about_a_listed_task_is_reported_as_it_is(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KS_ACCESS_KEY_ID", "AKLTEXAMPLESCRIPT000")
    monkeypatch.setenv("KS_SECRET_ACCESS_KEY", "ExampleSecret/x")
    monkeypatch.chdir(tmp_path)
    with ScriptedServer([Reply(200, NOT_FOUND_LOOKALIKE), Reply(200, LISTED)]) as server:
        from presetsync.cli import main

        code = main(["tasks", "show", TASKID, "--endpoint", server.url])
        actions = [dict(r.headers)["X-Action"] for r in server.requests]
    err = capsys.readouterr().err
    assert code == 4
    assert "errNum 1004: busy, try later" in err and "does not exist" not in err
    assert actions == ["GetTaskByTaskID", "GetTaskList"]
    assert "startdate=20161106&enddate=20161108" in server.requests[1].path


def test_refresh_does_not_record_a_listed_task_as_deleted(local_service, tmp_path, monkeypatch, capsys):
    create_presets(local_service)
    project = make_project(local_service, tmp_path, monkeypatch, capsys)
    write_manifest(project.root / "m.yaml", 1)
    assert project.run("tasks", "submit", "m.yaml")[0] == 0
    taskids = [t["taskid"] for t in service_tasks(project.client)]
    listed = {**LISTED, "taskInfo": [{"taskid": t, "taskStatus": "exec"} for t in taskids], "total": 2}
    # both lookups answer an error, but the list shows both tasks: they are not deleted
    steps = [Reply(200, NOT_FOUND_LOOKALIKE), Reply(200, NOT_FOUND_LOOKALIKE), Reply(200, listed)]
    with ScriptedServer(steps) as server, project.journal() as journal:
        journal.scope_all()
        with pytest.raises(ApiError) as info:
            status.refresh(scripted_client(server), journal, parallelism=1)
        assert "deleted" not in journal.scope_statuses()
    assert info.value.err_msg == "busy, try later"
    assert [dict(r.headers)["X-Action"] for r in server.requests][-1] == "GetTaskList"


def test_a_task_id_without_a_creation_day_is_never_concluded_missing(tmp_path):
    with ScriptedServer([Reply(200, NOT_FOUND_LOOKALIKE)]) as server:
        client = scripted_client(server)
        with pytest.raises(ApiError) as info:
            client.get_task_by_task_id(taskid="x" * 40)
        with pytest.raises(ApiError):
            status.confirmed(client, "x" * 40, info.value)
        assert len(server.requests) == 1, "nothing to list: the error stands"


def test_refusals_are_never_taken_for_not_found():
    forbidden = ApiError("GetTaskByTaskID", status=403, err_num=4030, code="SignatureDoesNotMatch")
    assert not status.may_mean_missing(forbidden)
    assert not status.may_mean_missing(ApiError("GetTaskByTaskID", status=200, excerpt="<html>"))
    assert status.may_mean_missing(ApiError("GetTaskByTaskID", status=404, err_num=7))
    assert status.may_mean_missing(ApiError("GetTaskByTaskID", status=200, err_num=40001))


def test_serve_takes_error_numbers_from_the_command_line(capsys):
    from presetsync.cli import main

    assert main(["serve", "--port", "0", "--error-numbers", "task_not_found=x"]) == 1
    assert "--error-numbers must be NAME=N pairs" in capsys.readouterr().err
    assert main(["serve", "--port", "0", "--error-numbers", "tasks_not_found=7"]) == 1
    assert "unknown error name 'tasks_not_found'" in capsys.readouterr().err


def test_serve_answers_with_the_error_numbers_given(serve_process):
    process = serve_process("--port", "0", "--print-secret", "--error-numbers", "task_not_found=40001")
    key = process.wait_for_line("access key id: ").split(": ")[1]
    secret = process.wait_for_line("secret access key: ").split(": ")[1]
    with OfflineClient(endpoint=process.url, credentials=Credentials(key, secret)) as client:
        with pytest.raises(ApiError) as info:
            client.get_task_by_task_id(taskid=absent_taskid())
    assert info.value.err_num == 40001
    assert requests.get(process.url, timeout=30).json()["errNum"] == 4030, "refusals keep their numbers"
