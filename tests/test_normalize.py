"""Normalisation: what the service treats as equal normalises equal, and nothing crashes."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from presetsync.presets.normalize import (
    normalize_param,
    normalize_preset,
    parse_bitrate,
    parse_number,
)

# -- bitrates and numbers -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "bits"),
    [
        ("64k", 64000),
        ("64kb", 64000),
        ("64K", 64000),
        ("64KB", 64000),
        ("64Kb", 64000),
        (64000, 64000),
        ("64000", 64000),
        (64000.0, 64000),
        ("1.25M", 1250000),
        ("1.25m", 1250000),
        ("1.25mb", 1250000),
        ("5m", 5000000),
        ("5MB", 5000000),
        ("0.5k", 500),
        (".5k", 500),
        ("500000", 500000),
        ("100.5k", 100500),
    ],
)
def test_bitrate_spellings_parse_to_bits_per_second(text: Any, bits: int):
    assert parse_bitrate(text) == bits


@pytest.mark.parametrize(
    "text", ["64 k", " 64k", "64kbps", "k64", "64g", "-64k", "1.2345k", "64000.5", "", "abc", None, True, [64], 1.5]
)
def test_non_bitrates_do_not_parse(text: Any):
    assert parse_bitrate(text) is None


def test_lenient_bitrate_parsing_ignores_surrounding_spaces():
    assert parse_bitrate(" 64k ", lenient=True) == 64000


@pytest.mark.parametrize(
    ("text", "integer", "number"),
    [
        ("25", False, 25),
        ("25.0", False, 25),
        ("29.97", False, 29.97),
        (25.0, False, 25),
        ("44100", True, 44100),
        ("44100.0", True, 44100),
        ("44100.5", True, None),
        ("+5", False, 5),
        ("-5", True, -5),
        ("1e3", False, None),
        ("nan", False, None),
        (float("inf"), False, None),
        (True, False, None),
        ("", False, None),
    ],
)
def test_numbers_and_numeric_strings(text: Any, integer: bool, number: Any):
    assert parse_number(text, integer=integer) == number
    if number is not None:
        assert type(parse_number(text, integer=integer)) is type(number)


# -- the canonical form -----------------------------------------------------------------------

# The GetPresetDetail response of the API usage document, as the service echoes it.
LIVE_ECHO = {
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


def test_live_echo_normalises_to_the_canonical_form():
    assert normalize_param("avop", LIVE_ECHO) == {
        "f": "flv",
        "AUDIO": {"ab": 64000, "ar": 44100},
        "VIDEO": {"vb": 780000, "vr": 13, "width": 500, "height": 600, "rotate": 0},
    }


def test_what_a_user_writes_equals_the_live_echo():
    written = {
        "f": "flv",
        "AUDIO": {"ab": "64kb", "ar": 44100},
        "VIDEO": {"vb": "780k", "vr": 13, "width": 500, "height": 600, "rotate": 0},
    }
    assert normalize_param("avop", written) == normalize_param("avop", LIVE_ECHO)


EQUAL = [
    ("avop", {"AUDIO": {"ab": "64k"}}, {"AUDIO": {"ab": 64000}}),
    ("avop", {"AUDIO": {"ab": "64k"}}, {"AUDIO": {"ab": "64000"}}),
    ("avop", {"AUDIO": {"ab": "64K"}}, {"AUDIO": {"ab": "64kb"}}),
    ("avop", {"VIDEO": {"vb": "1.25M"}}, {"VIDEO": {"vb": 1250000}}),
    ("avop", {"VIDEO": {"vb": "5m"}}, {"VIDEO": {"vb": "5000k"}}),
    ("avop", {"VIDEO": {"vr": "25"}}, {"VIDEO": {"vr": 25}}),
    ("avop", {"VIDEO": {"vr": 25.0}}, {"VIDEO": {"vr": 25}}),
    ("avop", {"VIDEO": {"width": "640"}}, {"VIDEO": {"width": 640}}),
    ("avop", {"VIDEO": {"rotate": "90"}}, {"VIDEO": {"rotate": 90}}),
    ("avop", {"AUDIO": {"ar": "44100"}}, {"AUDIO": {"ar": 44100}}),
    ("avop", {"intelligentSwitch": 0}, {}),
    ("avop", {"intelligentSwitch": "0"}, {}),
    ("avop", {"AUDIO": {"an": 0, "acodec": "aac"}}, {}),
    ("avop", {"VIDEO": {"as": 0, "vcodec": "h264", "vn": 0}}, {}),
    ("avop", {"AUDIO": {}, "VIDEO": {}}, {}),
    ("avop", {"AUDIO": None}, {}),
    ("avop", {"VIDEO": {"rotate": None, "vb": "1m"}}, {"VIDEO": {"vb": "1000k"}}),
    ("avop", {"VIDEO": {"rotate": "", "vb": "1m"}}, {"VIDEO": {"vb": "1000k"}}),
    ("avm3u8", {"AUDIO": {"acodec": "aac", "ab": "96k"}}, {"AUDIO": {"ab": 96000}}),
    ("avsample", {"interval": "10", "width": "320"}, {"interval": 10, "width": 320}),
    ("avlogo", {"IMAGE": [{"logoUrl": "u", "offsetX": "10"}]}, {"IMAGE": [{"logoUrl": "u", "offsetX": 10.0}]}),
    ("avinfo", {}, None),
]

NOT_EQUAL = [
    ("avop", {"VIDEO": {"rotate": "0"}}, {"VIDEO": {"rotate": "360"}}),
    ("avop", {"VIDEO": {"rotate": "auto"}}, {"VIDEO": {"rotate": "0"}}),
    ("avop", {"f": "mp4"}, {"f": "MP4"}),
    ("avop", {"AUDIO": {"acodec": "mp3"}}, {}),
    ("avop", {"AUDIO": {"an": 1}}, {}),
    ("avop", {"VIDEO": {"vb": "1m"}}, {"VIDEO": {"vb": "1mbps"}}),
    ("avop", {"intelligentSwitch": 1}, {}),
    ("avop", {"VIDEO": {"vr": "29.97"}}, {"VIDEO": {"vr": 30}}),
]


@pytest.mark.parametrize(("presettype", "a", "b"), EQUAL)
def test_equivalent_spellings_normalise_equal(presettype: str, a: dict, b: Any):
    assert normalize_param(presettype, a) == normalize_param(presettype, b)


@pytest.mark.parametrize(("presettype", "a", "b"), NOT_EQUAL)
def test_different_settings_stay_different(presettype: str, a: dict, b: dict):
    assert normalize_param(presettype, a) != normalize_param(presettype, b)


def test_keys_come_in_catalog_order_then_sorted():
    param = {"zz": 1, "VIDEO": {"width": 1, "vb": "1m"}, "aa": 2, "AUDIO": {"ar": 8000}, "f": "mp4"}
    out = normalize_param("avop", param)
    assert list(out) == ["f", "AUDIO", "VIDEO", "aa", "zz"]
    assert list(out["VIDEO"]) == ["vb", "width"]


def test_each_field_reads_a_string_its_own_way_however_often_it_was_seen():
    """Canonical forms of strings are remembered per field: "25" is a number in VIDEO.vr, a
    string in f, a bitrate of 25 bit/s in VIDEO.vb; and a boolean is not its field's default 0."""
    for _ in range(2):  # the second time from what the first remembered
        out = normalize_param("avop", {"f": "25", "VIDEO": {"vr": "25", "vb": "25", "as": False, "vn": 0}})
        assert out == {"f": "25", "VIDEO": {"vb": 25, "vr": 25, "as": False}}
        assert type(out["VIDEO"]["vr"]) is int and type(out["VIDEO"]["as"]) is bool


