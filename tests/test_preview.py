"""`presetsync preview` and `plan --preview`: a preset rendered locally on the generated test
pattern, its output probed and checked against what the preset declares."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("av", reason="PyAV is not installed: pip install 'presetsync[media]' to run the preview tests")

from presetsync.cli import main
from presetsync.media.preview import Check, _bitrate, _segment_checks
from presetsync.media.spec import read_spec

SMALL = ["--size", "160x120"]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def rows(output: str) -> dict[str, list[str]]:
    """The table rows of *output*: check name -> [expected, got, ok] (columns split on 2 spaces)."""
    table = {}
    for line in output.splitlines():
        if line.startswith("  ") and not line.strip().startswith("check"):
            cells = [cell.strip() for cell in line.strip().split("  ") if cell.strip()]
            table[cells[0]] = cells[1:]
    return table


GOOD = """presets:
  - preset: small_mp4
    presettype: avop
    param:
      f: mp4
      VIDEO: {vcodec: h264, vb: 200k, vr: 10, width: 96, height: 72}
      AUDIO: {acodec: aac, ab: 64k, ar: 22050}
"""


def test_a_preset_that_renders_as_declared_passes_every_check(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "good.yaml", GOOD)

    assert main(["preview", "good.yaml", *SMALL, "-o", "out"]) == 0

    out = capsys.readouterr().out
    table = rows(out)
    assert table["container"] == ["mov,mp4,m4a,3gp,3g2,mj2 (f: mp4)", "mov,mp4,m4a,3gp,3g2,mj2", "ok"]
    assert table["width"] == ["96", "96", "ok"]
    assert table["height"] == ["72", "72", "ok"]
    assert table["frame rate"] == ["10", "10", "ok"]
    assert table["video bitrate"][0] == "200k ±25%" and table["video bitrate"][2] == "ok"
    assert table["sample rate"] == ["22050", "22050", "ok"]
    assert "small_mp4 (good.yaml:2), avop, on the test pattern (160x120, 25 fps, 2 s) -> out/small_mp4.mp4" in out
    assert "preview: 1 preset(s) render as declared" in out
    assert (tmp_path / "out" / "small_mp4.mp4").stat().st_size > 0


ODD = """presets:
  - preset: odd_height
    presettype: avop
    param:
      f: mp4
      VIDEO: {width: 96, height: 73}
  - preset: box_keeps_ratio
    presettype: avop
    param:
      f: mp4
      VIDEO: {width: 160, height: 90, as: 1}
  - preset: short_side_and_height
    presettype: avsnapshot
    param: {shortSide: 90, height: 60}
"""


def test_a_declared_size_ffmpeg_does_not_produce_is_a_mismatch(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "odd.yaml", ODD)

    assert main(["preview", "odd.yaml", *SMALL]) == 1

    out = capsys.readouterr().out
    odd, box, snapshot = out.split("\n" + "box_keeps_ratio")[0], *out.split("box_keeps_ratio")[1].split("short_side")
    assert rows(odd)["height"] == ["73", "72", "MISMATCH"], "H.264 4:2:0 rounds an odd height down"
    assert rows(odd)["width"] == ["96", "96", "ok"]
    assert rows(box)["width"] == ["160", "120", "MISMATCH"], "as: 1 keeps the 4:3 ratio in a 16:9 box"
    assert rows(box)["height"] == ["90", "90", "ok"]
    assert rows(snapshot)["height"] == ["60", "90", "MISMATCH"], "shortSide decides the height"
    assert rows(snapshot)["short side"] == ["90", "90", "ok"]
    assert (
        "preview: 3 of 3 preset(s) do not render as declared: odd_height, box_keeps_ratio, short_side_and_height" in out
    )


def test_a_preset_that_cannot_be_rendered_fails_with_the_reason(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "mp3.yaml", "preset: mp3_with_video\npresettype: avop\nparam: {f: mp3}\n")

    assert main(["preview", "mp3.yaml", *SMALL]) == 1

    render = rows(capsys.readouterr().out)["render"]
    assert render[0] == "an output" and render[2] == "MISMATCH"
    assert "container mp3 cannot hold h264 video" in render[1]


def test_hls_images_and_probes_are_checked(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(
        tmp_path / "more.yaml",
        """presets:
  - {preset: hls_1s, presettype: avm3u8, param: {hls_time: 1, VIDEO: {width: 80, height: 60}}}
  - {preset: every_second, presettype: avsample, param: {interval: 1, width: 80, f: png}}
  - {preset: probe, presettype: avinfo, param: {}}
