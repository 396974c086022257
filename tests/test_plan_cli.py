"""`presetsync validate` and `presetsync plan` through the command line, against the local service."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_validate import BAD_CASES, _expectations

from presetsync.cli import main


@pytest.fixture
def creds_env(local_service, monkeypatch):
    creds = local_service.credentials
    monkeypatch.setenv("KS_ACCESS_KEY_ID", creds.access_key_id)
    monkeypatch.setenv("KS_SECRET_ACCESS_KEY", creds.secret_access_key)
    monkeypatch.chdir(Path(__file__).parent)  # no presetsync.yaml here: defaults
    return local_service


@pytest.mark.parametrize("case", BAD_CASES, ids=lambda p: p.name)
def test_bad_files_exit_1_at_the_right_line_and_send_nothing(case, creds_env, capsys):
    service = creds_env
    file, line, _, text = _expectations(case)[0]
    relative = case.relative_to(Path(__file__).parent)
    where = f"{file.relative_to(Path(__file__).parent)}:{line}:"

    assert main(["validate", str(relative)]) == 1
    assert where in capsys.readouterr().out

    assert main(["plan", str(relative), "--endpoint", service.url]) == 1
    err = capsys.readouterr().err
    assert any(where in row and text in row for row in err.splitlines()), err
    assert "nothing was sent" in err
    assert service.stats.total == 0, "a bad preset file must not cause a single request"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


PRESET = """presets:
  - preset: web_720p
    presettype: avop
    param:
      f: mp4
      AUDIO: {ab: 128k, ar: 44100}
      VIDEO: {vb: 2.5m, width: 1280, height: 720}
"""


def test_plan_exit_codes_and_formats(creds_env, tmp_path, capsys):
    service = creds_env
    presets = write(tmp_path / "presets" / "web.yaml", PRESET)
    args = [str(presets), "--endpoint", service.url]

    assert main(["plan", *args, "--detailed-exitcode"]) == 2
    out = capsys.readouterr().out
    assert out.endswith("Plan: 1 to create, 0 to update, 0 to replace, 0 to delete.\n")
    assert "\x1b[" not in out, "no colour when stdout is not a terminal"
    assert main(["plan", *args]) == 0
    capsys.readouterr()

    assert main(["plan", *args, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["summary"]["create"] == 1
    assert main(["plan", *args, "--format", "markdown"]) == 0
    assert capsys.readouterr().out.startswith("### presetsync plan")

    assert service.stats.count("GetPresetList") == 4
    assert service.stats.count("GetPresetDetail") == 0, "withDetail=1 gives the params: no per-preset calls"

    service.client().preset(
        {
            "preset": "web_720p",
            "presettype": "avop",
            "param": {
                "f": "mp4",
                "AUDIO": {"ab": "128000", "ar": "44100"},
                "VIDEO": {"vb": "2500k", "width": 1280, "height": 720},
            },
        }
    )
    assert main(["plan", *args, "--detailed-exitcode"]) == 0
    assert "No changes." in capsys.readouterr().out


def test_plan_saves_a_plan_file(creds_env, tmp_path, capsys):
    presets = write(tmp_path / "web.yaml", PRESET)
    out = tmp_path / "plan.json"
    assert main(["plan", str(presets), "--endpoint", creds_env.url, "-o", str(out)]) == 0
    saved = json.loads(out.read_text())
    assert saved["kind"] == "presetsync-saved-plan"
    assert saved["changes"][0]["body"]["param"]["VIDEO"]["vb"] == "2.5m", "the body is sent as written"
    assert saved["changes"][0]["before_fingerprint"] is None
    assert saved["digest"].startswith("sha256:") and saved["target"]["endpoint"] == creds_env.url
    assert "Saved the plan" in capsys.readouterr().err


def test_plan_with_endpoint_local_keeps_state_beside_the_config(tmp_path, monkeypatch, capsys):
    for name in ("KS_ACCESS_KEY_ID", "KS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    write(tmp_path / "presets" / "web.yaml", PRESET)
    write(tmp_path / "presetsync.yaml", "endpoint: local\npresets: [presets]\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["plan", "-c", str(tmp_path / "presetsync.yaml"), "--detailed-exitcode"]) == 2
    assert "+ web_720p (avop)" in capsys.readouterr().out
    assert (tmp_path / ".presetsync" / "local.sqlite").is_file()
    assert not (elsewhere / ".presetsync").exists()


def test_prune_deletes_only_managed_names(creds_env, tmp_path, capsys):
    client = creds_env.client()
    for name in ("old_one", "keep_me"):
        client.preset({"preset": name, "presettype": "avinfo", "param": {}})
    presets = write(tmp_path / "web.yaml", PRESET)
    write(tmp_path / "presetsync.yaml", f"manage: ['old_*']\npresets: [{presets}]\n")
    assert main(["plan", "-c", str(tmp_path / "presetsync.yaml"), "--endpoint", creds_env.url, "--prune"]) == 0
    out = capsys.readouterr().out
    assert "- old_one (avinfo)" in out
    assert "keep_me" not in out
    assert main(["plan", "-c", str(tmp_path / "presetsync.yaml"), "--endpoint", creds_env.url]) == 0
    assert "old_one" not in capsys.readouterr().out, "without prune nothing is deleted"


def test_target_limits_the_plan(creds_env, tmp_path, capsys):
    presets = write(tmp_path / "web.yaml", PRESET + PRESET.replace("presets:\n", "").replace("web_720p", "web_480p"))
    assert main(["plan", str(presets), "--endpoint", creds_env.url, "--target", "web_4*"]) == 0
    out = capsys.readouterr().out
    assert "web_480p" in out and "web_720p" not in out
