"""Every answer shape the SDK's capture covers maps to a result or a typed error."""

from __future__ import annotations

import json

import pytest
from scripted import Reply, ScriptedServer
from test_client_retries import CREDS, TASK

from presetsync.api import OfflineClient, RetryPolicy
from presetsync.errors import ApiError, ParamValidationError


def client_for(url):
    return OfflineClient(endpoint=url, credentials=CREDS, retry=RetryPolicy(max_attempts=1))


def fetch(reply):
    with ScriptedServer([reply]) as server:
        return client_for(server.url).call("GetTaskByTaskID", {"taskid": TASK})  # the answer, whole


def fetch_error(reply) -> ApiError:
    with pytest.raises(ApiError) as info:
        fetch(reply)
    return info.value


def test_success_is_returned_unchanged():
    body = {"taskInfo": {"taskid": TASK, "isTop": "1"}, "errNum": 0, "errMsg": "success"}
    assert fetch(Reply(200, body, {"x-amzn-requestid": "req-123"})) == body


def test_empty_body_is_an_empty_dict_and_a_list_is_a_list():
    assert fetch(Reply(200, b"")) == {}
    assert fetch(Reply(200, [1, 2])) == [1, 2]


def test_errnum_inside_a_200_is_an_error():
    error = fetch_error(Reply(200, {"errNum": 1001, "errMsg": "preset not exist"}, {"x-amzn-requestid": "r9"}))
    assert (error.status, error.err_num, error.err_msg, error.request_id) == (200, 1001, "preset not exist", "r9")
    assert error.operation == "GetTaskByTaskID"
    assert str(error) == "GetTaskByTaskID failed: HTTP 200, errNum 1001: preset not exist (request id r9)"


def test_errnum_as_a_string_is_read_as_a_number():
    assert fetch_error(Reply(200, {"errNum": "1003", "errMsg": "x"})).err_num == 1003


@pytest.mark.parametrize("status", [200, 403, 502])
def test_a_body_that_is_not_json_gives_an_excerpt_not_a_decode_error(status):
    error = fetch_error(Reply(status, b"<html><body>Bad Gateway</body></html>" + b"x" * 500))
    assert error.status == status
    assert error.excerpt.startswith("<html><body>Bad Gateway")
    assert len(error.excerpt) == 200
    assert "is not JSON" in str(error)


@pytest.mark.parametrize(
    ("reply", "code", "message", "request_id"),
    [
        (
            Reply(400, {"Code": "InvalidParam", "Message": "bad taskid", "RequestId": "r1"}),
            "InvalidParam",
            "bad taskid",
            "r1",
        ),
        (
            Reply(403, {"Error": {"code": "SignatureDoesNotMatch", "message": "sig"}}),
            "SignatureDoesNotMatch",
            "sig",
            None,
        ),
        (Reply(500, {"Error": {"Code": "InternalError", "Message": "boom"}}), "InternalError", "boom", None),
        (
            Reply(301, {"Error": {"Code": "Moved", "Message": "m"}}, {"Location": "http://elsewhere/"}),
            "Moved",
            "m",
            None,
        ),
    ],
    ids=["400-flat", "403-lowercase", "500-json", "301-not-followed"],
)
def test_error_objects_in_any_spelling_are_read(reply, code, message, request_id):
    error = fetch_error(reply)
    assert (error.status, error.code, error.err_msg, error.request_id) == (reply.status, code, message, request_id)


def test_errnum_in_an_http_error_is_read():
    error = fetch_error(Reply(400, {"errNum": 40001, "errMsg": "invalid param"}))
    assert (error.status, error.err_num, error.err_msg) == (400, 40001, "invalid param")


def test_empty_http_error_still_names_the_status():
    error = fetch_error(Reply(404, b""))
    assert error.status == 404 and "HTTP 404" in str(error)


def test_response_attribute_is_shaped_like_the_sdk_client_error():
    error = fetch_error(Reply(400, {"Code": "InvalidParam", "Message": "bad taskid", "RequestId": "r1"}))
    assert error.response == {
        "Error": {"Code": "InvalidParam", "Message": "bad taskid"},
        "ResponseMetadata": {"RequestId": "r1", "HTTPStatusCode": 400},
    }


@pytest.mark.parametrize(
    ("operation", "args", "fragment"),
    [
        ("get_task_by_task_id", {"taskid": "x" * 34}, "at least 35 characters, got 34"),
        ("get_task_list", {"foo": 1}, "unknown parameter 'foo'"),
        ("get_task_list", {"startdate": "20240501"}, "'startdate' must be an integer"),
        ("get_task_list", {"limit": True}, "'limit' must be an integer"),
        ("get_preset_detail", {"preset": 5}, "'preset' must be a string"),
    ],
)
def test_invalid_arguments_are_refused_before_anything_is_sent(operation, args, fragment):
    with ScriptedServer([]) as server:
        with pytest.raises(ParamValidationError) as info:
            getattr(client_for(server.url), operation)(**args)
    assert fragment in str(info.value)
    assert server.requests == []


def test_a_taskid_longer_than_the_model_maximum_is_sent_like_the_sdk_does():
    with ScriptedServer([Reply(200, {"taskInfo": {}, "errNum": 0})]) as server:
        client_for(server.url).get_task_by_task_id(taskid="a" * 60)
    assert server.requests[0].path == "/?taskid=" + "a" * 60


def test_post_body_is_the_callers_dict_as_json_dumps_writes_it():
    body = {"preset": "测试", "param": {"n": [1, 2.5, None, True]}, "z": ""}
    with ScriptedServer([Reply()]) as server:
        client_for(server.url).preset(body)
    assert server.requests[0].body == json.dumps(body).encode()
    assert server.requests[0].path == "/"
