"""export: live presets as preset YAML; export then plan is empty, for every presettype."""

from __future__ import annotations

import pytest
import yaml

from presetsync.cli import main

MIXED = [
    {
        "preset": "op_mixed",
        "presettype": "avop",
        "description": "",
        "param": {
            "f": "mp4",
            "intelligentSwitch": "1",
            "AUDIO": {"acodec": "aac", "ab": 128000, "ar": "44100", "an": "0"},
            "VIDEO": {
                "vcodec": "h264",
                "vb": "1.5M",
                "vr": "25",
                "width": "1280",
                "height": 720,
                "as": 0,
                "rotate": 90,
            },
        },
    },
    {
        "preset": "logo_mixed",
        "presettype": "avlogo",
        "param": {"IMAGE": [{"logoUrl": "/bucket/logo.png", "offsetX": "10", "offsetY": 5.5}]},
    },
    {
        "preset": "hls_mixed",
        "presettype": "avm3u8",
        "description": "HLS",
        "param": {"hls_time": "10", "AUDIO": {"ab": "64kb", "ar": 44100}, "VIDEO": {"vb": "800K", "vr": 25}},
    },
    {"preset": "sample_mixed", "presettype": "avsample", "param": {"interval": "5", "width": "320", "height": 180}},
    {"preset": "snap_mixed", "presettype": "avsnapshot", "param": {"width": 640, "height": "360"}},
    {"preset": "info_mixed", "presettype": "avinfo", "param": {}},
]


@pytest.fixture
def account(local_service, monkeypatch, tmp_path):
    creds = local_service.credentials
    monkeypatch.setenv("KS_ACCESS_KEY_ID", creds.access_key_id)
    monkeypatch.setenv("KS_SECRET_ACCESS_KEY", creds.secret_access_key)
    monkeypatch.chdir(tmp_path)
    client = local_service.client()
    for body in MIXED:
        client.preset(body)
    return local_service


@pytest.mark.parametrize("split", [True, False], ids=["split", "one-file"])
def test_export_then_plan_is_empty_for_every_presettype(account, tmp_path, capsys, split):
    out = tmp_path / "exported"
    args = ["export", "-o", str(out), "--endpoint", account.url] + (["--split"] if split else [])
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "warning" not in err, err
    assert "Exported 6 preset(s)" in err
    files = sorted(p.name for p in out.iterdir())
    assert files == (sorted(f"{b['preset']}.yaml" for b in MIXED) if split else ["presets.yaml"])
    assert main(["validate", str(out)]) == 0
    assert main(["plan", str(out), "--endpoint", account.url, "--detailed-exitcode"]) == 0
    assert "No changes. The live presets match the files. (6 unchanged)" in capsys.readouterr().out


def test_exported_files_are_normalised_readable_and_carry_the_schema_line(account, tmp_path, capsys):
    assert main(["export", "op_mixed", "--endpoint", account.url]) == 0
    text = capsys.readouterr().out
    first = text.partition("\n")[0]
    assert first == "# yaml-language-server: $schema=schemas/preset-file.schema.json"
    assert (tmp_path / "schemas" / "preset-file.schema.json").is_file()
    data = yaml.safe_load(text)
    assert data == {
        "presets": [
            {
                "preset": "op_mixed",
                "presettype": "avop",
                "param": {
                    "f": "mp4",
                    "intelligentSwitch": 1,
                    "AUDIO": {"ab": "128k", "ar": 44100},
                    "VIDEO": {"vb": "1500k", "vr": 25, "width": 1280, "height": 720, "rotate": 90},
                },
            }
        ]
    }
    assert list(data["presets"][0]) == ["preset", "presettype", "param"], "stable key order"


def test_export_filters_by_glob_and_type(account, capsys):
    assert main(["export", "*_mixed", "--type", "avsnapshot", "--endpoint", account.url]) == 0
    data = yaml.safe_load(capsys.readouterr().out)
    assert [p["preset"] for p in data["presets"]] == ["snap_mixed"]


def test_export_of_a_missing_name_is_an_error(account, capsys):
    assert main(["export", "nope", "--endpoint", account.url]) == 1
    assert "no live preset named nope" in capsys.readouterr().err


def test_fields_outside_the_catalog_are_exported_with_a_warning(account, capsys):
    account.client().preset({"preset": "with_gop", "presettype": "avop", "param": {"f": "mp4", "VIDEO": {"gop": 10}}})
    assert main(["export", "with_gop", "--endpoint", account.url]) == 0
    captured = capsys.readouterr()
    assert "gop: 10" in captured.out
    assert "warning:" in captured.err and "gop" in captured.err and "extra_fields" in captured.err