def test_description_empty_is_the_same_as_none():
    a = normalize_preset("p1", "avop", "", {"f": "mp4"})
    b = normalize_preset("p1", "avop", None, {"f": "mp4"})
    assert a == b == {"preset": "p1", "presettype": "avop", "param": {"f": "mp4"}}
    assert normalize_preset("p1", "avop", "x", {})["description"] == "x"


def test_extra_fields_get_numeric_strings_normalised_and_others_are_kept():
    live = {"VIDEO": {"gop": "50", "vb": "1m"}, "clearmeta": "1", "mystery": "1"}
    written = {"VIDEO": {"gop": 50, "vb": "1000k"}, "clearmeta": 1, "mystery": "1"}
    assert normalize_param("avop", live, ("VIDEO.gop", "clearmeta")) == normalize_param(
        "avop", written, ("VIDEO.gop", "clearmeta")
    )
    # without the extra fields, unknown fields are compared as they are
    assert normalize_param("avop", live) != normalize_param("avop", written)


def test_extra_fields_may_be_given_as_the_configuration_mapping():
    param = {"VIDEO": {"gop": "50"}}
    by_type = {"avop": ["VIDEO.gop"], "avm3u8": []}
    assert normalize_param("avop", param, by_type) == {"VIDEO": {"gop": 50}}
    assert normalize_preset("p1", "avop", None, param, by_type)["param"] == {"VIDEO": {"gop": 50}}
    assert normalize_param("avm3u8", param, by_type) == {"VIDEO": {"gop": "50"}}


