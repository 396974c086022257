"""The local service's task operations, end to end through presetsync's OfflineClient."""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest

from presetsync.errors import ApiError

TASKID = re.compile(r"[0-9a-f]{32}(\d{8})")
TASK_FIELDS = [
    "taskid",
    "preset",
    "srcInfo",
    "dstBucket",
    "dstDir",
    "dstObjectKey",
    "dstAcl",
    "cbUrl",
    "cbMethod",
    "extParam",
    "taskStatus",
    "isTop",
    "errorCode",
    "errorMsg",
    "createTime",
]
AVOP = {
    "preset": "web_360p",
    "presettype": "avop",
    "param": {
        "f": "mp4",
        "VIDEO": {"vr": 25, "vb": "500k", "vcodec": "h264", "width": 640, "height": 360},
        "AUDIO": {"acodec": "aac", "ar": "44100", "ab": "64k"},
    },
}


def task_body(preset: str = "web_360p", **extra) -> dict:
    body = {
        "dstDir": "",
        "dstObjectKey": "out/1.mp4",
        "dstBucket": "bucket",
        "dstAcl": "public-read",
        "preset": preset,
        "srcInfo": [{"path": "/bucket/in.mp4", "type": "video", "index": 0}],
        "cbMethod": "POST",
        "cbUrl": "http://127.0.0.1:9/cb",
    }
    body.update(extra)
    return body


def api_error(call, *args, **kwargs) -> ApiError:
    with pytest.raises(ApiError) as info:
        call(*args, **kwargs)
    return info.value


