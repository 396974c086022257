"""The official SDK (kscore) drives all eleven operations against ``presetsync serve``.

The service runs as a subprocess started through the real command line; the SDK signs with
its own code. Each answer's shape (field names, nesting, string vs number) is compared with
the examples of the SDK's usage document (shared/ref/offline-api-examples.md), transcribed
below with their values.
"""

from __future__ import annotations

import json
import signal
import time
from datetime import datetime, timezone

import pytest
import requests
import yaml

from presetsync.api import sigv4

kscore_session = pytest.importorskip("kscore.session")
kscore_offline = pytest.importorskip("kscore.offline")
from kscore.exceptions import ClientError  # noqa: E402

KEY, SECRET = "AKLTEXAMPLESDK000000000", "ExampleSdkSecret/0000000000000000000000"

# --- the document's response examples ---------------------------------------------------------

SUCCESS = {"errNum": 0, "errMsg": "success"}
PRESET_LIST = {
    "presetList": [
        {
            "preset": "preset_avop1",
            "presetType": "avop",
            "description": "desc:preset_avop1",
            "createTime": "2016-08-15 13:41:46",
            "updateTime": "2016-08-15 13:42:12",
        }
    ],
    "errNum": 0,
    "errMsg": "success",
}
PRESET_DETAIL = {
    "presetdetail": {
        "presetType": "avop",
        "param": {
            "f": "flv",
            "VIDEO": {
                "vr": "13",
                "vb": "780000",
                "vcodec": "h264",
                "width": 500,
                "height": 600,
                "as": 0,
                "rotate": "0",
                "vn": 0,
            },
            "AUDIO": {"ar": "44100", "ab": "64k", "acodec": "aac", "an": 0},
        },
        "description": "desc:preset_avop2",
        "createTime": "2016-08-16 10:55:10",
        "updateTime": "",
    },
    "errNum": 0,
    "errMsg": "success",
}
CREATE_TASK = {"taskid": "40d309d3b2bf373cd3f08e5b5e1bddf720160816", "errNum": 0, "errMsg": "success"}
TASK_INFO = {
    "cbUrl": "",
    "srcInfo": [{"path": "/wangshuai9/ksyun.flv", "type": "video", "index": 0}],
    "dstDir": "",
    "errorMsg": "",
    "cbMethod": "POST",
    "dstAcl": "public-read",
    "taskStatus": "succ",
    "errorCode": "0",
    "dstBucket": "wangshuai9",
    "preset": "preset_avop1",
    "isTop": "0",
    "taskid": "4c8db1abd488c49a4dafe51cabedd79a20161107",
    "extParam": "",
    "dstObjectKey": "ksyun_a.flv",
    "createTime": "2016-11-07 15:19:14",
}
TASK_LIST = {
    "count": 3,
    "startdate": "20161101",
    "enddate": "20161118",
    "errNum": 0,
    "marker": 0,
    "total": 3,
    "errMsg": "success",
    "taskInfo": [TASK_INFO],
}
GET_TASK = {
    "taskInfo": {
        "taskid": "40d309d3b2bf373cd3f08e5b5e1bddf720160816",
        "preset": "preset_avop2",
        "srcInfo": [{"path": "/wangshuai9/ksyun.flv", "index": 0, "type": "video"}],
        "dstBucket": "wangshuai9",
        "dstDir": "",
        "dstObjectKey": "ksyun_2.flv",
        "taskStatus": "succ",
        "isTop": "1",
        "createTime": "2016-08-16 11:13:29",
    },
    "errNum": 0,
    "errMsg": "success",
}
META_INFO = {
    "startdate": "20161101",
    "enddate": "20161118",
    "marker": 0,
    "count": 1,
    "total": 6,
    "metaInfo": [
        {
            "taskid": "c3697fdd9c4c1240c0e5f29b7a63cba820160929",
            "meta_info": "{...}",
            "createTime": "2016-09-29 18:20:29",
        }
    ],
    "errNum": 0,
    "errMsg": "success",
}
META_INFO_STREAMS = {
    "video": {"codec_name": "h264", "codec_type": "video", "r_frame_rate": "24/1", "width": 368, "height": 640},
    "audio": {
        "codec_name": "aac",
        "codec_type": "audio",
        "bit_rate": "95625",
        "sample_rate": "48000",
        "channels": 1,
    },
    "format": {"nb_streams": 2, "format_name": "hls,applehttp", "duration": "1286.497998", "size": "17711"},
}