def test_param_as_json_text_is_decoded():
    assert normalize_param("avop", json.dumps(LIVE_ECHO)) == normalize_param("avop", LIVE_ECHO)


def test_input_is_not_modified():
    before = copy.deepcopy(LIVE_ECHO)
    out = normalize_param("avop", LIVE_ECHO)
    out["VIDEO"]["vb"] = 1
    assert before == LIVE_ECHO


@pytest.mark.parametrize(
    ("presettype", "param"),
    [
        ("avop", None),
        ("avop", "not json"),
        ("avop", "[1, 2]"),
        ("avop", [1, 2]),
        ("avop", 5),
        ("avop", {"VIDEO": "fast", "AUDIO": [1]}),
        ("avop", {"VIDEO": {"vb": "fast", "vr": [], "rotate": "left", "width": {"a": 1}, "as": True}}),
        ("avop", {1: "int key", None: "none key", "AUDIO": {"ab": float("nan")}}),
        ("avlogo", {"IMAGE": "x"}),
        ("avlogo", {"IMAGE": [1, None, {"offsetX": "a"}]}),
        ("nonsense", {"b": 1, "a": {"c": "2"}}),
        (None, {"a": 1}),
    ],
)
def test_normalisation_is_total_on_odd_live_data(presettype: Any, param: Any):
    first = normalize_param(presettype, param)
    # odd values are kept as they are (and normalising again changes nothing)
    assert normalize_param(presettype, first if first is not None else param) == first or param is None


def test_odd_values_are_kept_as_written():
    out = normalize_param("avop", {"VIDEO": {"vb": "fast", "rotate": "left", "as": True}, "x": {"y": "1"}})
    assert out == {"VIDEO": {"vb": "fast", "rotate": "left", "as": True}, "x": {"y": "1"}}


# -- properties ---------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=12,
)
field_names = st.sampled_from(["f", "AUDIO", "VIDEO", "IMAGE", "ab", "vb", "vr", "rotate", "width", "as", "x"])


@settings(max_examples=150, deadline=None)
@given(
    presettype=st.sampled_from(["avop", "avlogo", "avm3u8", "avsample", "avsnapshot", "avinfo", "other"]),
    param=st.dictionaries(field_names, json_values | st.dictionaries(field_names, json_values, max_size=4), max_size=5),
)
def test_normalisation_never_crashes_and_is_idempotent(presettype: str, param: dict):
    once = normalize_param(presettype, param)
    assert isinstance(once, dict)
    assert _same_json(normalize_param(presettype, once), once)


def _same_json(a: Any, b: Any) -> bool:
    # NaN != NaN: compare through JSON text, which spells NaN the same way twice
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


DEFAULTS = {
    (): {"intelligentSwitch": 0},
    ("AUDIO",): {"acodec": "aac", "an": 0},
    ("VIDEO",): {"vcodec": "h264", "as": 0, "vn": 0},
}


def _bitrate_spellings(bits: int) -> st.SearchStrategy:
    options: list[Any] = [bits, str(bits)]
    if bits % 1000 == 0:
        k = bits // 1000
        options += [f"{k}k", f"{k}kb", f"{k}K", f"{k}KB"]
    options.append(f"{format(Decimal(bits) / 1000000, 'f')}M")
    options.append(f"{format(Decimal(bits) / 1000, 'f')}kb")
    return st.sampled_from(options)


