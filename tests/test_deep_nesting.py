"""Deeply nested YAML (100,000 `[`) is refused at its file:line with a clear message, never with
a RecursionError, through `validate`, `plan`, task manifests and presetsync.yaml (issue 10, 6)."""

from __future__ import annotations

from pathlib import Path

import pytest

from presetsync.cli import main
from presetsync.inputs.documents import parse_yaml
from presetsync.inputs.nodes import MAX_DEPTH
from presetsync.tasks.manifest import load_manifest

TOO_DEEP = f"lists and mappings are nested more than {MAX_DEPTH} levels deep here; refused"


@pytest.fixture
def creds_env(local_service, monkeypatch, tmp_path):
    creds = local_service.credentials
    monkeypatch.setenv("KS_ACCESS_KEY_ID", creds.access_key_id)
    monkeypatch.setenv("KS_SECRET_ACCESS_KEY", creds.secret_access_key)
    monkeypatch.chdir(tmp_path)  # no presetsync.yaml here: defaults
    return local_service


# The first "[" of line 4 is at column 12, inside three levels (the file, presets, the preset):
# the one that goes beyond MAX_DEPTH is MAX_DEPTH - 3 further.
DEEP_COL = 12 + MAX_DEPTH - 3


def _deep_preset_file(path: Path) -> Path:
    path.write_text("presets:\n  - preset: web_720p\n    presettype: avop\n    param: " + "[" * 100_000 + "\n")
    return path


def test_validate_reports_100k_brackets_at_file_line_and_exits_1(creds_env, tmp_path, capsys):
    deep = _deep_preset_file(tmp_path / "deep.yaml")
    assert main(["validate", str(deep)]) == 1
    out = capsys.readouterr().out
    assert f"deep.yaml:4:{DEEP_COL}: {TOO_DEEP}" in out
    assert "Traceback" not in out and "RecursionError" not in out


def test_plan_refuses_100k_brackets_before_sending_anything(creds_env, tmp_path, capsys):
    service = creds_env
    deep = _deep_preset_file(tmp_path / "deep.yaml")
    assert main(["plan", str(deep), "--endpoint", service.url]) == 1
    err = capsys.readouterr().err
    assert f"deep.yaml:4:{DEEP_COL}: {TOO_DEEP}" in err
    assert service.stats.total == 0


def test_a_task_manifest_with_100k_brackets_is_refused_at_its_line(creds_env, tmp_path, capsys):
    service = creds_env
    manifest = tmp_path / "m.yaml"
    manifest.write_text(
        "defaults: {dstBucket: out}\ntasks:\n  - preset: web_720p\n    dstObjectKey: a.mp4\n"
        "    extParam: " + "[" * 100_000 + "\n"
    )
    loaded = load_manifest(manifest)
    assert [(p.line, p.message.split(";")[0]) for p in loaded.problems] == [(5, TOO_DEEP.split(";")[0])]

    assert main(["tasks", "submit", str(manifest), "--endpoint", service.url]) == 1
    captured = capsys.readouterr()
    assert f"m.yaml:5:{15 + MAX_DEPTH - 3}: {TOO_DEEP}" in captured.out + captured.err
    assert service.stats.total == 0


def test_a_deep_configuration_is_refused_at_its_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "presetsync.yaml").write_text("presets: [presets]\nx: " + "{a: " * 100_000 + "\n")
    assert main(["validate"]) == 1
    assert f"presetsync.yaml:2:{4 + 4 * (MAX_DEPTH - 1)}: {TOO_DEEP}" in capsys.readouterr().err


@pytest.mark.parametrize(
    "text",
    [
        "presets:\n" + "".join(" " * (i + 2) + "a:\n" for i in range(5000)),  # block mappings
        "presets:\n" + "".join(" " * i + "-\n" for i in range(5000)),  # block sequences
        "presets: " + "{a: [" * 50_000 + "\n",  # flow, mixed
    ],
    ids=["block-mappings", "block-sequences", "flow-mixed"],
)
def test_every_kind_of_deep_nesting_is_refused(text):
    doc = parse_yaml(text, "deep.yaml")
    assert doc.data is None
    assert [p.message.split(";")[0] for p in doc.problems] == [TOO_DEEP.split(";")[0]]


def test_nesting_up_to_the_limit_is_fine_and_one_more_level_is_not():
    assert parse_yaml("a: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n", "f.yaml").problems == []
    doc = parse_yaml("a: " + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "\n", "f.yaml")
    assert [str(p).split(";")[0] for p in doc.problems] == [f"f.yaml:1:{3 + MAX_DEPTH}: {TOO_DEEP.split(';')[0]}"]


def test_nesting_through_aliases_counts_too():
    # *b is 41 levels deep; written inside 1 + 25 levels it would make 67
    text = f"a: &a {'[' * 40}{']' * 40}\nb: &b [*a]\nc: {'[' * 25}*b{']' * 25}\n"
    doc = parse_yaml(text, "f.yaml")
    assert [(p.line, p.col, p.message.split(",")[0]) for p in doc.problems] == [(3, 29, "through the alias *b")]
    assert doc.data["b"] == [doc.data["a"]] and doc.is_bad(("c",) + (0,) * 25)
    assert parse_yaml(text.replace("[" * 25, "[" * 22).replace("]" * 25, "]" * 22), "f.yaml").problems == []
