"""Property: presets created in one spelling and declared in another give an empty plan.

"64k", "64kb", "0.064M", "64000" and 64000 are one bitrate; "25" and 25 one frame rate; a
documented default written out equals the field left out. Whatever mix of spellings was sent
to the service and whatever mix is in the file, the plan right after must be empty.
"""

from __future__ import annotations

import itertools
import tempfile
from decimal import Decimal
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from presetsync.local.server import LocalService
from presetsync.presets.live import fetch_live
from presetsync.presets.plan import build_plan
from presetsync.presets.validate import load_presets

NAMES = (f"prop_{i}" for i in itertools.count())


def bitrate_spellings(value: int) -> st.SearchStrategy:
    def scaled(unit: int, suffixes: list[str]) -> st.SearchStrategy:
        number = format((Decimal(value) / unit).normalize(), "f")
        return st.sampled_from(suffixes).map(lambda s: f"{number}{s}")

    return st.one_of(
        st.just(value),
        st.just(str(value)),
        scaled(1000, ["k", "K", "kb", "KB", "Kb"]),
        scaled(1_000_000, ["m", "M", "mb", "MB"]),
    )


def number_spellings(value: int) -> st.SearchStrategy:
    return st.sampled_from([value, str(value)])


def default_spellings(value) -> st.SearchStrategy:
    """A documented default: written out, or left out (None drops the key)."""
    return st.sampled_from([value, None])


@st.composite
def avop_pair(draw):
    """The same avop param, spelled twice: (as sent to the service, as written in the file)."""
    audio = {
        "ab": draw(st.integers(20, 319)) * 1000 + draw(st.sampled_from([0, 0, 500, 125])),
        "ar": draw(st.sampled_from([8000, 22050, 44100, 48000, 96000])),
        "acodec": "aac",
        "an": 0,
    }
    video = {
        "vb": draw(st.integers(100, 10_000)) * 1000,
        "vr": draw(st.integers(1, 60)),
        "width": draw(st.integers(16, 4096)),
        "height": draw(st.integers(16, 4096)),
        "vcodec": draw(st.sampled_from(["h264", "h265"])),
        "as": 0,
    }
    param_f = draw(st.sampled_from(["mp4", "flv", "mkv"]))

    def spell(file_side: bool):
        a = {
            "ab": draw(bitrate_spellings(audio["ab"])),
            "ar": draw(number_spellings(audio["ar"])),
            "acodec": draw(default_spellings(audio["acodec"])),
            "an": draw(default_spellings(audio["an"])),
        }
        v = {
            "vb": draw(bitrate_spellings(video["vb"])),
            "vr": draw(number_spellings(video["vr"])),
            # Files write integer fields as integers; the service may echo them as strings.
            "width": video["width"] if file_side else draw(number_spellings(video["width"])),
            "height": video["height"] if file_side else draw(number_spellings(video["height"])),
            "vcodec": video["vcodec"] if video["vcodec"] != "h264" else draw(default_spellings("h264")),
            "as": draw(default_spellings(0)),
        }
        param = {
            "f": param_f,
            "AUDIO": {k: x for k, x in a.items() if x is not None},
            "VIDEO": {k: x for k, x in v.items() if x is not None},
        }
        if draw(st.booleans()):
            param["intelligentSwitch"] = 0
        return param

    return spell(False), spell(True)


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(pair=avop_pair(), description=st.sampled_from([None, "", "web"]))
def test_plan_after_creating_in_any_spelling_is_empty(pair, description):
    sent, written = pair
    name = next(NAMES)
    body = {"preset": name, "presettype": "avop", "param": sent}
    if description is not None:
        body["description"] = description
    SERVICE_CLIENT.preset(body)

    file_preset = {"preset": name, "presettype": "avop", "param": written}
    if description:
        file_preset["description"] = description
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.yaml"
        path.write_text(yaml.safe_dump({"presets": [file_preset]}), encoding="utf-8")
        loaded = load_presets([path])
    assert loaded.problems == [], [str(p) for p in loaded.problems]
    plan = build_plan(loaded.presets, fetch_live(SERVICE_CLIENT), targets=[name])
    assert plan.changes == [], [(c.action, c.fields) for c in plan.changes]
    assert plan.unchanged == [name]


SERVICE_DIR = tempfile.TemporaryDirectory()
SERVICE = None
SERVICE_CLIENT = None


def setup_module(module):
    global SERVICE, SERVICE_CLIENT
    SERVICE = LocalService(Path(SERVICE_DIR.name) / "prop.sqlite", task_durations=(0, 0)).start()
    SERVICE_CLIENT = SERVICE.client()


def teardown_module(module):
    SERVICE_CLIENT.close()
    SERVICE.stop()
    SERVICE_DIR.cleanup()
