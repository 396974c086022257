"""Each operation declares what its answer holds; the typed methods return it, checked.

The documented answers are the usage document's examples (tests/fixtures/usage-doc-answers.json);
every method is called over real HTTP against a scripted loopback server, so the whole path
(serialise, sign, send, parse, extract) runs.
"""

from __future__ import annotations

import inspect
import json
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from scripted import Reply, ScriptedServer
from test_tasks_cli import write_manifest

from presetsync.api import Credentials, OfflineClient, RetryPolicy
from presetsync.api.operations import OPERATIONS
from presetsync.api.results import Nothing, Object, Objects, Page, Paged, Text, UnexpectedAnswer
from presetsync.cli import main
from presetsync.errors import ExitStatus, ServiceError
from presetsync.tasks.journal import Journal
from presetsync.tasks.manifest import load_manifest
from presetsync.tasks.submit import Submitter

ANSWERS = json.loads((Path(__file__).parent / "fixtures" / "usage-doc-answers.json").read_text(encoding="utf-8"))
CREDS = Credentials("AKLTEXAMPLERESULTS00", "ExampleSecret/results")
NOW = datetime(2024, 5, 20, 8, 30, tzinfo=timezone.utc)
TASK = "40d309d3b2bf373cd3f08e5b5e1bddf720160816"
BODY = {"preset": "p1", "presettype": "avop", "param": {"f": "mp4"}}
TASK_BODY = {"preset": "p1", "srcInfo": [{"path": "/b/in.mp4"}], "dstBucket": "b", "dstObjectKey": "out.mp4"}

# Valid arguments for each operation, and the value its documented answer holds.
ARGS = {
    "Preset": BODY,
    "UpdatePreset": BODY,
    "DelPreset": {"preset": "p1"},
    "GetPresetList": {"withDetail": 0, "presettype": "avop", "presets": ""},
    "GetPresetDetail": {"preset": "preset_avop2"},
    "CreateTask": TASK_BODY,
    "DelTaskByTaskID": {"taskid": TASK},
    "TopTaskByTaskID": {"taskid": TASK},
    "GetTaskList": {"startdate": 20161101, "enddate": 20161118, "marker": 0, "limit": 50},
    "GetTaskByTaskID": {"taskid": TASK},
    "GetTaskMetaInfo": {"taskid": "c3697fdd9c4c1240c0e5f29b7a63cba820160929"},
}
EXPECTED = {
    "Preset": None,
    "UpdatePreset": None,
    "DelPreset": None,
    "GetPresetList": ANSWERS["GetPresetList"]["presetList"],
    "GetPresetDetail": ANSWERS["GetPresetDetail"]["presetdetail"],
    "CreateTask": "40d309d3b2bf373cd3f08e5b5e1bddf720160816",
    "DelTaskByTaskID": None,
    "TopTaskByTaskID": None,
    "GetTaskList": Page(ANSWERS["GetTaskList"]["taskInfo"], total=3),
    "GetTaskByTaskID": ANSWERS["GetTaskByTaskID"]["taskInfo"],
    "GetTaskMetaInfo": ANSWERS["GetTaskMetaInfo"]["metaInfo"],
}


def client_for(url):
    return OfflineClient(endpoint=url, credentials=CREDS, retry=RetryPolicy(max_attempts=1), clock=lambda: NOW)


def typed_call(client, name, args):
    """The operation's snake_case method, called as a user would."""
    method = getattr(client, OPERATIONS[name].snake_name)
    return method(args) if OPERATIONS[name].params is None else method(**args)


def answered(name, answer):
    """What the typed method returns when the service answers *answer*."""
    with ScriptedServer([Reply(200, answer)]) as server:
        return typed_call(client_for(server.url), name, ARGS[name])


def test_the_fixture_has_the_eleven_documented_answers():
    assert set(ANSWERS) - {"_source"} == set(OPERATIONS) == set(ARGS) == set(EXPECTED)


