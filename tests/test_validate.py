"""Validation of preset files: every bad fixture reports exactly the problems it announces.

Each case under ``tests/fixtures/bad/`` is a file, or a directory validated as a whole (for
problems that span files). Its files announce the expected problems in comments::

    # expect: LINE[:COL]: text the message must contain

Every expectation must be met by a problem at that file and line (and column, when given), and
every problem must be expected: a case fails on a missing problem and on a surprising one.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from presetsync.commands.validate import validate_paths
from presetsync.config import Config
from presetsync.inputs.documents import parse_yaml
from presetsync.inputs.problems import Problem
from presetsync.presets.validate import check_document, check_field, load_presets

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
BAD = FIXTURES / "bad"
GOOD = FIXTURES / "good"
EXAMPLES = ROOT / "examples"
EXPECT = re.compile(r"#\s*expect:\s*(\d+)(?::(\d+))?:\s*(.+?)\s*$")

BAD_CASES = sorted(p for p in BAD.iterdir() if not p.name.startswith("."))


def _files(case: Path) -> list[Path]:
    return sorted(case.rglob("*.yaml")) if case.is_dir() else [case]


def _expectations(case: Path) -> list[tuple[Path, int, int | None, str]]:
    out = []
    for file in _files(case):
        # "replace": the non-UTF-8 fixture can still announce its own problem
        for line in file.read_bytes().decode("utf-8", errors="replace").splitlines():
            match = EXPECT.match(line)
            if match:
                col = int(match.group(2)) if match.group(2) else None
                out.append((file.resolve(), int(match.group(1)), col, match.group(3)))
    return out


def _matches(problem: Problem, expected: tuple[Path, int, int | None, str]) -> bool:
    file, line, col, text = expected
    return (
        Path(problem.file).resolve() == file
        and problem.line == line
        and (col is None or problem.col == col)
        and text in problem.message
    )


def test_there_are_at_least_forty_bad_fixtures():
    assert len(BAD_CASES) >= 40


@pytest.mark.parametrize("case", BAD_CASES, ids=lambda p: p.name)
def test_bad_fixture_reports_exactly_the_announced_problems(case: Path):
    expected = _expectations(case)
    assert expected, f"{case.name} announces no problem (# expect: LINE: text)"
    problems = load_presets([case]).problems
    unmet = [e for e in expected if not any(_matches(p, e) for p in problems)]
    surprising = [str(p) for p in problems if not any(_matches(p, e) for e in expected)]
    assert not unmet and not surprising, f"unmet: {unmet}\nsurprising: {surprising}\nall: {[str(p) for p in problems]}"


@pytest.mark.parametrize("case", BAD_CASES, ids=lambda p: p.name)
def test_bad_fixture_fails_validate_with_exit_code_1(case: Path):
    out = io.StringIO()
    assert validate_paths([case], out=out) == 1
    lines = out.getvalue().splitlines()
    assert re.fullmatch(r"\d+ problems? in \d+ files?", lines[-1])
    # one problem per line, as file:line[:col]: message
    assert all(re.match(r"[^:]+(:\d+){0,2}: ", line) for line in lines[:-1])


def test_all_bad_fixtures_at_once_report_every_problem_sorted_by_file_and_line():
    result = load_presets([BAD])
    expected = [e for case in BAD_CASES for e in _expectations(case)]
    assert all(any(_matches(p, e) for p in result.problems) for e in expected)
    assert result.problems == sorted(result.problems)
    assert len({p.file for p in result.problems}) == sum(len(_files(c)) for c in BAD_CASES)


def test_examples_validate_cleanly():
    out = io.StringIO()
    assert validate_paths([EXAMPLES / "presets"], out=out) == 0
    assert out.getvalue() == "4 files, 9 presets: ok\n"


def test_good_fixtures_validate_cleanly():
    result = load_presets([GOOD])
    assert result.problems == []
    assert {p.name for p in result.presets} >= {"every_avop_field", "hls_all", "logo_corner", "sample_all"}


def test_success_summary_counts_files_and_presets(tmp_path: Path):
    (tmp_path / "one.yaml").write_text("preset: probe\npresettype: avinfo\nparam: {}\n")
    out = io.StringIO()
    assert validate_paths([tmp_path / "one.yaml"], out=out) == 0
    assert out.getvalue() == "1 file, 1 preset: ok\n"


def test_problem_lines_are_printed_sorted_with_a_count(tmp_path: Path):
    (tmp_path / "b.yaml").write_text("preset: x1\npresettype: avop\nparam: {VIDEO: {vr: 99}}\n")
    (tmp_path / "a.yaml").write_text("preset: x2\npresettype: avop\nparam:\n  AUDIO: {ab: 1k}\n  VIDEO: {vr: 0}\n")
    out = io.StringIO()
    assert validate_paths([tmp_path], out=out) == 1
    lines = out.getvalue().splitlines()
    assert [line.split(": ")[0] for line in lines[:-1]] == [
        f"{tmp_path / 'a.yaml'}:4:15",
        f"{tmp_path / 'a.yaml'}:5:15",
        f"{tmp_path / 'b.yaml'}:3:21",
    ]
    assert lines[-1] == "3 problems in 2 files"


def test_zero_byte_file_is_reported_as_empty(tmp_path: Path):
    (tmp_path / "empty.yaml").write_bytes(b"")
    problems = load_presets([tmp_path / "empty.yaml"]).problems
    assert [(p.line, p.message.split(" (")[0]) for p in problems] == [(1, "the file is empty")]


def test_missing_path_and_empty_directory_are_problems(tmp_path: Path):
    (tmp_path / "nothing").mkdir()
    problems = load_presets([tmp_path / "nope.yaml", tmp_path / "nothing"]).problems
    messages = {Path(p.file).name: p.message for p in problems}
    assert messages == {
        "nope.yaml": "no such file or directory",
        "nothing": "no *.yaml or *.yml files in this directory",
    }


def test_directories_are_searched_recursively_in_sorted_order(tmp_path: Path):
    for rel in ("b/z.yml", "a/y.yaml", "c.yaml", "a/.hidden.yaml", ".git/x.yaml", "notes.txt"):
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"preset: p_{abs(hash(rel)) % 10000}\npresettype: avinfo\nparam: {{}}\n")
    result = load_presets([tmp_path])
    assert result.problems == []
    assert [p.relative_to(tmp_path).as_posix() for p in result.files] == ["a/y.yaml", "b/z.yml", "c.yaml"]


def test_desired_preset_keeps_param_as_written_and_knows_positions():
    result = load_presets([EXAMPLES / "presets" / "h264-ladder.yaml"])
    by_name = {p.name: p for p in result.presets}
    p720 = by_name["mp4_720p"]
    assert p720.param["VIDEO"]["vb"] == "2.5m"
    assert p720.param["AUDIO"] == {"acodec": "aac", "ab": "128k", "ar": 44100}
    assert p720.presettype == "avop" and p720.description == "720p H.264 for the web"
    text = (EXAMPLES / "presets" / "h264-ladder.yaml").read_text().splitlines()
    line, col = p720.position("VIDEO.vb")
    assert text[line - 1][col - 1 :].startswith("vb: 2.5m")
    line, col = p720.position("VIDEO.vb", key=False)
    assert text[line - 1][col - 1 :] == "2.5m"
    assert text[p720.line - 1].strip() == "- preset: mp4_720p"
    # a field not written falls back to its nearest written ancestor
    line, _ = p720.position("VIDEO.rotate")
    assert text[line - 1].strip() == "VIDEO:"
    assert p720.body() == {
        "preset": "mp4_720p",
        "presettype": "avop",
        "description": "720p H.264 for the web",
        "param": p720.param,
    }


def test_nothing_is_sent_during_validation(monkeypatch: pytest.MonkeyPatch):
    from presetsync.api.transport import Transport

    def refuse(*args, **kwargs):
        raise AssertionError("validation must not talk to any service")

    monkeypatch.setattr(Transport, "request", refuse)
    assert validate_paths([EXAMPLES / "presets"], out=io.StringIO()) == 0
    assert validate_paths([BAD], out=io.StringIO()) == 1


# -- extra fields from the configuration ---------------------------------------------------


def _doc(text: str):
    return parse_yaml(text, "x.yaml")


EXTRA = """preset: web_720p
presettype: avop
param:
  clearmeta: 1
  VIDEO:
    vb: 2m
    gop: 50
  LOGOS:
    url: http://example.com/logo.png