# --- the document's request examples ----------------------------------------------------------

PRESET_REQUEST = {
    "preset": "preset_avop2",
    "description": "desc:preset_avop2",
    "presettype": "avop",
    "param": {
        "f": "flv",
        "AUDIO": {"ab": "64k", "ar": "44100", "acodec": "aac", "an": 0},
        "VIDEO": {
            "vr": 13,
            "vb": "780000",
            "vcodec": "h264",
            "width": 500,
            "height": 600,
            "as": 0,
            "rotate": "0",
            "vn": 0,
        },
    },
}
TASK_REQUEST = {
    "dstDir": "",
    "dstObjectKey": "m3u8/test/1.mp4",
    "dstBucket": "autotestoffline",
    "dstAcl": "public-read",
    "preset": "preset_avop2",
    "srcInfo": [{"path": "/autotestoffline/11.mp4", "type": "video", "index": 0}],
    "cbMethod": "POST",
    "cbUrl": "http://10.4.2.38:19090/",
}


def kind(value):
    """The JSON type of *value*, as the shape comparison sees it."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


def assert_shape(actual, example, where="answer"):
    """*actual* has every field of *example*, nested the same way, with the same JSON types."""
    assert kind(actual) == kind(example), f"{where}: {kind(actual)} where the example has {kind(example)}"
    if isinstance(example, dict):
        missing = set(example) - set(actual)
        assert not missing, f"{where}: missing {sorted(missing)}"
        for key, value in example.items():
            assert_shape(actual[key], value, f"{where}.{key}")
    elif isinstance(example, list) and example:
        assert actual, f"{where}: empty list where the example has items"
        for index, item in enumerate(actual):
            assert_shape(item, example[0], f"{where}[{index}]")


# --- the service and the SDK client -----------------------------------------------------------


@pytest.fixture(scope="module")
def served(launch_serve, tmp_path_factory):
    """``presetsync serve`` in a subprocess, with one example account; stopped by SIGTERM."""
    work = tmp_path_factory.mktemp("sdk")
    accounts = work / "accounts.yaml"
    accounts.write_text(yaml.safe_dump({"accounts": [{"access_key_id": KEY, "secret_access_key": SECRET}]}))
    process = launch_serve(
        *("--port", "0", "--db", str(work / "sdk.sqlite"), "--accounts", str(accounts), "--task-seconds", "0"),
        cwd=work,
    )
    yield process
    assert process.stop(signal.SIGTERM) == 0


@pytest.fixture(scope="module")
def sdk(served):
    """The SDK's documented wrapper (kscore.offline.OfflineClient) pointed at the service."""
    raw = kscore_session.get_session().create_client(
        "offline",
        "cn-beijing-6",
        use_ssl=False,
        endpoint_url=served.url,
        ks_access_key_id=KEY,
        ks_secret_access_key=SECRET,
    )
    wrapper = kscore_offline.OfflineClient("offline", "cn-beijing-6", False, KEY, SECRET)
    wrapper.client = raw
    return wrapper