def _number_spellings(value: int) -> st.SearchStrategy:
    return st.sampled_from([value, str(value), float(value), f"{value}.0"])


SPELL = {
    "ab": _bitrate_spellings,
    "vb": _bitrate_spellings,
    "vr": _number_spellings,
    "ar": _number_spellings,
    "rotate": lambda v: st.sampled_from([v, str(v)]) if v != "auto" else st.just("auto"),
    "width": lambda v: st.sampled_from([v, str(v)]),
    "height": lambda v: st.sampled_from([v, str(v)]),
    "shortSide": lambda v: st.sampled_from([v, str(v)]),
    "intelligentSwitch": lambda v: st.sampled_from([v, str(v)]),
    "an": lambda v: st.sampled_from([v, str(v)]),
    "as": lambda v: st.sampled_from([v, str(v)]),
    "vn": lambda v: st.sampled_from([v, str(v)]),
}

audio = st.fixed_dictionaries(
    {},
    optional={
        "acodec": st.sampled_from(["aac", "mp3", "copy"]),
        "ab": st.integers(20, 320).map(lambda k: k * 1000) | st.integers(20000, 320000),
        "ar": st.sampled_from([8000, 22050, 44100, 48000, 96000]),
        "an": st.sampled_from([0, 1]),
    },
)
video = st.fixed_dictionaries(
    {},
    optional={
        "vcodec": st.sampled_from(["h264", "h265", "copy"]),
        "vb": st.integers(100, 10000).map(lambda k: k * 1000) | st.integers(100000, 10000000),
        "vr": st.integers(1, 60),
        "width": st.integers(16, 4096),
        "height": st.integers(16, 4096),
        "as": st.sampled_from([0, 1]),
        "rotate": st.integers(0, 360) | st.just("auto"),
        "vn": st.sampled_from([0, 1]),
    },
)
avop = st.fixed_dictionaries(
    {},
    optional={
        "f": st.sampled_from(["mp4", "flv", "mkv"]),
        "intelligentSwitch": st.sampled_from([0, 1, 2]),
        "AUDIO": audio,
        "VIDEO": video,
    },
)


def _expected(canonical: dict) -> dict:
    """The canonical form computed independently: defaults and empty sub-objects dropped."""
    out: dict = {}
    for key, value in canonical.items():
        if isinstance(value, dict):
            kept = {k: v for k, v in value.items() if DEFAULTS[(key,)].get(k, object()) != v}
            if kept:
                out[key] = kept
        elif DEFAULTS[()].get(key, object()) != value:
            out[key] = value
    return out


@st.composite
def respelled(draw: st.DrawFn, canonical: dict) -> dict:
    """*canonical* written another way: other spellings, defaults added or removed, empty objects."""

    def spell(obj: dict, path: tuple) -> dict:
        out = {}
        for key, value in obj.items():
            if isinstance(value, dict):
                out[key] = spell(value, (key,))
            elif value == DEFAULTS[path].get(key, object()) and draw(st.booleans()):
                continue  # a default written out may as well be left out
            else:
                out[key] = draw(SPELL[key](value)) if key in SPELL else value
        for key, default in DEFAULTS[path].items():
            if key not in obj and draw(st.booleans()):
                out[key] = draw(SPELL[key](default)) if key in SPELL else default
        return out

    written = spell(canonical, ())
    for sub in ("AUDIO", "VIDEO"):
        if sub not in written and draw(st.booleans()):
            written[sub] = {}
    return written


@settings(max_examples=300, deadline=None)
@given(data=st.data(), canonical=avop)
def test_equivalent_avop_spellings_normalise_to_the_same_canonical_form(data: st.DataObject, canonical: dict):
    first = data.draw(respelled(canonical))
    second = data.draw(respelled(canonical))
    expected = _expected(canonical)
    assert normalize_param("avop", first) == expected
    assert normalize_param("avop", second) == expected
    assert normalize_preset("p1", "avop", "", first) == normalize_preset("p1", "avop", None, second)
