"""`presetsync lint`: rules across presets, each finding at file:line:col with a stable id,
silenced from presetsync.yaml, the ladder chart as SVG, and never a request to the service.

Each fixture in tests/fixtures/lint/ announces its findings in `# expect: LINE:COL: ID` lines;
the test requires exactly those (so a fixture trips only its own rule).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from presetsync.cli import main
from presetsync.inputs.schemas import config_schema
from presetsync.presets.lint import RULES

TESTS = Path(__file__).parent
FIXTURES = TESTS / "fixtures" / "lint"
EXAMPLES = TESTS.parent / "examples"
EXPECT = re.compile(r"# expect: (\d+):(\d+): (\S+)")
FINDING = re.compile(r"^(?P<file>[^:\s]+):(?P<line>\d+):(?P<col>\d+): (?P<rule>[a-z-]+) (?P<message>.+)$")
SVG = "{http://www.w3.org/2000/svg}"


def expected(file: Path) -> set[tuple[str, int, int, str]]:
    shown = file.relative_to(TESTS).as_posix()
    return {(shown, int(m[1]), int(m[2]), m[3]) for m in EXPECT.finditer(file.read_text(encoding="utf-8"))}


def findings(out: str) -> set[tuple[str, int, int, str]]:
    found = set()
    for row in out.splitlines():
        match = FINDING.match(row)
        if match:
            found.add((match["file"], int(match["line"]), int(match["col"]), match["rule"]))
    return found


def lines_of(out: str, rule: str) -> list[str]:
    return [row for row in out.splitlines() if f": {rule} " in row]


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "presetsync.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def in_tests_dir(monkeypatch):
    monkeypatch.chdir(TESTS)  # no presetsync.yaml here; files show as fixtures/lint/...


@pytest.mark.parametrize(
    "name", ["ladder_not_monotonic.yaml", "bits_per_pixel.yaml", "duplicate_param.yaml"], ids=lambda n: n[:-5]
)
def test_each_rule_is_found_in_its_fixture_and_nothing_else(name, capsys):
    fixture = FIXTURES / name
    assert main(["lint", str(fixture.relative_to(TESTS))]) == 1
    out = capsys.readouterr().out
    assert findings(out) == expected(fixture)
    assert expected(fixture), "the fixture must announce its findings"


def test_the_planted_non_monotonic_rung_names_both_places(capsys):
    assert main(["lint", "fixtures/lint/ladder_not_monotonic.yaml"]) == 1
    [row] = lines_of(capsys.readouterr().out, "ladder-monotonic")
    assert row.startswith("fixtures/lint/ladder_not_monotonic.yaml:19:15: ladder-monotonic web_1080p (1920x1080)")
    assert "web_720p (1280x720, 2.5 Mbit/s) at fixtures/lint/ladder_not_monotonic.yaml:26" in row
    assert "h264 mp4 ladder" in row


def test_duplicates_are_reported_at_both_names(capsys):
    assert main(["lint", "fixtures/lint/duplicate_param.yaml"]) == 1
    rows = lines_of(capsys.readouterr().out, "duplicate-param")
    assert "web_720p has the same avop param as site_720p (fixtures/lint/duplicate_param.yaml:14)" in rows[0]
    assert "site_720p has the same avop param as web_720p (fixtures/lint/duplicate_param.yaml:7)" in rows[1]


def test_bits_per_pixel_says_which_band_and_which_way(capsys):
    assert main(["lint", "fixtures/lint/bits_per_pixel.yaml"]) == 1
    low, high = lines_of(capsys.readouterr().out, "bits-per-pixel")
    assert "0.0161 bits per pixel (1 Mbit/s at 1920x1080, 30 fps)" in low and "h264 band 0.02-0.3: raise" in low
    assert "0.181 bits per pixel" in high and "h265 band 0.01-0.15: lower" in high


def test_hls_segments_that_do_not_fit_the_gop(capsys):
    fixture = FIXTURES / "hls_gop" / "presets.yaml"
    assert main(["lint", "-c", "fixtures/lint/hls_gop/presetsync.yaml"]) == 1
    out = capsys.readouterr().out
    assert findings(out) == expected(fixture)  # the 25 fps/2 s and 29.97 fps/60 frames presets pass
    [row] = lines_of(out, "hls-gop")
    assert "hls_time 10 s" in row and "VIDEO.gop 60 frames at 25 fps is 2.4 s" in row
    assert "a VIDEO.gop of 50" in row


def test_the_examples_pass(capsys):
    assert main(["lint", "-c", str(EXAMPLES / "presetsync.yaml")]) == 0
    out = capsys.readouterr().out
    assert out.strip() == "4 files, 9 presets: no findings"


def test_ignore_a_rule_everywhere(tmp_path, capsys):
    ladder = FIXTURES / "ladder_not_monotonic.yaml"
    config = write_config(tmp_path, f"presets: ['{ladder}']\nlint:\n  ignore: [ladder-monotonic]\n")
    assert main(["lint", "-c", str(config)]) == 0
    assert "no findings" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("fixture", "rule", "globs", "left"),
    [
        ("ladder_not_monotonic.yaml", "ladder-monotonic", ["web_1080p"], 0),
        ("ladder_not_monotonic.yaml", "ladder-monotonic", ["web_720p"], 0),  # the rung it was compared with
        ("ladder_not_monotonic.yaml", "ladder-monotonic", ["web_360p", "hls_*"], 1),  # not the ones involved
        ("ladder_not_monotonic.yaml", "bits-per-pixel", ["web_*"], 1),  # another rule's list
        ("duplicate_param.yaml", "duplicate-param", ["site_*"], 0),  # both places
        ("bits_per_pixel.yaml", "bits-per-pixel", ["starved_*"], 1),  # the other one stays
    ],
)
def test_ignore_a_rule_for_some_presets(tmp_path, capsys, fixture, rule, globs, left):
    config = write_config(
        tmp_path, f"presets: ['{FIXTURES / fixture}']\nlint:\n  ignore_presets:\n    {rule}: {globs}\n"
    )
    assert main(["lint", "-c", str(config)]) == (1 if left else 0)
    assert len(findings(capsys.readouterr().out)) == left


def test_an_unknown_rule_id_in_the_config_is_refused_with_its_line(tmp_path, capsys):
    config = write_config(tmp_path, "lint:\n  ignore:\n    - ladder-monotonous\n")
    assert main(["lint", "-c", str(config), "fixtures/lint/ladder_not_monotonic.yaml"]) == 1
    err = capsys.readouterr().err
    assert "presetsync.yaml:3:" in err and "ladder-monotonous" in err
    assert "Traceback" not in err


def test_the_config_schema_knows_exactly_the_rule_ids():
    lint = config_schema()["properties"]["lint"]["properties"]
    assert set(lint["ignore"]["items"]["enum"]) == set(RULES)
    assert set(lint["ignore_presets"]["properties"]) == set(RULES)


def test_a_yaml_error_is_reported_at_its_line_without_a_traceback(capsys):
    fixture = FIXTURES / "yaml_error.yaml"
    ((line, col, _),) = ((int(m[1]), int(m[2]), m[3]) for m in EXPECT.finditer(fixture.read_text(encoding="utf-8")))
    assert main(["lint", "fixtures/lint/yaml_error.yaml"]) == 1
    captured = capsys.readouterr()
    assert f"fixtures/lint/yaml_error.yaml:{line}:{col}: YAML syntax error" in captured.out
    assert "nothing was linted" in captured.out
    assert "Traceback" not in captured.out + captured.err


def test_rungs_are_compared_only_where_a_ladder_says_something(tmp_path, capsys):
    """Not rungs: audio only, stream copy, no size; not compared: a smaller rung at a higher frame
    rate, the same resolution, another container or codec."""
    presets = tmp_path / "mixed.yaml"
    presets.write_text(
        """presets:
  - {preset: p1080, presettype: avop, param: {f: mp4, VIDEO: {vb: 4M, vr: 30, width: 1920, height: 1080}}}
  - {preset: p720_60, presettype: avop, param: {f: mp4, VIDEO: {vb: 4.5M, vr: 60, width: 1280, height: 720}}}
  - {preset: p1080_low, presettype: avop, param: {f: mp4, VIDEO: {vb: 3M, vr: 30, width: 1920, height: 1080}}}
  - {preset: p1080_flv, presettype: avop, param: {f: flv, VIDEO: {vb: 1.5M, vr: 30, width: 1920, height: 1080}}}
  - {preset: p1080_hevc, presettype: avop, param: {f: mp4, VIDEO: {vcodec: h265, vb: 1M, vr: 30, height: 1080}}}
  - {preset: audio, presettype: avop, param: {f: mp4, VIDEO: {vn: 1, vb: 1M, vr: 30, width: 3840, height: 2160}}}
  - {preset: copy, presettype: avop, param: {f: mp4, VIDEO: {vcodec: copy, vb: 9M, width: 320, height: 180}}}
  - {preset: source_size, presettype: avop, param: {f: mp4, VIDEO: {vb: 9M, vr: 30}}}
  - {preset: small, presettype: avop, param: {f: mp4, VIDEO: {vb: 2M, vr: 30, width: 640, height: 360}}}
