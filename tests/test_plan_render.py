"""Golden files for the three plan renderers, on a fixture that has every kind of change.

Regenerate after an intended change: PRESETSYNC_UPDATE_GOLDEN=1 pytest tests/test_plan_render.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from presetsync.presets.live import fetch_live
from presetsync.presets.plan import ABSENT, CREATE, DELETE, REPLACE, UPDATE, build_plan
from presetsync.presets.render import render_json, render_markdown, render_text
from presetsync.presets.validate import load_presets

HERE = Path(__file__).parent
FIXTURE = HERE / "fixtures" / "plan"
GOLDEN = HERE / "golden"


@pytest.fixture
def plan(client, monkeypatch):
    for body in yaml.safe_load((FIXTURE / "live.yaml").read_text(encoding="utf-8")):
        client.preset(body)
    monkeypatch.chdir(FIXTURE)
    loaded = load_presets([Path("desired")])
    assert loaded.problems == []
    return build_plan(loaded.presets, fetch_live(client), prune=True, manage=["old_*", "thumb"])


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("PRESETSYNC_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{name} differs; see the module docstring to regenerate"


def test_the_plan_has_every_kind_of_change(plan):
    assert [(c.action, c.name) for c in plan.changes] == [
        (REPLACE, "thumb"),
        (CREATE, "new_720p"),
        (UPDATE, "web_480p"),
        (DELETE, "old_flv"),
    ]
    assert plan.unchanged == ["same_audio"]
    update = plan.changes[2]
    assert {f.path: (f.before, f.after) for f in update.fields} == {
        "description": ("480p for the web", "480p for the web, more bits"),
        "param.AUDIO.ar": (44100, ABSENT),
        "param.VIDEO.vb": (1000000, 1500000),
        "param.VIDEO.vr": (ABSENT, 25),
    }
    assert "legacy_keep" not in [c.name for c in plan.changes], "unmanaged presets are never deleted"


def test_text_golden(plan):
    check_golden("plan.txt", render_text(plan))


def test_text_colour_golden(plan):
    text = render_text(plan, colour=True)
    assert "\x1b[32m+ new_720p" in text
    check_golden("plan.colour.txt", text)


def test_json_golden(plan):
    text = render_json(plan)
    data = json.loads(text)
    assert data["format_version"] == 1
    assert data["summary"] == {"create": 1, "update": 1, "replace": 1, "delete": 1, "unchanged": 1}
    check_golden("plan.json", text)


def test_markdown_golden(plan):
    text = render_markdown(plan)
    assert text.count("<details>") == 4
    check_golden("plan.md", text)


def test_an_empty_plan_says_so(client):
    plan = build_plan([], fetch_live(client))
    assert render_text(plan) == "No changes. The live presets match the files.\n"
    assert json.loads(render_json(plan))["changes"] == []


class _Terminal:
    def isatty(self):
        return True


def test_colour_only_on_a_terminal_and_never_with_no_color(monkeypatch):
    from presetsync.presets.render import use_colour

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert use_colour(_Terminal()) is True
    assert use_colour(object()) is False
    monkeypatch.setenv("NO_COLOR", "1")
    assert use_colour(_Terminal()) is False
    monkeypatch.setenv("NO_COLOR", "")
    assert use_colour(_Terminal()) is True, "an empty NO_COLOR does not count (no-color.org)"


def test_a_list_without_params_falls_back_to_one_detail_per_preset():
    from scripted import Reply, ScriptedServer

    from presetsync.api import Credentials, OfflineClient

    listing = {"presetList": [{"preset": "a1", "presetType": "avop", "description": ""}], "errNum": 0}
    detail = {"presetdetail": {"presetType": "avop", "param": {"f": "mp4"}, "description": "d"}, "errNum": 0}
    with ScriptedServer([Reply(200, listing), Reply(200, detail)]) as server:
        client = OfflineClient(endpoint=server.url, credentials=Credentials("AKLTEXAMPLE", "x"))
        live = fetch_live(client)
    assert live["a1"].param == {"f": "mp4"} and live["a1"].description == "d"
    assert [r.path for r in server.requests] == ["/?withDetail=1&presettype=&presets=", "/?preset=a1"]