""",
    )

    assert main(["preview", "more.yaml", *SMALL]) == 0

    out = capsys.readouterr().out
    hls, sample, info = out.split("every_second")[0], *out.split("every_second")[1].split("probe (")
    assert rows(hls)["segments (s)"] == ["1 ±0.1, the last shorter", "1.00, 1.00", "ok"]
    assert rows(sample)["images"] == ["2", "2", "ok"]
    assert rows(sample)["image codec"] == ["png", "png", "ok"]
    assert rows(info)["meta info"][1] == "mov,mp4,m4a,3gp,3g2,mj2, 2 stream(s)"


def test_the_declared_channels_are_written_in_ffmpegs_layout_for_that_count(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    video = "VIDEO: {width: 80, height: 60}"
    write(
        tmp_path / "channels.yaml",
        f"""presets:
  - {{preset: mono, presettype: avm3u8, param: {{hls_time: 1, {video}, AUDIO: {{channels: 1}}}}}}
  - {{preset: surround, presettype: avm3u8, param: {{hls_time: 1, {video}, AUDIO: {{channels: 6}}}}}}
""",
    )

    assert main(["preview", "channels.yaml", *SMALL]) == 0

    mono, surround = capsys.readouterr().out.split("surround (")
    assert rows(mono)["channels"] == ["1", "1", "ok"]
    assert rows(surround)["channels"] == ["6", "6", "ok"]


def test_a_preset_is_found_by_name_in_the_config_and_unknown_names_are_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "presetsync.yaml", "presets: [presets]\n")
    write(tmp_path / "presets" / "web.yaml", GOOD)

    assert main(["preview", "small_mp4", *SMALL]) == 0
    assert "small_mp4 (presets/web.yaml:2)" in capsys.readouterr().out

    assert main(["preview", "small_mp3", *SMALL]) == 1
    assert "no preset named 'small_mp3' in the preset files; did you mean 'small_mp4'?" in capsys.readouterr().err


def test_a_given_source_is_used_and_only_the_upper_bitrate_bound_applies(tmp_path, capsys, monkeypatch):
    from presetsync.media.sample import write_sample

    monkeypatch.chdir(tmp_path)
    write(tmp_path / "good.yaml", GOOD)
    source = write_sample(tmp_path / "mine.mp4", seconds=1, width=160, height=120, fps=10)

    assert main(["preview", "good.yaml", "--source", str(source)]) == 0

    out = capsys.readouterr().out
    assert f"on {source} (160x120, 1.0 s)" in out
    assert rows(out)["video bitrate"][0] == "<= 250k"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["bad.yaml"], "bad.yaml:3:32: VIDEO.width -3 is out of range"),
        (["good.yaml", "--source", "absent.mp4"], "--source absent.mp4: no such file"),
        (["good.yaml", "--source", "bad.yaml"], "--source bad.yaml: cannot read bad.yaml: Invalid data"),
        (["good.yaml", "--size", "3x"], "--size must be WIDTHxHEIGHT (at least 16x16), got '3x'"),
        (["corner"], "an avlogo preset is previewed chained after an avop preset: preview 'AVOP|corner'"),
        (["small_mp4|small_mp4"], "a chain is one avop preset and one avlogo preset"),
    ],
    ids=["invalid preset", "missing source", "unreadable source", "bad size", "avlogo alone", "bad chain"],
)
def test_bad_input_exits_1_with_a_message_and_no_traceback(tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "presetsync.yaml", "presets: [presets]\n")
    write(tmp_path / "presets" / "web.yaml", GOOD)
    write(
        tmp_path / "presets" / "logo.yaml", "preset: corner\npresettype: avlogo\nparam: {IMAGE: [{logoUrl: l.png}]}\n"
    )
    write(tmp_path / "good.yaml", GOOD)
    write(tmp_path / "bad.yaml", "preset: bad_one\npresettype: avop\nparam: {f: mp4, VIDEO: {width: -3}}\n")

    assert main(["preview", *args]) == 1

    captured = capsys.readouterr()
    assert message in captured.err
    assert "Traceback" not in captured.err and "check" not in captured.out, "nothing is rendered"


def test_a_chain_draws_its_logo_from_a_file_beside_the_preset(tmp_path, capsys, monkeypatch):
    import av
    from test_media_service import write_logo

    monkeypatch.chdir(tmp_path)
    write(tmp_path / "presetsync.yaml", "presets: [presets]\n")
    write(tmp_path / "presets" / "web.yaml", GOOD)
    write(
        tmp_path / "presets" / "logo.yaml", "preset: corner\npresettype: avlogo\nparam: {IMAGE: [{logoUrl: l.png}]}\n"
    )
    write_logo(tmp_path / "presets" / "l.png", size=8)

    assert main(["preview", "small_mp4|corner", *SMALL, "-o", "out"]) == 0

    with av.open(str(tmp_path / "out" / "small_mp4.mp4")) as container:
        frame = next(container.decode(video=0)).to_rgb()
    red, green, blue = bytes(frame.planes[0])[frame.planes[0].line_size * 2 + 6 : frame.planes[0].line_size * 2 + 9]
    assert red > 200 and green < 60 and blue < 60, "the logo at (0, 0)"


def test_bitrate_and_segment_rules():
    declared = 1_000_000
    assert _bitrate("b", declared, {"bit_rate": "1240000"}, generated=True).ok
    assert not _bitrate("b", declared, {"bit_rate": "1260000"}, generated=True).ok
    assert not _bitrate("b", declared, {"bit_rate": "740000"}, generated=True).ok
    assert _bitrate("b", declared, {"bit_rate": "100000"}, generated=False).ok, "real content may be easier"
    assert not _bitrate("b", declared, None, generated=True).ok


@pytest.mark.parametrize(
    ("durations", "ok"),
    [([2.0, 2.0, 1.2], True), ([2.1, 1.9, 2.0], True), ([4.0, 0.5], False), ([2.0, 2.6], False), ([6.0], False)],
)
def test_hls_segments_last_hls_time_but_the_last(tmp_path, durations, ok):
    playlist = tmp_path / "p.m3u8"
    lines = ["#EXTM3U", "#EXT-X-TARGETDURATION:2"]
    for index, duration in enumerate(durations):
        lines += [f"#EXTINF:{duration:.6f},", f"seg-{index}.ts"]
    playlist.write_text("\n".join([*lines, "#EXT-X-ENDLIST"]) + "\n", encoding="utf-8")

    [check] = _segment_checks(read_spec("avm3u8", {"hls_time": 2}), playlist)

    assert isinstance(check, Check) and check.ok is ok


# --- plan --preview ----------------------------------------------------------------------------


@pytest.fixture
def project(local_service, tmp_path, monkeypatch):
    creds = local_service.credentials
    monkeypatch.setenv("KS_ACCESS_KEY_ID", creds.access_key_id)
    monkeypatch.setenv("KS_SECRET_ACCESS_KEY", creds.secret_access_key)
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "presetsync.yaml", f"endpoint: {local_service.url}\npresets: [presets]\n")
    return local_service


def test_plan_preview_renders_created_and_changed_presets_only(project, make_client, tmp_path, capsys):
    write(tmp_path / "presets" / "good.yaml", GOOD)
    write(tmp_path / "presets" / "odd.yaml", ODD.split("  - preset: box_keeps_ratio")[0])
    write(
        tmp_path / "presets" / "logo.yaml", "preset: corner\npresettype: avlogo\nparam: {IMAGE: [{logoUrl: l.png}]}\n"
    )

    assert main(["plan", "--preview"]) == 1

    captured = capsys.readouterr()
    assert "Plan: 3 to create" in captured.out
    odd = captured.out.split("odd_height (presets/odd.yaml:2), avop, on the test pattern (320x240")[1]
    assert rows(odd.split("small_mp4")[0])["height"] == ["73", "72", "MISMATCH"]
    assert "small_mp4 (presets/good.yaml:2)" in captured.out
    assert "preview: not previewed alone (avlogo, used chained): corner" in captured.out
    assert "preview: 1 of 2 preset(s) do not render as declared: odd_height" in captured.err

    client = make_client(project)
    (tmp_path / "presets" / "odd.yaml").unlink()
    (tmp_path / "presets" / "logo.yaml").unlink()
    client.preset({"preset": "small_mp4", "presettype": "avop", "param": {"f": "mp4"}})
    assert main(["plan", "--preview", "--detailed-exitcode"]) == 2, "previews pass: the plan's own exit code"
    out = capsys.readouterr().out
    assert "~ small_mp4" in out and "preview: 1 preset(s) render as declared" in out

    client.update_preset({"preset": "small_mp4", "param": read_good_param()})
    assert main(["plan", "--preview"]) == 0
    assert "preview: no created or changed preset to preview" in capsys.readouterr().out


def read_good_param() -> dict:
    import yaml

    return yaml.safe_load(GOOD)["presets"][0]["param"]


def test_plan_without_preview_renders_nothing(project, tmp_path, capsys):
    write(tmp_path / "presets" / "odd.yaml", ODD.split("  - preset: box_keeps_ratio")[0])

    assert main(["plan"]) == 0

    assert "preview" not in capsys.readouterr().out
