"""The local service follows the documents where they speak, and offers both readings where
they are ambiguous or silent (issue 14, point 4).

* GetTaskMetaInfo answers carry the paging fields, by taskid too (the usage document's
  example asks by taskid and gets startdate, enddate, marker, count, total);
* meta information comes from avinfo tasks only, and ``tasks meta`` says so;
* every operation takes only the HTTP method the SDK sends it with (405 otherwise);
* ``strict_create``: a CreateTask whose preset does not exist is refused at once, or (the
  default) accepted and failed when done;
* ``later_preset_rules``: the later documents' name rule and fixed presettype, or (the
  default) what the 2016 documents allow: any name, and UpdatePreset may change the type.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from test_apply import Repo, preset
from test_error_numbers import READINGS
from test_tasks_cli import make_project

from presetsync.api.credentials import Credentials
from presetsync.api.operations import OPERATIONS
from presetsync.errors import ApiError

AVOP = {"preset": "web_360p", "presettype": "avop", "param": {"f": "mp4", "VIDEO": {"width": 640, "height": 360}}}
AVINFO = {"preset": "probe", "presettype": "avinfo", "param": {}}
OTHERS = [
    AVOP,
    {"preset": "seg", "presettype": "avm3u8", "param": {"hls_time": 6}},
    {"preset": "shot", "presettype": "avsnapshot", "param": {"width": 320}},
    {"preset": "strip", "presettype": "avsample", "param": {"interval": 5}},
    {"preset": "logo", "presettype": "avlogo", "param": {"IMAGE": [{"logoUrl": "/b/logo.png"}]}},
]


def task(preset_name: str, path: str = "/bucket/in.mp4") -> dict:
    return {"preset": preset_name, "srcInfo": [{"path": path}], "dstBucket": "bucket", "dstObjectKey": "out/x.mp4"}


def api_error(call, *args, **kwargs) -> ApiError:
    with pytest.raises(ApiError) as info:
        call(*args, **kwargs)
    return info.value


def this_month() -> tuple[int, int]:
    today = datetime.now(timezone.utc).date()
    return int(today.strftime("%Y%m01")), int(today.strftime("%Y%m%d"))


# --------------------------------------------------------------------------------------------
# GetTaskMetaInfo: the documented paging fields, in both forms


def test_meta_info_by_taskid_carries_the_paging_fields_of_the_documents_example(client):
    client.preset(AVINFO)
    client.preset(AVOP)
    probed = [client.create_task(task("probe", f"/bucket/{i}.mp4")) for i in range(3)]
    client.create_task(task("web_360p"))  # no meta information: not counted
    first, today = this_month()

    args = {"taskid": probed[1], "startdate": first, "enddate": today, "marker": 0, "limit": 50}
    answer = client.call("GetTaskMetaInfo", args)  # the answers whole
    default = client.call("GetTaskMetaInfo", {"taskid": probed[1]})

    assert list(answer) == ["count", "total", "marker", "startdate", "enddate", "metaInfo", "errNum", "errMsg"]
    assert (answer["startdate"], answer["enddate"], answer["marker"]) == (str(first), str(today), 0)
    assert (answer["count"], answer["total"]) == (1, 3), "count: this answer; total: the range's records"
    assert [item["taskid"] for item in answer["metaInfo"]] == [probed[1]]
    # the SDK sends the taskid alone: the documented defaults fill the rest
    assert (default["startdate"], default["enddate"], default["count"], default["total"]) == (
        str(first),
        str(today),
        1,
        3,
    )
    assert default["metaInfo"] == answer["metaInfo"]


def test_meta_info_by_taskid_checks_its_paging_arguments_like_the_list(client):
    client.preset(AVINFO)
    taskid = client.create_task(task("probe"))
    error = api_error(client.get_task_meta_info, taskid=taskid, limit=101)
    assert (error.err_num, "limit" in error.err_msg) == (1001, True)


# --------------------------------------------------------------------------------------------
# Meta information comes from avinfo tasks only


def test_only_avinfo_tasks_have_meta_information_in_the_simulated_service(client):
    for body in (AVINFO, *OTHERS):
        client.preset(body)
    others = [client.create_task(task(body["preset"])) for body in OTHERS]
    others.append(client.create_task(task("web_360p|logo")))
    probed = client.create_task(task("probe"))

    errors = [api_error(client.get_task_meta_info, taskid=taskid) for taskid in others]
    listed = client.call("GetTaskMetaInfo", {"startdate": 20000101, "enddate": 29991231})
    tasks = client.get_task_list(startdate=20000101, enddate=29991231)

    assert {t["taskStatus"] for t in tasks.items} == {"succ"} and tasks.total == 7
    assert [(e.err_num, "not an avinfo task" in e.err_msg) for e in errors] == [(1005, True)] * 6
    assert "avinfo tasks" in errors[0].err_msg and "web_360p" in errors[0].err_msg
    assert (listed["count"], listed["total"]) == (1, 1)
    assert [item["taskid"] for item in listed["metaInfo"]] == [probed]
    assert json.loads(listed["metaInfo"][0]["meta_info"])["format"]["format_name"].startswith("mov,mp4")


@pytest.mark.parametrize("reading", list(READINGS))
def test_tasks_meta_says_meta_information_comes_from_avinfo_tasks(
    service_factory, tmp_path, monkeypatch, capsys, reading
):
    service = service_factory(error_numbers=READINGS[reading])
    client = service.client()
    client.preset(AVOP)
    client.preset({"preset": "gone", "presettype": "avsnapshot", "param": {}})
    client.preset(AVINFO)
    avop = client.create_task(task("web_360p"))
    gone = client.create_task(task("gone"))
    client.del_preset(preset="gone")
    probed = client.create_task(task("probe"))
    project = make_project(service, tmp_path, monkeypatch, capsys)

    code, out, err = project.run("tasks", "meta", avop)
    assert (code, out) == (4, "")
    assert f"task {avop} has no meta information: meta information comes from avinfo tasks" in err
    assert "its preset web_360p is an avop preset" in err
    code, _, err = project.run("tasks", "meta", gone)
    assert code == 4 and "avinfo tasks" in err and "its preset gone no longer exists" in err
    code, out, _ = project.run("tasks", "meta", probed)
    assert code == 0 and out.startswith(f"task {probed}\n  format: QuickTime / MOV")


def test_media_root_lists_only_the_meta_information_of_avinfo_tasks(service_factory, make_client, tmp_path):
    pytest.importorskip("av", reason="PyAV is not installed: pip install 'presetsync[media]'")
    from presetsync.media.sample import write_sample

    (tmp_path / "media" / "in").mkdir(parents=True)
    write_sample(tmp_path / "media" / "in" / "clip.mp4", seconds=1, width=64, height=48, fps=5)
    service = service_factory(media_root=tmp_path / "media", media_workers=1)
    client = make_client(service)
    client.preset(AVINFO)
    client.preset({"preset": "small", "presettype": "avop", "param": {"f": "mp4", "VIDEO": {"width": 32}}})
    plain = client.create_task(task("small", "/in/clip.mp4"))
    probed = client.create_task(task("probe", "/in/clip.mp4"))
    assert service.media is not None and service.media.wait_idle(timeout=120)

    listed = client.call("GetTaskMetaInfo", {"startdate": 20000101, "enddate": 29991231})
    by_id = client.call("GetTaskMetaInfo", {"taskid": probed})

    assert client.get_task_by_task_id(taskid=plain)["taskStatus"] == "succ"
    assert [item["taskid"] for item in listed["metaInfo"]] == [probed] and listed["total"] == 1
    assert (by_id["count"], by_id["total"]) == (1, 1)
    assert json.loads(by_id["metaInfo"][0]["meta_info"])["streams"][0]["width"] == 64


# --------------------------------------------------------------------------------------------
# HTTP methods, as the SDK sends each operation


@pytest.mark.parametrize("action", list(OPERATIONS))
def test_an_operation_sent_with_another_method_is_refused_with_405(local_service, raw_call, action):
    expected = OPERATIONS[action].method
    other = "GET" if expected == "POST" else "POST"
    body = json.dumps(AVOP).encode() if other == "POST" else b""

    answer = raw_call(local_service, action, method=other, body=body, query="preset=web_360p&withDetail=1")

    assert answer.status_code == 405
    assert answer.headers["Allow"] == expected
    payload = answer.json()
    assert payload["errNum"] == 4050 and f"must be sent with {expected}, not {other}" in payload["errMsg"]
    assert payload["Error"]["Code"] == "MethodNotAllowed" and payload["RequestId"] == answer.headers["X-Request-Id"]
    assert local_service.client().get_preset_list(withDetail=0) == [], "nothing was done"


def test_a_post_get_preset_list_is_refused_and_a_get_one_served(local_service, raw_call):
    refused = raw_call(local_service, "GetPresetList", method="POST", body=b"{}")
    served = raw_call(local_service, "GetPresetList", query="withDetail=0&presettype=&presets=")
    put = raw_call(local_service, "GetPresetList", method="PUT")

    assert (refused.status_code, refused.json()["Error"]["Code"]) == (405, "MethodNotAllowed")
    assert (served.status_code, served.json()["errNum"]) == (200, 0)
    assert (put.status_code, put.headers["Allow"]) == (405, "GET")
    assert local_service.stats.answers() == {405: 2, 200: 1}


def test_the_method_is_checked_after_the_signature(local_service, raw_call):
    wrong = Credentials(local_service.credentials.access_key_id, "ExampleWrongSecret/000000000000")
    answer = raw_call(local_service, "GetPresetList", method="POST", credentials=wrong)
    assert (answer.status_code, answer.json()["errNum"]) == (403, 4030)


# --------------------------------------------------------------------------------------------
# CreateTask with a preset that does not exist: both readings


@pytest.mark.parametrize("strict", [False, True], ids=["accept-then-fail", "strict-create"])
def test_create_task_with_a_missing_preset_under_both_readings(service_factory, make_client, strict):
    client = make_client(service_factory(strict_create=strict, error_numbers={"preset_not_found": 40001}))
    client.preset(AVOP)

    outcomes = []
    for name in ("nosuch", "web_360p|nologo"):
        try:
            taskid = client.create_task(task(name))
        except ApiError as exc:
            outcomes.append(("refused", exc.status, exc.err_num, exc.err_msg))
        else:
            info = client.get_task_by_task_id(taskid=taskid)
            outcomes.append(("created", info["taskStatus"], info["errorCode"], info["errorMsg"]))
    created_later = client.create_task(task("web_360p"))

    if strict:  # refused at once, with the configurable number, and no task created
        assert outcomes == [
            ("refused", 200, 40001, "preset nosuch does not exist"),
            ("refused", 200, 40001, "preset nologo does not exist"),
        ]
        assert [t["taskid"] for t in client.get_task_list().items] == [created_later]
    else:
        assert outcomes == [
            ("created", "fail", "3001", "preset nosuch does not exist"),
            ("created", "fail", "3001", "preset nologo does not exist"),
        ]
        assert client.get_task_list().total == 3


# --------------------------------------------------------------------------------------------
# Preset names and presettype changes: the 2016 documents, or the later rules


@pytest.mark.parametrize("later", [False, True], ids=["2016", "later-rules"])
@pytest.mark.parametrize("name", ["a", "x" * 33, "web-720p", "名字", "web 720p"])
def test_preset_names_outside_the_later_rule(service_factory, make_client, later, name):
    client = make_client(service_factory(later_preset_rules=later))
    body = {"preset": name, "presettype": "avop", "param": {"f": "mp4"}}

    if later:
        error = api_error(client.preset, body)
        assert (error.err_num, "2 to 32 letters, digits or underscores" in error.err_msg) == (1001, True)
        assert client.get_preset_list(withDetail=0) == []
    else:  # the 2016 documents set no rule
        assert client.call("Preset", body)["errNum"] == 0
        assert client.get_preset_detail(preset=name)["presetType"] == "avop"


@pytest.mark.parametrize("later", [False, True], ids=["2016", "later-rules"])
def test_a_preset_name_is_still_required_and_a_string(service_factory, make_client, later):
    client = make_client(service_factory(later_preset_rules=later))
    for name in (None, "", 5):
        body = {"presettype": "avop", "param": {}} | ({} if name is None else {"preset": name})
        error = api_error(client.preset, body)
        assert (error.err_num, "preset" in error.err_msg) == (1001, True)


@pytest.mark.parametrize("later", [False, True], ids=["2016", "later-rules"])
def test_update_preset_changing_the_presettype(service_factory, make_client, later):
    client = make_client(service_factory(later_preset_rules=later))
    client.preset({"preset": "thumb", "presettype": "avsnapshot", "param": {"width": 320}})
    change = {"preset": "thumb", "presettype": "avop", "param": {"f": "mp4", "VIDEO": {"vr": 25}}}

    bad = api_error(client.update_preset, {**change, "param": {"f": "mp4", "VIDEO": {"vr": 75}}})
    if later:
        error = api_error(client.update_preset, change)
        assert (error.err_num, "presettype cannot be changed" in error.err_msg) == (1001, True)
        expected = ("avsnapshot", {"width": 320})
    else:  # the 2016 UpdatePreset takes presettype; only the name cannot change
        assert client.call("UpdatePreset", change)["errNum"] == 0
        expected = ("avop", {"f": "mp4", "VIDEO": {"vr": "25"}})
    detail = client.get_preset_detail(preset="thumb")

    assert (detail["presetType"], detail["param"]) == expected
    # the param is checked against the type the preset is to have
    assert bad.err_num == 1001 and ("param.VIDEO.vr" in bad.err_msg or "presettype" in bad.err_msg)


@pytest.mark.parametrize("later", [False, True], ids=["2016", "later-rules"])
def test_apply_replaces_on_a_presettype_change_under_both_readings(
    service_factory, tmp_path, capsys, monkeypatch, later
):
    service = service_factory(later_preset_rules=later)
    monkeypatch.setenv("KS_ACCESS_KEY_ID", service.credentials.access_key_id)
    monkeypatch.setenv("KS_SECRET_ACCESS_KEY", service.credentials.secret_access_key)
    repo = Repo(tmp_path, service, capsys)
    repo.write("a.yaml", preset("thumb", presettype="avsnapshot"))
    assert repo.apply()[0] == 0
    repo.write("a.yaml", preset("thumb", presettype="avsample", interval=5, width=320, height=180))

    code, out, _ = repo.apply()

    assert code == 0, out
    assert "-/+ thumb (avsnapshot -> avsample): must be replaced" in out
    assert repo.live()["thumb"].presettype == "avsample"
    assert repo.plan_is_empty()


def test_preset_files_keep_the_later_name_rule_which_both_readings_accept(tmp_path, capsys):
    from presetsync.cli import main

    (tmp_path / "p.yaml").write_text("presets:\n  - {preset: web-720p, presettype: avop, param: {f: mp4}}\n")
    assert main(["validate", str(tmp_path / "p.yaml")]) == 1
    out = capsys.readouterr().out
    assert "p.yaml:2:" in out and "invalid preset name 'web-720p'" in out


# --------------------------------------------------------------------------------------------
# The switches on the command line


def test_serve_takes_the_reading_switches(serve_process):
    process = serve_process("--port", "0", "--print-secret", "--strict-create", "--later-preset-rules")
    assert process.wait_for_line("readings: ") == "readings: --strict-create --later-preset-rules"
    key = process.wait_for_line("access key id: ").split(": ")[1]
    secret = process.wait_for_line("secret access key: ").split(": ")[1]
    from presetsync.api.client import OfflineClient

    with OfflineClient(endpoint=process.url, credentials=Credentials(key, secret)) as client:
        missing = api_error(client.create_task, task("nosuch"))
        bad_name = api_error(client.preset, {"preset": "web-720p", "presettype": "avop", "param": {}})
        assert client.get_task_list().total == 0
    assert (missing.err_num, bad_name.err_num) == (1003, 1001)


def test_serve_defaults_to_the_2016_readings(serve_process):
    process = serve_process("--port", "0", "--print-secret")
    key = process.wait_for_line("access key id: ").split(": ")[1]
    secret = process.wait_for_line("secret access key: ").split(": ")[1]
    assert not any(line.startswith("readings:") for line in process.lines)
    from presetsync.api.client import OfflineClient

    with OfflineClient(endpoint=process.url, credentials=Credentials(key, secret)) as client:
        assert client.call("Preset", {"preset": "web-720p", "presettype": "avop", "param": {}})["errNum"] == 0
        taskid = client.create_task(task("nosuch"))
        assert client.get_task_by_task_id(taskid=taskid)["preset"] == "nosuch"