def yyyymmdd(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y%m%d")


AVINFO = {"preset": "probe", "presettype": "avinfo", "param": {}}


@pytest.fixture
def timed(service_factory, make_client, manual_clock):
    """A service whose tasks stay init 10 s then exec 20 s, and a client, on one manual clock."""
    service = service_factory(clock=manual_clock, task_durations=(10, 20))
    client = make_client(service, clock=manual_clock)
    client.preset(AVOP)
    client.preset(AVINFO)
    return service, client


def test_create_task_then_get_it(client, local_service):
    client.preset(AVOP)
    body = task_body(extParam='{"ss": "5"}', isTop=1)

    created = client.call("CreateTask", body)  # the answers, whole
    info = client.call("GetTaskByTaskID", {"taskid": created["taskid"]})

    assert list(created) == ["taskid", "errNum", "errMsg"]
    match = TASKID.fullmatch(created["taskid"])
    assert match and match.group(1) == yyyymmdd(local_service.clock())
    task = info["taskInfo"]
    assert list(task) == TASK_FIELDS
    assert task["taskid"] == created["taskid"]
    assert {k: task[k] for k in body} == body | {"isTop": "1"}
    assert (task["taskStatus"], task["errorCode"], task["errorMsg"]) == ("succ", "0", "")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", task["createTime"])
    assert (info["errNum"], info["errMsg"]) == (0, "success")


def test_defaults_of_optional_task_fields(client):
    client.preset(AVOP)
    body = {"preset": "web_360p", "srcInfo": [{"path": "/b/a.mp4"}], "dstBucket": "b", "dstObjectKey": "a.mp4"}

    task = client.get_task_by_task_id(taskid=client.create_task(body))

    assert {k: task[k] for k in ("dstDir", "dstAcl", "cbUrl", "cbMethod", "extParam", "isTop")} == {
        "dstDir": "",
        "dstAcl": "public-read",
        "cbUrl": "",
        "cbMethod": "",
        "extParam": "",
        "isTop": "0",
    }


def test_status_goes_init_exec_succ_with_time(timed, manual_clock):
    _, client = timed
    taskid = client.create_task(task_body())

    def status():
        return client.get_task_by_task_id(taskid=taskid)["taskStatus"]

    seen = [status()]
    for seconds in (9.5, 0.5, 19.5, 0.5):
        manual_clock.advance(seconds)
        seen.append(status())

    assert seen == ["init", "init", "exec", "exec", "succ"]


@pytest.mark.parametrize("strict", [False, True], ids=["accept-then-fail", "strict-create"])
@pytest.mark.parametrize(("preset", "missing"), [("nosuch", "nosuch"), ("web_360p|nologo", "nologo")])
def test_task_with_a_missing_preset_fails_when_done(
    service_factory, make_client, manual_clock, preset, missing, strict
):
    """Both readings of the documents: accepted and failed when done, or (strict_create)
    refused at once with preset_not_found and no task created."""
    service = service_factory(clock=manual_clock, task_durations=(10, 20), strict_create=strict)
    client = make_client(service, clock=manual_clock)
    client.preset(AVOP)
    if strict:
        error = api_error(client.create_task, task_body(preset))
        assert (error.status, error.err_num, missing in error.err_msg) == (200, 1003, True)
        assert client.get_task_list().total == 0
        return
    taskid = client.create_task(task_body(preset))
    before = client.get_task_by_task_id(taskid=taskid)
    manual_clock.advance(30)

    after = client.get_task_by_task_id(taskid=taskid)

    assert (before["taskStatus"], before["errorCode"]) == ("init", "0")
    assert after["taskStatus"] == "fail"
    assert isinstance(after["errorCode"], str) and int(after["errorCode"]) > 0
    assert missing in after["errorMsg"]


def test_chained_preset_succeeds_when_every_part_exists(client):
    client.preset(AVOP)
    client.preset({"preset": "logo", "presettype": "avlogo", "param": {"IMAGE": [{"logoUrl": "/b/l.png"}]}})

    task = client.get_task_by_task_id(taskid=client.create_task(task_body("web_360p|logo")))

    assert (task["preset"], task["taskStatus"]) == ("web_360p|logo", "succ")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"preset": None}, "preset"),
        ({"preset": "a||b"}, "preset"),
        ({"srcInfo": None}, "srcInfo"),
        ({"srcInfo": []}, "srcInfo"),
        ({"srcInfo": {"path": "/b/a.mp4"}}, "srcInfo"),
        ({"srcInfo": ["/b/a.mp4"]}, "srcInfo[0]"),
        ({"srcInfo": [{"path": "/b/a.mp4"}, {"type": "video"}]}, "srcInfo[1].path"),
        ({"dstBucket": None}, "dstBucket"),
        ({"dstBucket": ""}, "dstBucket"),
        ({"dstObjectKey": None}, "dstObjectKey"),
        ({"dstObjectKey": "/lead/slash.mp4"}, "dstObjectKey"),
        ({"dstAcl": "public"}, "dstAcl"),
        ({"isTop": 2}, "isTop"),
        ({"cbUrl": 5}, "cbUrl"),
        ({"extParam": 5}, "extParam"),
    ],
)
def test_create_task_refuses_invalid_fields_and_names_them(client, change, field):
    client.preset(AVOP)
    body = task_body()
    for key, value in change.items():
        if value is None:
            del body[key]
        else:
            body[key] = value

    error = api_error(client.create_task, body)

    assert (error.status, error.err_num) == (200, 1001)
    assert field in error.err_msg
    assert client.get_task_list().total == 0


def test_top_and_delete_tasks(client):
    client.preset(AVOP)
    taskid = client.create_task(task_body())
    other = client.create_task(task_body())

    assert client.call("TopTaskByTaskID", {"taskid": taskid}) == {"errNum": 0, "errMsg": "success"}
    assert client.get_task_by_task_id(taskid=taskid)["isTop"] == "1"
    assert client.call("DelTaskByTaskID", {"taskid": taskid}) == {"errNum": 0, "errMsg": "success"}
    assert [t["taskid"] for t in client.get_task_list().items] == [other]
    for call in (client.get_task_by_task_id, client.top_task_by_task_id, client.del_task_by_task_id):
        error = api_error(call, taskid=taskid)
        assert (error.err_num, taskid in error.err_msg) == (1004, True)


@pytest.mark.parametrize("action", ["GetTaskByTaskID", "TopTaskByTaskID", "DelTaskByTaskID"])
def test_empty_taskid_is_an_invalid_parameter(local_service, raw_call, action):
    answer = raw_call(local_service, action, query="taskid=").json()

    assert answer["errNum"] == 1001 and "taskid" in answer["errMsg"]


