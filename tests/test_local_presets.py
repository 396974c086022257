"""The local service's preset operations, end to end through presetsync's OfflineClient."""

from __future__ import annotations

import json
import re

import pytest

from presetsync.errors import ApiError
from presetsync.local.store import PresetRow

TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")

# The request of the SDK's own example (vr sent as a number) ...
EXAMPLE_PARAM = {
    "f": "flv",
    "VIDEO": {"vr": 13, "vb": "780000", "vcodec": "h264", "width": 500, "height": "600", "as": 0, "rotate": 0, "vn": 0},
    "AUDIO": {"ar": 44100, "ab": "64k", "acodec": "aac", "an": "0"},
}
# ... echoed with the documented types, exactly as the GetPresetDetail example shows them.
EXAMPLE_ECHO = {
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
}


def preset_body(name: str = "preset_avop1", presettype: str = "avop", **extra) -> dict:
    body = {"preset": name, "description": f"desc:{name}", "presettype": presettype, "param": {"f": "mp4"}}
    body.update(extra)
    return body


def api_error(call, *args, **kwargs) -> ApiError:
    with pytest.raises(ApiError) as info:
        call(*args, **kwargs)
    return info.value


def test_preset_then_detail_echoes_documented_types(client):
    assert client.call("Preset", preset_body(param=EXAMPLE_PARAM)) == {"errNum": 0, "errMsg": "success"}

    answer = client.call("GetPresetDetail", {"preset": "preset_avop1"})  # the answer, whole

    detail = answer["presetdetail"]
    assert answer["errNum"] == 0 and answer["errMsg"] == "success"
    assert detail["param"] == EXAMPLE_ECHO
    assert json.dumps(detail["param"]) == json.dumps(EXAMPLE_ECHO)  # types and key order too
    assert detail["presetType"] == "avop"
    assert detail["description"] == "desc:preset_avop1"
    assert TIME.fullmatch(detail["createTime"])
    assert detail["updateTime"] == ""
    assert set(detail) == {"presetType", "param", "description", "createTime", "updateTime"}


def test_echo_leaves_undocumented_and_non_numeric_values_alone(client):
    param = {"f": "mp4", "VIDEO": {"vb": "1.25M", "rotate": "auto", "gop": "10", "custom": 5}, "extra": ["x", 1]}
    client.preset(preset_body(param=param))

    echoed = client.get_preset_detail(preset="preset_avop1")["param"]

    assert echoed == {"f": "mp4", "VIDEO": {"vb": "1.25M", "rotate": "auto", "gop": 10, "custom": 5}, "extra": ["x", 1]}


def test_preset_list_filters_sorts_and_adds_param_only_with_detail(client):
    client.preset(preset_body("zeta", "avop"))
    client.preset(preset_body("alpha", "avlogo", param={"IMAGE": [{"logoUrl": "/b/logo.png"}]}))
    client.preset(preset_body("mid", "avsnapshot", param={"width": "320"}))

    everything = client.call("GetPresetList", {"withDetail": 0, "presettype": "", "presets": ""})
    by_type = client.get_preset_list(withDetail=0, presettype="avop,avlogo", presets="")
    by_name = client.get_preset_list(withDetail=1, presettype="", presets="mid,zeta,unknown")
    both = client.get_preset_list(withDetail=0, presettype="avop", presets="mid,zeta")

    assert [p["preset"] for p in everything["presetList"]] == ["alpha", "mid", "zeta"]
    assert all("param" not in p for p in everything["presetList"])
    assert set(everything["presetList"][0]) == {"preset", "presetType", "description", "createTime", "updateTime"}
    assert [p["preset"] for p in by_type] == ["alpha", "zeta"]
    assert [(p["preset"], p["param"]) for p in by_name] == [
        ("mid", {"width": 320}),
        ("zeta", {"f": "mp4"}),
    ]
    assert [p["preset"] for p in both] == ["zeta"]
    assert everything["errNum"] == 0 and everything["errMsg"] == "success"