def test_all_eleven_operations_through_the_official_sdk(sdk):
    assert sdk.Preset(PRESET_REQUEST) == SUCCESS
    assert sdk.Preset({**PRESET_REQUEST, "preset": "preset_avop1", "description": "desc:preset_avop1"}) == SUCCESS
    assert sdk.UpdatePreset({"preset": "preset_avop1", "description": "changed", "presettype": "avop"}) == SUCCESS

    presets = sdk.GetPresetList(withDetail=0, presettype="avop", presets="")
    assert_shape(presets, PRESET_LIST)
    assert [p["preset"] for p in presets["presetList"]] == ["preset_avop1", "preset_avop2"]
    assert presets["presetList"][0]["updateTime"] != "" and presets["presetList"][1]["updateTime"] == ""
    detailed = sdk.GetPresetList(withDetail=1, presets="preset_avop2")
    assert [p["param"] for p in detailed["presetList"]] == [PRESET_DETAIL["presetdetail"]["param"]]

    detail = sdk.GetPresetDetail("preset_avop2")
    assert_shape(detail, PRESET_DETAIL)
    assert detail["presetdetail"]["param"] == PRESET_DETAIL["presetdetail"]["param"]  # documented types, exactly

    created = sdk.CreateTask(TASK_REQUEST)
    assert_shape(created, CREATE_TASK)
    taskid = created["taskid"]
    assert len(taskid) == 40 and taskid[32:] == time.strftime("%Y%m%d")
    assert sdk.TopTaskByTaskID(taskid) == SUCCESS

    task = sdk.GetTaskByTaskID(taskid)
    assert_shape(task, GET_TASK)
    assert_shape(task["taskInfo"], TASK_INFO, "taskInfo")
    assert (task["taskInfo"]["isTop"], task["taskInfo"]["taskStatus"]) == ("1", "succ")

    tasks = sdk.GetTaskList()  # the wrapper's defaults: this month, marker 0, limit 100
    assert_shape(tasks, TASK_LIST)
    assert [t["taskid"] for t in tasks["taskInfo"]] == [taskid]
    assert tasks["startdate"] == time.strftime("%Y%m01")

    # meta information comes from avinfo tasks, which probe their source
    assert sdk.GetTaskMetaInfo(taskid=taskid)["errNum"] == 1005
    assert sdk.Preset({"preset": "probe", "presettype": "avinfo", "param": {}}) == SUCCESS
    probed = sdk.CreateTask({**TASK_REQUEST, "preset": "probe"})["taskid"]
    meta = sdk.GetTaskMetaInfo(taskid=probed)
    assert_shape(meta, META_INFO)  # the paging fields too, as the document's example by taskid
    assert [item["taskid"] for item in meta["metaInfo"]] == [probed]
    probe = json.loads(meta["metaInfo"][0]["meta_info"])
    video, audio = probe["streams"]
    assert_shape(video, META_INFO_STREAMS["video"], "video")
    assert_shape(audio, META_INFO_STREAMS["audio"], "audio")
    assert_shape(probe["format"], META_INFO_STREAMS["format"], "format")
    listed = sdk.client.get_task_meta_info(startdate=int(time.strftime("%Y%m01")), marker=0, limit=10)
    assert_shape(listed, META_INFO)
    # the wrapper's GetTaskMetaInfo() without a taskid really sends GetTaskList with limit=0
    assert_shape(sdk.GetTaskMetaInfo(), TASK_LIST)

    assert sdk.DelTaskByTaskID(taskid) == SUCCESS
    assert sdk.GetTaskByTaskID(taskid)["errNum"] == 1004
    assert sdk.DelPreset("preset_avop1") == SUCCESS
    assert sdk.GetPresetDetail("preset_avop1")["errNum"] == 1003


def test_application_errors_come_back_as_the_sdks_plain_dicts(sdk):
    missing = sdk.GetPresetDetail("no_such_preset")
    bad = sdk.Preset({"presettype": "avop", "param": {}})
    limit = sdk.GetTaskList(limit=101)

    assert set(missing) == {"errNum", "errMsg"} and missing["errNum"] == 1003
    assert bad["errNum"] == 1001 and "preset" in bad["errMsg"]
    assert limit["errNum"] == 1001 and "limit" in limit["errMsg"]


def test_refused_signature_is_a_client_error_with_its_code(served):
    wrong = kscore_session.get_session().create_client(
        "offline",
        "cn-beijing-6",
        use_ssl=False,
        endpoint_url=served.url,
        ks_access_key_id=KEY,
        ks_secret_access_key="ExampleWrongSecret/000000000000",
    )

    with pytest.raises(ClientError) as info:
        wrong.get_preset_list(withDetail=0, presettype="", presets="")

    assert info.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_unknown_action_is_http_400(served):
    headers = [("Content-Type", "application/json"), ("X-Action", "DescribeEverything"), ("X-Version", "2016-09-19")]
    signed = sigv4.sign(
        "GET",
        served.url,
        headers,
        b"",
        access_key_id=KEY,
        secret_access_key=SECRET,
        region="cn-beijing-6",
        now=datetime.now(timezone.utc),
    )

    answer = requests.get(served.url, headers=dict(signed.headers), timeout=30)

    assert answer.status_code == 400
    assert answer.json()["errNum"] == 4000 and "DescribeEverything" in answer.json()["errMsg"]
    assert answer.json()["Error"]["Code"] == "InvalidAction"
