"""The drop-in shim (``presetsync.offline.getOfflineClient``) gives error answers whole, as the
official SDK does: an HTTP 200 answer with ``errNum`` != 0 is returned as the dict it is, every
field kept; an HTTP error raises ApiError whose ``.response["Error"]`` is the answer's Error
object as it is and whose ``.body`` is the whole answer."""

from __future__ import annotations

import pytest
from scripted import Reply, ScriptedServer

from presetsync.errors import ApiError
from presetsync.offline import getOfflineClient


def shim_for(url: str, key: str = "AKLTEXAMPLESHIM0000", secret: str = "ExampleShimSecret/0000"):
    client = getOfflineClient("offline", "cn-beijing-6", ks_access_key_id=key, ks_secret_access_key=secret)
    client.client.endpoint = url
    return client


def test_an_errnum_answer_comes_back_whole():
    answer = {"errNum": 1001, "errMsg": "preset not exist", "RequestId": "r-7", "detail": {"field": "preset"}}
    with ScriptedServer([Reply(200, answer)]) as server:
        assert shim_for(server.url).GetPresetDetail("p1") == answer


def test_an_http_error_keeps_its_error_object_and_body_whole():
    body = {"Error": {"Code": "Bad", "Message": "m", "Type": "Sender"}, "RequestId": "r-8", "errNum": 4000}
    with ScriptedServer([Reply(400, body)]) as server:
        with pytest.raises(ApiError) as info:
            shim_for(server.url).DelPreset("p1")
    assert info.value.response == {
        "Error": {"Code": "Bad", "Message": "m", "Type": "Sender"},
        "ResponseMetadata": {"RequestId": "r-8", "HTTPStatusCode": 400},
    }
    assert info.value.body == body


def test_the_local_services_error_answers_come_back_as_sent(local_service, raw_call):
    credentials = local_service.credentials
    shim = shim_for(local_service.url, credentials.access_key_id, credentials.secret_access_key)
    refused = shim_for(local_service.url, credentials.access_key_id, "ExampleWrongSecret/000000000000")

    missing = shim.GetPresetDetail("no_such_preset")
    sent = raw_call(local_service, "GetPresetDetail", query="preset=no_such_preset").json()
    with pytest.raises(ApiError) as info:
        refused.GetPresetList()

    assert missing == sent and missing["errNum"] == 1003
    body = info.value.body
    assert set(body) == {"errNum", "errMsg", "Error", "RequestId"} and body["errNum"] == 4030
    assert info.value.response["Error"] == body["Error"] and body["Error"]["Code"] == "SignatureDoesNotMatch"
    assert info.value.response["ResponseMetadata"] == {"RequestId": body["RequestId"], "HTTPStatusCode": 403}