@pytest.mark.parametrize("name", list(OPERATIONS))
def test_the_documented_answer_gives_the_documented_value(name):
    with ScriptedServer([Reply(200, ANSWERS[name])]) as server:
        client = client_for(server.url)
        result = typed_call(client, name, ARGS[name])
        sent = client.prepare(name, ARGS[name])  # what the raw call() path signs, at the same time

    assert result == EXPECTED[name]
    [received] = server.requests
    assert dict(received.headers)["X-Action"] == name
    assert (received.method, received.path, received.body) == (sent.method, "/" + sent.url.split("/", 3)[3], sent.body)
    assert set(sent.headers) <= set(received.headers), "byte for byte the request call() sends"


def test_the_values_are_the_documented_types():
    assert [p["preset"] for p in EXPECTED["GetPresetList"]] == ["preset_avop1", "preset_avop2"]
    page = answered("GetTaskList", ANSWERS["GetTaskList"])
    assert isinstance(page, Page) and page.total == 3 and len(page.items) == 3
    assert page.items[0]["taskid"] == "4c8db1abd488c49a4dafe51cabedd79a20161107"
    assert answered("GetPresetDetail", ANSWERS["GetPresetDetail"])["param"]["VIDEO"]["vr"] == "13"
    assert answered("GetTaskByTaskID", ANSWERS["GetTaskByTaskID"])["isTop"] == "1"
    [meta] = answered("GetTaskMetaInfo", ANSWERS["GetTaskMetaInfo"])
    assert json.loads(meta["meta_info"])["format"]["nb_streams"] == 2


@pytest.mark.parametrize(
    ("name", "answer", "where"),
    [
        ("CreateTask", {"errNum": 0, "errMsg": "success"}, "taskid is missing, where the API has a non-empty string"),
        ("CreateTask", {"taskid": 40, "errNum": 0}, "taskid is a number (40)"),
        ("CreateTask", {"taskid": "", "errNum": 0}, "taskid is a string ('')"),
        ("GetPresetList", {"errNum": 0}, "presetList is missing"),
        ("GetPresetList", {"presetList": "p1,p2"}, "presetList is a string ('p1,p2')"),
        ("GetPresetList", {"presetList": [1]}, "presetList[0] is a number (1), where the API has a JSON object"),
        ("GetPresetList", {"presetList": [{"preset": "a"}, {"presetType": "avop"}]}, "presetList[1].preset is missing"),
        ("GetPresetDetail", {"presetdetail": ["x"]}, "presetdetail is a list"),
        ("GetTaskByTaskID", {"taskInfo": None}, "taskInfo is null, where the API has a JSON object"),
        ("GetTaskByTaskID", {"errNum": 0, "errMsg": "success"}, "taskInfo is missing"),
        ("GetTaskList", {"taskInfo": []}, "total is missing, where the API has a whole number"),
        ("GetTaskList", {"taskInfo": [], "total": "many"}, "total is a string ('many')"),
        ("GetTaskList", {"taskInfo": [], "total": True}, "total is a boolean (True)"),
        ("GetTaskList", {"taskInfo": [{"taskid": None}], "total": 1}, "taskInfo[0].taskid is null"),
        ("GetTaskList", {"taskInfo": {"taskid": TASK}, "total": 1}, "taskInfo is an object, where the API has a list"),
        ("GetTaskMetaInfo", {"count": 0, "errNum": 0}, "metaInfo is missing"),
        ("Preset", [0], "the answer is a list, where the API has a JSON object"),
        ("DelTaskByTaskID", '"success"', "the answer is a string ('success')"),  # JSON text: a string
    ],
)
def test_an_answer_of_another_shape_is_a_service_error_naming_operation_and_key(name, answer, where):
    with pytest.raises(UnexpectedAnswer) as info:
        answered(name, answer)
    assert isinstance(info.value, ServiceError) and info.value.exit_code == ExitStatus.PARTIAL
    assert str(info.value).startswith(f"{name} answered an unexpected shape: {where}")
    assert info.value.operation == name


