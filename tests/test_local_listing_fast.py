"""GetPresetList answers the same bytes as when it was built the plain way (every stored param
parsed, echoed with the documented types and encoded, every time formatted), although it now
splices each preset's stored wire param (``presets.param_wire``) and formats each second once.

The reference below is that plain way, written out here; the answers compared are the raw
HTTP bodies of the running local service.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path

import pytest

from presetsync.local.params import echo_param
from presetsync.local.protocol import RawJSON, encode, encode_text, success
from presetsync.local.server import LocalService
from presetsync.local.store import SCHEMA_VERSION, PresetRow, Store

# Strings and numbers that the echo converts (vr 25 -> "25", "1280" -> 1280, 5.0 -> 5,
# 44100 -> "44100", 128000 -> "128000"), and text that JSON must escape.
PRESETS = [
    {
        "preset": "web_720p",
        "presettype": "avop",
        "description": 'H.264 "web" \\ 720p\n中文 ✓',
        "param": {
            "f": "mp4",
            "AUDIO": {"acodec": "aac", "ab": 128000, "ar": 44100, "an": "0", "channels": "2"},
            "VIDEO": {"vcodec": "h264", "vb": "2.5m", "vr": 25, "width": "1280", "height": 720, "rotate": 90},
        },
    },
    {
        "preset": "audio_only",
        "presettype": "avop",
        "description": "",
        "param": {"f": "mp3", "AUDIO": {"acodec": "mp3", "ab": "64k", "ar": "44100"}, "VIDEO": {"vn": "1"}},
    },
    {
        "preset": "hls_ladder",
        "presettype": "avm3u8",
        "description": "tab\there, \u0001 control, emoji \U0001f3ac",
        "param": {
            "f": "m3u8",
            "hls_time": "10",
            "variants": [{"vb": 800000, "width": "640", "label": "ünï"}, {"vb": "1.5m", "height": 1080.0}, 7, None],
            "flags": {"enabled": True, "ratio": 0.1, "big": 12345678901234567890, "neg": -0.0},
        },
    },
    {
        "preset": "snap",
        "presettype": "avsnapshot",
        "description": "snapshots",
        "param": {"f": "jpg", "interval": 5.0, "width": 320, "extra": "kept as given"},
    },
]


def time_text(timestamp: float | None, tz: tzinfo | None) -> str:
    return "" if timestamp is None else datetime.fromtimestamp(timestamp, tz).strftime("%Y-%m-%d %H:%M:%S")


def plain_listing(service: LocalService, *, with_detail: bool = True, names: set[str] | None = None) -> bytes:
    """The listing's bytes built the plain way from the rows as stored."""
    store = Store(service.db_path)
    try:
        with store.transaction() as tx:
            rows = tx.list_presets(service.credentials.access_key_id, with_param=with_detail)
    finally:
        store.close()
    items = []
    for row in rows:
        if names is not None and row.name not in names:
            continue
        item = {
            "preset": row.name,
            "presetType": row.presettype,
            "description": row.description,
            "createTime": time_text(row.created_at, service.tz),
            "updateTime": time_text(row.updated_at, service.tz),
        }
        if with_detail:
            item["param"] = echo_param(json.loads(row.param))
        items.append(item)
    answer = {"presetList": items, "errNum": 0, "errMsg": "success"}
    return json.dumps(answer, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def listing(raw_call, service: LocalService, query: str = "withDetail=1") -> bytes:
    response = raw_call(service, "GetPresetList", query=query)
    assert response.status_code == 200, response.text
    return response.content


def assert_listings_plain(raw_call, service: LocalService) -> None:
    assert listing(raw_call, service) == plain_listing(service)
    assert listing(raw_call, service, "withDetail=0") == plain_listing(service, with_detail=False)
    names = {"web_720p", "snap", "absent"}
    filtered = listing(raw_call, service, "withDetail=1&presets=web_720p,snap,absent")
    assert filtered == plain_listing(service, names=names)


def create_presets(client) -> None:
    for body in PRESETS:
        assert client.call("Preset", body)["errNum"] == 0


def test_listing_equals_the_plain_answer_byte_for_byte(local_service, client, raw_call):
    create_presets(client)

    body = listing(raw_call, local_service)

    assert body == plain_listing(local_service)
    listed = json.loads(body)["presetList"]
    assert [item["preset"] for item in listed] == ["audio_only", "hls_ladder", "snap", "web_720p"]
    assert listed[3]["param"]["VIDEO"] == {
        **{"vcodec": "h264", "vb": "2.5m", "vr": "25", "width": 1280, "height": 720, "rotate": "90"}
    }
    assert_listings_plain(raw_call, local_service)


def test_listing_stays_plain_after_update_and_delete(local_service, client, raw_call):
    create_presets(client)
    listing(raw_call, local_service)  # formatted seconds are now cached

    # a new param; then one whose text changes but whose echo does not (25 -> "25")
    client.call("UpdatePreset", {"preset": "web_720p", "param": {"f": "flv", "VIDEO": {"vr": 30, "width": "640"}}})
    client.call("UpdatePreset", {"preset": "snap", "param": {**PRESETS[3]["param"], "width": "320"}})
    client.call("UpdatePreset", {"preset": "audio_only", "description": "only the description"})
    client.call("UpdatePreset", {"preset": "hls_ladder", "presettype": "avop", "param": {"f": "mp4"}})
    with sqlite3.connect(local_service.db_path) as conn:  # each update stored its wire param
        assert conn.execute("SELECT count(*) FROM presets WHERE param_wire IS NULL").fetchone() == (0,)
    conn.close()
    assert_listings_plain(raw_call, local_service)
    assert json.loads(listing(raw_call, local_service))["presetList"][3]["param"] == {
        "f": "flv",
        "VIDEO": {"vr": "30", "width": 640},
    }

    client.call("DelPreset", {"preset": "snap"})
    client.call("Preset", {**PRESETS[3], "param": {"f": "png", "interval": "2"}})  # the same name again
    client.call("DelPreset", {"preset": "hls_ladder"})
    assert_listings_plain(raw_call, local_service)
    assert b"hls_ladder" not in listing(raw_call, local_service)


def test_the_listing_splices_the_stored_wire_param(local_service, client, raw_call):
    create_presets(client)
    with sqlite3.connect(local_service.db_path) as conn:
        conn.execute("UPDATE presets SET param_wire = '{\"spliced\":1}' WHERE name = 'snap'")
    conn.close()

    listed = json.loads(listing(raw_call, local_service))["presetList"]

    assert listed[2]["preset"] == "snap" and listed[2]["param"] == {"spliced": 1}


def test_a_param_changed_by_another_writer_is_never_listed_stale(local_service, client, raw_call):
    """An older version on the same file updates ``param`` alone: the trigger empties
    ``param_wire`` and the listing converts the new param."""
    create_presets(client)
    with sqlite3.connect(local_service.db_path) as conn:
        conn.execute("""UPDATE presets SET param = '{"f": "ts", "VIDEO": {"vr": 12}}' WHERE name = 'snap'""")
        assert conn.execute("SELECT param_wire FROM presets WHERE name = 'snap'").fetchone() == (None,)
    conn.close()

    assert_listings_plain(raw_call, local_service)
    assert json.loads(listing(raw_call, local_service))["presetList"][2]["param"] == {"f": "ts", "VIDEO": {"vr": "12"}}


SECOND = 1_700_000_000  # 2023-11-14 22:13:20 UTC
EDGES = [
    SECOND + 0.0,
    SECOND + 0.5,
    SECOND + 0.9999989,  # the last fractions that keep their second
    SECOND + 0.9999994,
    SECOND + 0.9999996,  # rounded to microseconds: the next second
    SECOND + 0.99999999,
    1_710_054_000.25,  # 2024-03-10 07:00:00.25 UTC: New York switches to summer time
    1_730_613_600.75,  # 2024-11-03 06:00:00.75 UTC: ... and back
    1_730_613_599.9999997,
]


@pytest.mark.parametrize(
    "tz",
    [
        timezone.utc,
        None,  # the machine's zone
        timezone(timedelta(hours=5, minutes=30)),
        timezone(timedelta(seconds=0.5)),  # not a whole second: formatted the plain way
        "America/New_York",
    ],
    ids=["utc", "local", "plus0530", "half-second", "new-york"],
)
def test_times_equal_the_plain_formatting_at_the_edges(service_factory, raw_call, tz):
    if isinstance(tz, str):
        zoneinfo = pytest.importorskip("zoneinfo")
        try:
            tz = zoneinfo.ZoneInfo(tz)
        except zoneinfo.ZoneInfoNotFoundError:
            pytest.skip("no time zone data")
    service = service_factory(tz=tz)
    store = Store(service.db_path)
    with store.transaction(write=True) as tx:
        for i, created in enumerate(EDGES):
            updated = None if i % 2 else EDGES[-1 - i]
            tx.insert_preset(service.credentials.access_key_id, PresetRow(f"p{i}", "avop", "", "{}", created, updated))
    store.close()

    for _ in range(2):  # formatting, then the formatted seconds kept
        assert listing(raw_call, service) == plain_listing(service)


# The presets table of schema version 1 (the service creates the others).
V1_PRESETS = """
CREATE TABLE presets (
    account TEXT NOT NULL, name TEXT NOT NULL, presettype TEXT NOT NULL, description TEXT NOT NULL,
    param TEXT NOT NULL, created_at REAL NOT NULL, updated_at REAL, PRIMARY KEY (account, name)
) WITHOUT ROWID
"""


def test_a_version_1_store_is_migrated(service_factory, raw_call, example_accounts, tmp_path: Path):
    account = next(iter(example_accounts))
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute(V1_PRESETS)
        conn.execute("PRAGMA user_version = 1")
        for i, body in enumerate(PRESETS):
            conn.execute(
                "INSERT INTO presets VALUES (?, ?, ?, ?, ?, ?, ?)",
                (account, body["preset"], body["presettype"], body["description"], json.dumps(body["param"]), i, None),
            )
    conn.close()

    service = service_factory("old.sqlite", accounts=example_accounts)

    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,) == (2,)
        wires = conn.execute("SELECT name, param_wire FROM presets ORDER BY name").fetchall()
    conn.close()
    assert [name for name, _ in wires] == sorted(body["preset"] for body in PRESETS)
    assert all(wire is not None for _, wire in wires)
    assert_listings_plain(raw_call, service)


def test_raw_json_is_spliced_as_the_encoder_writes_the_value():
    items = [{"preset": "a", "param": {"vr": "25", "text": '中文 "q"'}}, {"preset": "b"}]

    spliced = encode(success(presetList=RawJSON(encode_text(items)), total=2))

    assert spliced == encode(success(presetList=items, total=2))
    assert spliced.startswith(b'{"presetList":[{"preset":"a"') and spliced.endswith(b',"errMsg":"success"}')