def test_task_list_defaults_and_answer_shape(local_service, client):
    client.preset(AVOP)
    ids = [client.create_task(task_body()) for _ in range(3)]
    today = local_service.clock().astimezone(timezone.utc).date()

    answer = client.call("GetTaskList", {})  # the answer, whole

    start = today.replace(day=1)
    expected_end = min(datetime(start.year, start.month, start.day).toordinal() + 30, today.toordinal())
    assert answer["startdate"] == start.strftime("%Y%m%d")
    assert answer["enddate"] == datetime.fromordinal(expected_end).strftime("%Y%m%d")
    assert (answer["count"], answer["total"], answer["marker"]) == (3, 3, 0)
    assert [t["taskid"] for t in answer["taskInfo"]] == ids
    assert list(answer["taskInfo"][0]) == TASK_FIELDS
    assert (answer["errNum"], answer["errMsg"]) == (0, "success")


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"limit": 101}, "limit"),
        ({"limit": -1}, "limit"),
        ({"marker": -1}, "marker"),
        ({"startdate": 20241340}, "startdate"),
        ({"startdate": 2024}, "startdate"),
        ({"startdate": 20240110, "enddate": 20240109}, "enddate"),
    ],
)
def test_task_list_refuses_bad_paging_arguments(client, args, field):
    for call in (client.get_task_list, client.get_task_meta_info):
        error = api_error(call, **args)
        assert (error.err_num, field in error.err_msg) == (1001, True)


def test_task_list_filters_by_creation_date_inclusive(timed, manual_clock):
    _, client = timed
    manual_clock.set(datetime(2024, 5, 30, 12, 0, tzinfo=timezone.utc))
    by_day = {}
    for day in (30, 31, 1, 2):  # May 30, May 31, June 1, June 2
        by_day[day] = client.create_task(task_body())
        manual_clock.advance(days=1)

    def listed(**args):
        answer = client.call("GetTaskList", args)
        return answer["startdate"], answer["enddate"], [t["taskid"] for t in answer["taskInfo"]], answer["total"]

    assert listed(startdate=20240531, enddate=20240601) == ("20240531", "20240601", [by_day[31], by_day[1]], 2)
    assert listed(startdate=20240530, enddate=20240530) == ("20240530", "20240530", [by_day[30]], 1)
    # default start: the first day of the current month (June 3 now); default end: today
    assert listed() == ("20240601", "20240603", [by_day[1], by_day[2]], 2)
    # default end: startdate + 30 days
    assert listed(startdate=20240501) == ("20240501", "20240531", [by_day[30], by_day[31]], 2)


def test_paging_through_a_thousand_tasks(local_service, client):
    client.preset(AVOP)
    with ThreadPoolExecutor(8) as pool:
        created = set(pool.map(lambda _: client.create_task(task_body()), range(1000)))

    pages, marker = [], 0
    while True:
        page = client.call("GetTaskList", {"startdate": 20000101, "enddate": 29991231, "marker": marker, "limit": 100})
        assert (page["marker"], page["total"]) == (marker, 1000)
        if not page["taskInfo"]:
            break
        assert page["count"] == len(page["taskInfo"]) == 100
        pages.append([t["taskid"] for t in page["taskInfo"]])
        marker += page["count"]
    listed = [taskid for page in pages for taskid in page]
    again = [
        t["taskid"]
        for m in range(0, 1000, 250)
        for t in client.get_task_list(startdate=20000101, enddate=29991231, marker=m, limit=100).items[:100]
    ]
    times = [t["createTime"] for m in range(0, 1000, 100) for t in client.get_task_list(marker=m).items]

    assert len(created) == 1000 and len(pages) == 10
    assert set(listed) == created and len(listed) == 1000
    assert again == [taskid for m in range(0, 1000, 250) for taskid in listed[m : m + 100]]  # stable order
    assert times == sorted(times)
    assert len(client.get_task_list(limit=0).items) == 100  # 0 means the default, 100