def test_a_null_list_is_empty_a_decimal_total_is_a_number_and_the_java_spellings_are_read():
    assert answered("GetPresetList", {"presetList": None, "errNum": 0}) == []
    assert answered("GetTaskList", {"taskInfo": [], "total": "12"}) == Page([], 12)
    for key in ("metaList", "MetaList"):
        assert answered("GetTaskMetaInfo", {key: [{"taskid": TASK}]}) == [{"taskid": TASK}]


def test_call_still_returns_the_answer_whole_whatever_its_shape():
    for answer in ({"errNum": 0, "errMsg": "success"}, ANSWERS["GetTaskByTaskID"]):
        with ScriptedServer([Reply(200, answer)]) as server:
            assert client_for(server.url).call("GetTaskByTaskID", {"taskid": TASK}) == answer


def test_the_command_line_reports_an_odd_answer_without_a_traceback(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KS_ACCESS_KEY_ID", CREDS.access_key_id)
    monkeypatch.setenv("KS_SECRET_ACCESS_KEY", CREDS.secret_access_key)
    with ScriptedServer([Reply(200, {"errNum": 0, "errMsg": "success"})]) as server:
        code = main(["tasks", "show", TASK, "--endpoint", server.url, "--retry-budget", "0"])
    err = capsys.readouterr().err
    assert code == ExitStatus.PARTIAL
    assert "GetTaskByTaskID answered an unexpected shape: taskInfo is missing" in err
    assert "Traceback" not in err


class RoutedServer:
    """A loopback server that answers every request with the answer for its X-Action."""

    def __init__(self, answers):
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _handle(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                payload = json.dumps(answers[self.headers["X-Action"]]).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"

    def __enter__(self):
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_a_create_task_answer_without_a_taskid_leaves_the_task_in_doubt(tmp_path):
    write_manifest(tmp_path / "m.yaml", 1, presets=["p1"])
    answers = {"GetTaskList": {"taskInfo": [], "total": 0, "errNum": 0}, "CreateTask": {"errNum": 0, "errMsg": "ok"}}
    with RoutedServer(answers) as server, Journal(tmp_path / "j.sqlite") as journal:
        journal.add_scope(load_manifest(tmp_path / "m.yaml").tasks(), persist=True)
        result = Submitter(client_for(server.url), journal, grace=0, max_rounds=0).run()
        [entry] = journal.in_doubt()
        [detail] = [detail for _, event, _, detail in journal.history(entry.id) if event == "unknown"]
    assert (result.sent, result.in_doubt, entry.taskid) == (0, 1, None)
    assert detail.startswith("CreateTask answered an unexpected shape: taskid is missing")


# --- the methods are written in the class, typed after the table ------------------------------

RETURNS = {Nothing: "None", Text: "str", Object: "JsonObject", Objects: "list[JsonObject]", Paged: "Page"}


def test_every_operation_is_a_method_written_in_the_class_body():
    lines, first = inspect.getsourcelines(OfflineClient)
    body = range(first, first + len(lines))
    for op in OPERATIONS.values():
        method = vars(OfflineClient).get(op.snake_name)
        assert inspect.isfunction(method), f"{op.snake_name} is not defined on OfflineClient"
        assert method.__code__.co_firstlineno in body, f"{op.snake_name} is not written in the class body"
        assert f"    def {op.snake_name}(self" in "".join(lines)


def test_nothing_is_attached_to_the_client_from_outside_its_class_body():
    lines, first = inspect.getsourcelines(OfflineClient)
    for name, value in vars(OfflineClient).items():
        if inspect.isfunction(value):
            assert first <= value.__code__.co_firstlineno < first + len(lines), name


@pytest.mark.parametrize("op", list(OPERATIONS.values()), ids=list(OPERATIONS))
def test_each_method_is_annotated_with_what_its_operation_declares(op):
    method = vars(OfflineClient)[op.snake_name]
    assert inspect.signature(method).return_annotation == RETURNS[type(op.result)]
