"""presetsync and the official SDK sign 250 random requests identically.

Both clients run in this process with the same frozen clock and fake keys; each request is
captured at the transport (the SDK's HTTP session's send, our client's ``transport``), so
nothing touches the network. The official SDK (ksc-sdk-python, import kscore) is a
test-only dependency.
"""

from __future__ import annotations

import datetime as real_datetime
import random
import string
import types

import pytest

from presetsync.api import OPERATIONS, Credentials, OfflineClient
from presetsync.api.transport import Response

kscore_session = pytest.importorskip("kscore.session")
import kscore.auth  # noqa: E402

FROZEN = real_datetime.datetime(2024, 5, 20, 8, 30, 0)
ACCESS_KEY, SECRET = "AKLTEXAMPLEEQUIV0000", "ExampleSecret/equivalence+0000"
REGIONS = ["cn-beijing-6", "cn-shanghai-2", "eu-east-1"]
RESERVED = "!#$&'()*+,/:;=?@[] %~-._\"<>\\^`{|}"
UNICODE = "测试éñ€😀ßЖ\u00a0\u2010\t\n"
N_REQUESTS = 250


class _FrozenDatetime(real_datetime.datetime):
    @classmethod
    def utcnow(cls):
        return FROZEN


@pytest.fixture
def frozen_sdk_clock(monkeypatch):
    shim = types.SimpleNamespace(datetime=_FrozenDatetime)
    monkeypatch.setattr(kscore.auth, "datetime", shim)


class _Canned:
    status_code = 200
    headers: dict = {}
    content = b'{"errNum": 0, "errMsg": "success"}'


def sdk_client(region, captured):
    client = kscore_session.get_session().create_client(
        "offline", region, use_ssl=False, ks_access_key_id=ACCESS_KEY, ks_secret_access_key=SECRET
    )

    def send(request, **kwargs):
        body = request.body or b""
        headers = [(_text(n), _text(v)) for n, v in request.headers.items()]
        captured.append((request.method, request.url, headers, _bytes(body)))
        return _Canned()

    client._endpoint.http_session.send = send
    return client


class _CaptureTransport:
    """Stands in for the client's transport: records what it is asked to send."""

    def __init__(self, captured):
        self.captured = captured

    def request(self, method, url, headers, body):
        self.captured.append((method, url, list(headers), body))
        return Response(200, {}, _Canned.content)

    def close(self):
        pass


def our_client(region, captured):
    client = OfflineClient(
        region,
        credentials=Credentials(ACCESS_KEY, SECRET),
        clock=lambda: FROZEN.replace(tzinfo=real_datetime.timezone.utc),
    )
    client.transport = _CaptureTransport(captured)
    return client


def _text(value):
    return value.decode("utf-8") if isinstance(value, bytes) else value


def _bytes(body):
    return body.encode("utf-8") if isinstance(body, str) else body


def random_text(rng, min_len=0, max_len=12):
    alphabet = string.ascii_letters + string.digits + RESERVED + UNICODE
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(min_len, max_len)))


def random_int(rng):
    return rng.choice([0, 1, -1, 20161101, 2**31, 2**63 + 7, 10**30, -(10**18), rng.randint(-1000, 10**9)])


def random_json(rng, depth=0):
    kind = rng.randrange(8 if depth < 3 else 5)
    if kind == 0:
        return random_text(rng)
    if kind == 1:
        return random_int(rng)
    if kind == 2:
        return rng.choice([True, False, None])
    if kind == 3:
        return rng.choice([0.5, -1e-7, 1.25e6, 3.141592653589793, 1e300])
    if kind == 4:
        return ""
    if kind == 5:
        return [random_json(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {random_text(rng, 1, 6): random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def random_call(rng):
    op = rng.choice(list(OPERATIONS.values()))
    if op.params is None:
        body = {random_text(rng, 1, 8): random_json(rng) for _ in range(rng.randint(0, 6))}
        if rng.random() < 0.5:
            body = {"preset": random_text(rng), "presettype": "avop", **body}
        return op, body
    params = rng.sample(list(op.params), rng.randint(0, len(op.params)))
    args = {}
    for p in params:
        if p.type is int:
            args[p.name] = random_int(rng)
        else:
            args[p.name] = random_text(rng, p.min_length, p.min_length + 20)
    return op, args


def test_random_requests_are_identical_to_the_sdks(frozen_sdk_clock):
    rng = random.Random(20240520)
    sdk_seen, ours_seen = [], []
    sdk = {region: sdk_client(region, sdk_seen) for region in REGIONS}
    ours = {region: our_client(region, ours_seen) for region in REGIONS}
    compared = 0
    for _ in range(N_REQUESTS):
        region = rng.choice(REGIONS)
        op, args = random_call(rng)
        sdk_seen.clear()
        ours_seen.clear()
        getattr(sdk[region], op.snake_name)(**args)
        ours[region].call(op.name, args)  # what every typed method sends through
        assert len(sdk_seen) == len(ours_seen) == 1
        (s_method, s_url, s_headers, s_body), (o_method, o_url, o_headers, o_body) = sdk_seen[0], ours_seen[0]
        context = f"{op.name} {args!r} in {region}"
        assert o_method == s_method, context
        assert o_url == s_url, context
        assert o_body == s_body, context
        strip = {"user-agent"}
        assert [(n, v) for n, v in o_headers if n.lower() not in strip] == [
            (n, v) for n, v in s_headers if n.lower() not in strip
        ], context
        compared += 1
    assert compared == N_REQUESTS