""",
        encoding="utf-8",
    )
    chart = tmp_path / "mixed.svg"
    assert main(["lint", str(presets), "--chart", str(chart)]) == 0, capsys.readouterr().out
    marks = {c.get("data-preset") for c in ET.parse(chart).getroot().iter(f"{SVG}circle") if c.get("class")}
    assert marks == {"p1080", "p720_60", "p1080_low", "p1080_flv", "p1080_hevc", "small"}
    # The same file with the small rung raised above the low 1080p: now it is a finding.
    presets.write_text(presets.read_text().replace("vb: 2M, vr: 30, width: 640", "vb: 3M, vr: 30, width: 640"))
    assert main(["lint", str(presets)]) == 1
    [row] = lines_of(capsys.readouterr().out, "ladder-monotonic")
    assert "p1080_low (1920x1080) has 3 Mbit/s, not more than the lower rung small (640x360, 3 Mbit/s)" in row


def test_the_chart_is_an_svg_with_one_mark_per_rung(tmp_path, capsys):
    chart = tmp_path / "ladder.svg"
    args = ["lint", "fixtures/lint/ladder_not_monotonic.yaml", str(EXAMPLES / "presets"), "--chart", str(chart)]
    assert main(args) == 1  # the chart is drawn even when there are findings
    capsys.readouterr()
    root = ET.parse(chart).getroot()
    assert root.tag == f"{SVG}svg"
    marks = [c for c in root.iter(f"{SVG}circle") if c.get("class") == "rung"]
    rungs = ["web_360p", "web_1080p", "web_720p", "web_720p_low", "hls_1080p", "hls_480p"]
    rungs += ["mp4_1080p", "mp4_720p", "mp4_480p", "hls_720p"]  # not the audio, snapshot or probe presets
    assert sorted(m.get("data-preset") for m in marks) == sorted(rungs)
    texts = [t.text or "" for t in root.iter(f"{SVG}text")]
    for name in rungs:
        assert any(t.startswith(f"{name} ") for t in texts), f"no label for {name}"
    assert {"1M", "2M", "5M"} <= set(texts), "bitrate ticks"
    assert {"500k", "1M", "2M"} <= set(texts), "pixel ticks"
    assert any("h264 mp4 (7 rungs)" in t for t in texts) and any("h264 hls (3 rungs)" in t for t in texts)
    flagged = {m.get("data-preset") for m in marks if m.get("stroke") == "#d62728"}
    assert flagged == {"web_1080p", "hls_1080p"}  # hls_1080p (1.5M) is below examples' hls_720p (1.8M)
    assert "mp4_480p ~853x480" in texts, "shortSide 480 is drawn as 16:9, marked as estimated"
    assert "href" not in chart.read_text(encoding="utf-8"), "self-contained"


def test_a_chart_without_rungs_is_still_valid(tmp_path, capsys):
    chart = tmp_path / "empty.svg"
    assert main(["lint", str(EXAMPLES / "presets" / "snapshot.yaml"), "--chart", str(chart)]) == 0
    root = ET.parse(chart).getroot()
    assert not [c for c in root.iter(f"{SVG}circle") if c.get("class") == "rung"]


def test_lint_never_contacts_the_service(local_service, tmp_path, monkeypatch, capsys):
    creds = local_service.credentials
    monkeypatch.setenv("KS_ACCESS_KEY_ID", creds.access_key_id)
    monkeypatch.setenv("KS_SECRET_ACCESS_KEY", creds.secret_access_key)
    config = write_config(
        tmp_path,
        f"endpoint: {local_service.url}\npresets: ['{EXAMPLES / 'presets'}', '{FIXTURES / 'duplicate_param.yaml'}']\n",
    )
    assert main(["lint", "-c", str(config), "--chart", str(tmp_path / "c.svg")]) == 1
    assert main(["lint", "-c", str(config), "fixtures/lint/yaml_error.yaml"]) == 1
    capsys.readouterr()
    assert local_service.stats.total == 0
    # The same configuration does reach the service with a command that reads it.
    assert main(["plan", "-c", str(config), str(EXAMPLES / "presets")]) == 0
    assert local_service.stats.total > 0