def test_meta_info_of_an_avinfo_task_describes_its_source(client):
    client.preset(AVINFO)
    taskid = client.create_task(task_body("probe"))

    answer = client.call("GetTaskMetaInfo", {"taskid": taskid})  # the answer, whole

    assert (answer["errNum"], answer["errMsg"]) == (0, "success")
    [item] = answer["metaInfo"]
    assert (item["taskid"], list(item)) == (taskid, ["taskid", "meta_info", "createTime"])
    assert isinstance(item["meta_info"], str)
    meta = json.loads(item["meta_info"])
    video, audio = meta["streams"]
    assert (video["codec_type"], video["codec_name"], video["width"], video["height"]) == ("video", "h264", 1280, 720)
    assert (video["r_frame_rate"], video["bit_rate"]) == ("25/1", "2000000")
    assert (audio["codec_type"], audio["codec_name"], audio["sample_rate"], audio["bit_rate"]) == (
        "audio",
        "aac",
        "44100",
        "128000",
    )
    assert audio["channels"] == 2
    fmt = meta["format"]
    assert (fmt["nb_streams"], fmt["format_name"]) == (2, "mov,mp4,m4a,3gp,3g2,mj2")
    assert float(fmt["duration"]) > 0 and int(fmt["size"]) > 0 and fmt["bit_rate"] == "2128000"
    assert client.get_task_meta_info(taskid=taskid)[0]["meta_info"] == item["meta_info"]


def test_meta_info_follows_the_source(client):
    client.preset(AVINFO)

    def probed(path: str) -> dict:
        body = task_body("probe", srcInfo=[{"path": path, "type": "video", "index": 0}])
        [item] = client.get_task_meta_info(taskid=client.create_task(body))
        return json.loads(item["meta_info"])

    flv, mp3, again = probed("/bucket/a.flv"), probed("/bucket/song.mp3"), probed("/bucket/a.flv")

    assert flv["format"]["format_name"] == "flv" and len(flv["streams"]) == 2
    assert [(s["codec_type"], s["codec_name"]) for s in mp3["streams"]] == [("audio", "mp3")]
    assert mp3["format"]["format_name"] == "mp3"
    assert again == flv, "the same source always probes the same"


def test_meta_info_only_for_succeeded_tasks(timed, manual_clock):
    _, client = timed
    good = client.create_task(task_body("probe"))
    bad = client.create_task(task_body("nosuch"))

    early = [api_error(client.get_task_meta_info, taskid=t) for t in (good, bad)]
    listed_early = client.call("GetTaskMetaInfo", {"startdate": 20000101, "enddate": 29991231})
    manual_clock.advance(30)
    listed_late = client.call("GetTaskMetaInfo", {"startdate": 20000101, "enddate": 29991231})

    assert [(e.err_num, "init" in e.err_msg) for e in early] == [(1005, True), (1005, True)]
    assert (listed_early["count"], listed_early["total"], listed_early["metaInfo"]) == (0, 0, [])
    assert (listed_late["count"], listed_late["total"]) == (1, 1)
    assert [m["taskid"] for m in listed_late["metaInfo"]] == [good]
    assert set(listed_late) == {"count", "total", "marker", "startdate", "enddate", "metaInfo", "errNum", "errMsg"}
    assert api_error(client.get_task_meta_info, taskid=bad).err_num == 1005
    assert api_error(client.get_task_meta_info, taskid="0" * 40).err_num == 1004


def test_meta_info_list_pages_like_the_task_list(client):
    client.preset(AVOP)
    client.preset(AVINFO)
    ids = []
    for _ in range(5):
        ids.append(client.create_task(task_body("probe")))
        client.create_task(task_body())  # an avop task: no meta information, not listed

    page = client.call("GetTaskMetaInfo", {"marker": 2, "limit": 2})

    assert (page["count"], page["total"], page["marker"]) == (2, 5, 2)
    assert [m["taskid"] for m in page["metaInfo"]] == ids[2:4]
    assert isinstance(page["startdate"], str) and isinstance(page["enddate"], str)