def test_preset_list_accepts_the_java_sdks_presetType_spelling(local_service, client, raw_call):
    client.preset(preset_body("one", "avop"))
    client.preset(preset_body("two", "avinfo", param={}))

    answer = raw_call(local_service, "GetPresetList", query="withDetail=0&presetType=avinfo").json()

    assert [p["preset"] for p in answer["presetList"]] == ["two"]


@pytest.mark.parametrize(
    ("query", "field"),
    [("withDetail=2", "withDetail"), ("withDetail=yes", "withDetail"), ("presettype=avop%2Cavfoo", "presettype")],
)
def test_preset_list_refuses_bad_arguments(local_service, raw_call, query, field):
    answer = raw_call(local_service, "GetPresetList", query=query)

    assert answer.status_code == 200
    assert answer.json()["errNum"] == 1001
    assert field in answer.json()["errMsg"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"preset": None}, "preset"),
        ({"preset": 5}, "preset"),
        ({"presettype": None}, "presettype"),
        ({"presettype": "AVOP"}, "presettype"),
        ({"param": None}, "param"),
        ({"param": '{"f": "mp4"}'}, "param"),
        ({"param": ["f", "mp4"]}, "param"),
        ({"description": 5}, "description"),
        ({"param": {"f": "mp4", "VIDEO": {"vr": 75}}}, "param.VIDEO.vr"),
        ({"param": {"f": "mp4", "VIDEO": {"vb": "50k"}}}, "param.VIDEO.vb"),
        ({"param": {"f": "mp4", "VIDEO": {"vcodec": "vp9"}}}, "param.VIDEO.vcodec"),
        ({"param": {"f": "mp4", "VIDEO": {"rotate": "400"}}}, "param.VIDEO.rotate"),
        ({"param": {"f": "mp4", "VIDEO": {"width": -1}}}, "param.VIDEO.width"),
        ({"param": {"f": "mp4", "VIDEO": {"as": 2}}}, "param.VIDEO.as"),
        ({"param": {"f": "mp4", "AUDIO": {"ab": "1m"}}}, "param.AUDIO.ab"),
        ({"param": {"f": "mp4", "AUDIO": {"ar": "cd"}}}, "param.AUDIO.ar"),
        ({"param": {"f": "mp4", "AUDIO": {"acodec": "opus"}}}, "param.AUDIO.acodec"),
        ({"param": {"f": "mp4", "AUDIO": {"an": True}}}, "param.AUDIO.an"),
        ({"param": {"f": "mp4", "AUDIO": "aac"}}, "param.AUDIO"),
        ({"param": {"f": "", "VIDEO": {}}}, "param.f"),
        ({"param": {"intelligentSwitch": 3}}, "param.intelligentSwitch"),
    ],
)
def test_preset_refuses_invalid_fields_and_names_them(client, change, field):
    body = preset_body()
    for key, value in change.items():
        if value is None:
            del body[key]
        else:
            body[key] = value

    error = api_error(client.preset, body)

    assert (error.status, error.err_num) == (200, 1001)
    assert field in error.err_msg
    assert client.get_preset_list(withDetail=0) == []


def test_documented_values_at_the_limits_are_accepted(client):
    param = {
        "f": "mp4",
        "intelligentSwitch": 2,
        "VIDEO": {"vr": "60", "vb": "10m", "vcodec": "copy", "rotate": "360", "as": "1", "shortSide": 360},
        "AUDIO": {"ab": "20kb", "ar": "96000", "acodec": "copy", "an": 1},
    }

    assert client.call("Preset", preset_body(param=param))["errNum"] == 0


def test_other_preset_types_store_param_as_given(client):
    param = {"hls_time": 10, "VIDEO": {"vr": 500}, "anything": {"nested": True}}

    client.preset(preset_body("seg", "avm3u8", param=param))

    assert client.get_preset_detail(preset="seg")["param"] == {
        "hls_time": 10,
        "VIDEO": {"vr": "500"},
        "anything": {"nested": True},
    }