"""


def test_extra_fields_are_refused_without_configuration():
    _, problems = check_document(_doc(EXTRA))
    assert sorted((p.line, p.message.split(":")[0].split(";")[0]) for p in problems) == [
        (4, "unknown field 'clearmeta' for avop"),
        (7, "unknown field 'VIDEO.gop' for avop"),
        (8, "unknown field 'LOGOS' for avop"),
    ]


def test_extra_fields_allowed_by_configuration_pass_and_stay_in_param():
    presets, problems = check_document(_doc(EXTRA), {"avop": ("clearmeta", "VIDEO.gop", "LOGOS.url")})
    assert problems == []
    assert presets[0].param["VIDEO"] == {"vb": "2m", "gop": 50}
    assert presets[0].param["LOGOS"] == {"url": "http://example.com/logo.png"}


def test_extra_fields_of_another_presettype_do_not_apply():
    _, problems = check_document(_doc(EXTRA), {"avm3u8": ("clearmeta", "VIDEO.gop", "LOGOS")})
    assert len(problems) == 3


def test_extra_fields_do_not_switch_off_catalog_checks():
    doc = _doc("preset: web_720p\npresettype: avop\nparam:\n  VIDEO: {vb: 1k}\n")
    _, problems = check_document(doc, {"avop": ("VIDEO.vb",)})
    assert [p.message for p in problems] == ["VIDEO.vb 1k (= 1000) is out of range: allowed are 100000 to 10000000"]


def test_load_presets_takes_extra_fields_and_paths_from_config(tmp_path: Path):
    (tmp_path / "presets").mkdir()
    (tmp_path / "presets" / "p.yaml").write_text(EXTRA)
    config = Config(
        path=None,
        base_dir=tmp_path,
        presets=[tmp_path / "presets"],
        extra_fields={"avop": ("clearmeta", "VIDEO.gop", "LOGOS")},
    )
    result = load_presets(None, config)
    assert result.problems == []
    assert [p.name for p in result.presets] == ["web_720p"]


# -- field checks -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("AUDIO.ab", "64k"),
        ("AUDIO.ab", "64KB"),
        ("AUDIO.ab", 64000),
        ("AUDIO.ab", "64000"),
        ("AUDIO.ab", "0.32M"),
        ("AUDIO.ab", "20k"),
        ("AUDIO.ab", "320k"),
        ("VIDEO.vb", "1.25M"),
        ("VIDEO.vb", "5m"),
        ("VIDEO.vb", "10mb"),
        ("VIDEO.vr", 25),
        ("VIDEO.vr", "29.97"),
        ("VIDEO.vr", 29.97),
        ("AUDIO.ar", "44100"),
        ("AUDIO.ar", 48000),
        ("VIDEO.rotate", "auto"),
        ("VIDEO.rotate", 90),
        ("VIDEO.rotate", "360"),
        ("VIDEO.width", 1280),
        ("AUDIO.acodec", "copy"),
    ],
)
def test_valid_field_values_pass(field: str, value: object):
    from presetsync.presets.catalog import presettype_spec

    spec = presettype_spec("avop").field(field)
    assert check_field(spec, field, value) is None


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("AUDIO.ab", "19.999k", "out of range"),
        ("AUDIO.ab", "321k", "out of range"),
        ("AUDIO.ab", "64 k", "cannot read bitrate"),
        ("AUDIO.ab", "64kbps", "cannot read bitrate"),
        ("AUDIO.ab", "-64k", "cannot read bitrate"),
        ("AUDIO.ab", 64000.5, "not a whole number"),
        ("AUDIO.ab", True, "not a boolean"),
        ("VIDEO.vr", "60.5", "out of range"),
        ("VIDEO.vr", float("nan"), "finite"),
        ("AUDIO.ar", "44.1k", "must be a whole number"),
        ("AUDIO.ar", 44100.5, "must be a whole number"),
        ("VIDEO.rotate", -90, "out of range"),
        ("VIDEO.width", 0, "out of range"),
        ("VIDEO.width", [1280], "not a list"),
        ("VIDEO.as", 2, "must be 0 or 1"),
        ("VIDEO.vn", "1", "write it without quotes"),
        ("AUDIO.acodec", 5, "must be a string"),
    ],
)
def test_invalid_field_values_are_explained(field: str, value: object, message: str):
    from presetsync.presets.catalog import presettype_spec

    spec = presettype_spec("avop").field(field)
    found = check_field(spec, field, value)
    assert found is not None and message in found and found.startswith(field)


def test_positions_of_list_items_in_param():
    path = GOOD / "all_presettypes.yaml"
    logo = next(p for p in load_presets([path]).presets if p.name == "logo_corner")
    text = path.read_text().splitlines()
    line, col = logo.position("IMAGE[1].logoUrl", key=False)
    assert text[line - 1][col - 1 :] == "/bucket/second.png"
    assert logo.where("IMAGE[0]").endswith(f"all_presettypes.yaml:{line - 3}:11")