def test_preset_name_taken_is_refused(client):
    client.preset(preset_body(description="first"))

    error = api_error(client.preset, preset_body(presettype="avinfo", param={}))

    assert error.err_num == 1002
    assert "preset_avop1" in error.err_msg
    assert client.get_preset_detail(preset="preset_avop1")["description"] == "first"


def test_update_preset_replaces_given_fields_and_sets_update_time(service_factory, make_client, manual_clock):
    client = make_client(service_factory(clock=manual_clock), clock=manual_clock)
    client.preset(preset_body(param={"f": "mp4", "VIDEO": {"vr": 25}}))
    manual_clock.advance(seconds=90)

    answer = client.call("UpdatePreset", {"preset": "preset_avop1", "param": {"f": "flv"}})
    assert answer == {"errNum": 0, "errMsg": "success"}
    after_param = client.get_preset_detail(preset="preset_avop1")
    client.update_preset({"preset": "preset_avop1", "presettype": "avop", "description": "new"})
    after_description = client.get_preset_detail(preset="preset_avop1")

    assert after_param["param"] == {"f": "flv"}
    assert after_param["description"] == "desc:preset_avop1"
    assert TIME.fullmatch(after_param["updateTime"])
    assert after_param["updateTime"] != after_param["createTime"]
    assert after_description["param"] == {"f": "flv"}
    assert after_description["description"] == "new"


@pytest.mark.parametrize(
    ("body", "err_num", "field"),
    [
        ({"description": "no name"}, 1001, "preset"),
        ({"preset": "missing", "description": "x"}, 1003, "missing"),
        ({"preset": "preset_avop1", "presettype": "avfoo"}, 1001, "presettype"),
        ({"preset": "preset_avop1", "param": "flv"}, 1001, "param"),
        ({"preset": "preset_avop1", "param": {"VIDEO": {"vr": 0}}}, 1001, "param.VIDEO.vr"),
        ({"preset": "preset_avop1", "description": ["x"]}, 1001, "description"),
    ],
)
def test_update_preset_errors(client, body, err_num, field):
    client.preset(preset_body())

    error = api_error(client.update_preset, body)

    assert (error.err_num, field in error.err_msg) == (err_num, True)
    detail = client.get_preset_detail(preset="preset_avop1")
    assert (detail["presetType"], detail["param"], detail["updateTime"]) == ("avop", {"f": "mp4"}, "")


def test_del_preset(client):
    client.preset(preset_body())

    assert client.call("DelPreset", {"preset": "preset_avop1"}) == {"errNum": 0, "errMsg": "success"}
    assert api_error(client.get_preset_detail, preset="preset_avop1").err_num == 1003
    assert api_error(client.del_preset, preset="preset_avop1").err_num == 1003
    missing_name = api_error(client.del_preset, preset="")
    assert (missing_name.err_num, "preset" in missing_name.err_msg) == (1001, True)


def test_get_preset_detail_errors(client):
    assert api_error(client.get_preset_detail, preset="nope").err_num == 1003
    assert api_error(client.get_preset_detail, preset="").err_num == 1001


def test_ten_thousand_presets_list_in_one_answer(local_service, client):
    with local_service.store.transaction(write=True) as tx:
        for i in range(10_000):
            row = PresetRow(f"p{i:05d}", "avop", "", json.dumps({"f": "mp4", "VIDEO": {"vr": 25}}), 0.0, None)
            tx.insert_preset(local_service.credentials.access_key_id, row)

    listed = client.get_preset_list(withDetail=1)
    some = client.get_preset_list(withDetail=0, presettype="avop", presets=",".join(f"p{i:05d}" for i in range(600)))

    assert len(listed) == 10_000
    assert [p["preset"] for p in listed] == sorted(p["preset"] for p in listed)
    assert listed[-1]["param"] == {"f": "mp4", "VIDEO": {"vr": "25"}}
    assert len(some) == 600


def test_non_json_body_is_an_invalid_parameter(local_service, raw_call):
    for body in (b"{not json", b"[1, 2]"):
        answer = raw_call(local_service, "Preset", body=body)
        assert (answer.status_code, answer.json()["errNum"]) == (200, 1001)
        assert "body" in answer.json()["errMsg"]
