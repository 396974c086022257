"""Task manifests: checks at file:line:col, expansion, identities, and `validate` on manifests.

Each file under ``tests/fixtures/manifests/bad/`` announces its problems in comments
(``# expect: LINE[:COL]: text``, as in tests/fixtures/bad/). It is validated together with
``fixtures/manifests/presets/`` (web_720p, web_480p, corner_logo), with ``live_only`` as the
only live preset; every expectation must be met and every problem expected.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from presetsync.cli import main
from presetsync.commands.validate import validate_paths
from presetsync.inputs.documents import parse_yaml
from presetsync.tasks.identity import normalise, sendable, task_identity
from presetsync.tasks.manifest import is_manifest, load_manifest, template_problems, template_values

HERE = Path(__file__).resolve().parent
MANIFESTS = HERE / "fixtures" / "manifests"
PRESETS = MANIFESTS / "presets"
BAD_MANIFESTS = sorted(MANIFESTS.joinpath("bad").glob("*.yaml"))
GOOD = MANIFESTS / "good" / "catalogue.yaml"
EXAMPLE = HERE.parent / "examples" / "tasks" / "catalogue.yaml"
EXPECT = re.compile(r"#\s*expect:\s*(\d+)(?::(\d+))?:\s*(.+?)\s*$")
MUTATING = ("CreateTask", "Preset", "UpdatePreset", "DelPreset", "DelTaskByTaskID", "TopTaskByTaskID")


def live(names=("live_only",)):
    return lambda: (set(names), "")


def expectations(file: Path) -> list[tuple[int, int | None, str]]:
    out = []
    for line in file.read_text(encoding="utf-8").splitlines():
        match = EXPECT.search(line)
        if match:
            out.append((int(match.group(1)), int(match.group(2)) if match.group(2) else None, match.group(3)))
    return out


def problems_of(file: Path, **options) -> list[str]:
    out = io.StringIO()
    code = validate_paths([file, PRESETS], out=out, live_presets=options.get("live_presets", live()))
    lines = out.getvalue().splitlines()
    return code, lines


def test_there_are_at_least_twenty_bad_manifests():
    assert len(BAD_MANIFESTS) >= 20


@pytest.mark.parametrize("case", BAD_MANIFESTS, ids=lambda p: p.name)
def test_bad_manifest_reports_exactly_the_announced_problems(case: Path):
    code, lines = problems_of(case)
    assert code == 1
    assert re.fullmatch(r"\d+ problems? in \d+ files?", lines[-1])
    found = []
    for line in lines[:-1]:
        match = re.match(r"(.+?):(\d+):(\d+): (.*)$", line)
        assert match, f"not file:line:col: {line}"
        assert Path(match.group(1)).resolve() == case
        found.append((int(match.group(2)), int(match.group(3)), match.group(4)))
    expected = expectations(case)
    unmet = [e for e in expected if not any(f[0] == e[0] and e[1] in (None, f[1]) and e[2] in f[2] for f in found)]
    surprising = [f for f in found if not any(f[0] == e[0] and e[1] in (None, f[1]) and e[2] in f[2] for e in expected)]
    assert not unmet and not surprising, f"unmet: {unmet}\nsurprising: {surprising}\nall: {lines}"


def test_good_manifest_and_example_validate_cleanly():
    code, lines = problems_of(GOOD)
    assert code == 0, lines
    assert lines == ["2 files, 3 presets, 1 manifest with 7 tasks: ok"]
    out = io.StringIO()
    examples = HERE.parent / "examples"
    assert validate_paths([EXAMPLE, examples / "presets"], out=out, live_presets=live(())) == 0, out.getvalue()
    assert out.getvalue().endswith("manifest with 14 tasks: ok\n")
    assert EXAMPLE.read_text().startswith("# yaml-language-server: $schema=../../schemas/task-manifest.schema.json")


def test_a_preset_only_live_is_known_only_when_the_service_is_read():
    code, lines = problems_of(GOOD, live_presets=live(()))
    assert code == 1
    assert [line.split(": ", 1)[1] for line in lines[:-1]] == [
        "preset 'live_only' does not exist in the service or in the preset files"
    ]


def test_an_unreadable_service_turns_unknown_presets_into_warnings():
    code, lines = problems_of(GOOD, live_presets=lambda: (None, "no credentials found"))
    assert code == 0
    assert lines[0].endswith(
        "catalogue.yaml: warning: the live presets could not be read (no credentials found): "
        "presets not in the preset files were not checked"
    )
    assert re.search(r"catalogue.yaml:15:13: warning: preset 'live_only' is not in the preset files", lines[1])
    assert lines[-1] == "2 files, 3 presets, 1 manifest with 7 tasks (2 warnings): ok"


def test_the_service_is_not_asked_when_the_files_know_every_preset(tmp_path):
    manifest = tmp_path / "m.yaml"
    manifest.write_text(
        "matrix: {sources: [/in/a.mp4], presets: [web_720p], dstObjectKey: '{stem}.mp4', dstBucket: out}\n"
    )

    def refuse():
        raise AssertionError("the live presets were read")

    assert validate_paths([manifest, PRESETS], out=io.StringIO(), live_presets=refuse) == 0


def test_a_manifest_is_told_from_a_preset_file():
    assert is_manifest({"tasks": []}) and is_manifest({"matrix": {}}) and is_manifest({"defaults": {}})
    assert not is_manifest({"presets": [], "tasks": []})
    assert not is_manifest({"preset": "x", "presettype": "avop", "param": {}})
    assert not is_manifest(["tasks"]) and not is_manifest(None)


def test_matrix_expands_sources_by_presets_with_placeholders_in_order():
    manifest = load_manifest(GOOD)
    assert manifest.problems == []
    tasks = list(manifest.tasks())
    assert manifest.count() == len(tasks) == 7
    assert [t.body["dstObjectKey"] for t in tasks] == [
        "joined/intro_outro.mp4",
        "trailer.mp4",
        "films/a_web_720p.mp4",
        "films/a_web_480p.mp4",
        "films/b_web_720p.mp4",
        "films/b_web_480p.mp4",
        "clips/000-c.mp4",
    ]
    first = tasks[0].body
    assert list(first) == [
        "preset", "srcInfo", "dstBucket", "dstObjectKey", "dstAcl", "isTop", "cbMethod", "cbUrl", "extParam"
    ]  # fmt: skip
    assert first["extParam"] == '{"ss":"00:00:05"}', "a mapping is sent as the JSON string the API takes"
    assert tasks[1].body["dstBucket"] == "media-preview", "a task's own field wins over defaults"
    assert tasks[6].body["dstAcl"] == "public-read", "a matrix field wins over defaults"
    assert tasks[2].body["srcInfo"] == [{"path": "/media-in/films/a.mp4", "type": "video", "index": 0}]
    assert re.fullmatch(r".*catalogue\.yaml:21:15", tasks[2].where), "a matrix task points at its source"
    assert len({t.id for t in tasks}) == 7


def test_expansion_is_a_stream():
    manifest = load_manifest(GOOD)
    stream = manifest.tasks()
    assert not isinstance(stream, (list, tuple))
    assert next(stream).body["dstObjectKey"] == "joined/intro_outro.mp4"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("/b/films/intro.mp4", ("intro", "mp4")),
        ("/b/a.tar.gz", ("a.tar", "gz")),
        ("/b/noext", ("noext", "")),
        ("/b/.hidden", (".hidden", "")),
    ],
)
def test_template_values(source, expected):
    values = template_values(source, "p_1", 3)
    assert (values["stem"], values["ext"]) == expected and values["index"] == 3 and values["preset"] == "p_1"


def test_template_checks():
    assert template_problems("{preset}/{stem}.{ext}") == []
    assert template_problems("{index:05d}-{{literal}}") == []
    assert "did you mean 'index'" in template_problems("{idx}.mp4")[0]
    assert "conversions" in template_problems("{stem!r}")[0]
    assert "unbalanced" in template_problems("}{")[0]


def test_identity_ignores_spelling_but_not_meaning():
    body = {"preset": "p1", "srcInfo": [{"path": "/b/a.mp4"}], "dstBucket": "o", "dstObjectKey": "a.mp4"}
    same = [
        {**body, "dstAcl": "public-read", "isTop": 0, "dstDir": "", "cbUrl": "", "extParam": ""},
        {**body, "srcInfo": [{"index": 0, "type": "video", "path": "/b/a.mp4"}]},
        dict(reversed(list(body.items()))),
        {**body, "extParam": "", "isTop": "0"},
    ]
    different = [
        {**body, "dstAcl": "private"},
        {**body, "dstObjectKey": "b.mp4"},
        {**body, "preset": "p2"},
        {**body, "srcInfo": [{"path": "/b/a.mp4", "type": "audio"}]},
    ]
    identity = task_identity(sendable(body))
    assert re.fullmatch(r"[0-9a-f]{64}", identity)
    assert all(task_identity(sendable(b)) == identity for b in same)
    assert all(task_identity(sendable(b)) != identity for b in different)
    assert task_identity({**body, "extParam": '{"a": 1, "b": 2}'}) == task_identity(
        {**body, "extParam": {"b": 2, "a": 1}}
    )
    assert normalise({**body, "extParam": {"a": 1}})["extParam"] == {"a": 1}


def test_a_yaml_error_in_a_manifest_is_reported_like_any_yaml_error(tmp_path):
    file = tmp_path / "m.yaml"
    file.write_text("tasks:\n  - preset: [unclosed\n")
    out = io.StringIO()
    assert validate_paths([file], out=out) == 1
    assert re.match(rf"{re.escape(str(file))}:\d+:\d+: YAML syntax error", out.getvalue())


def test_manifest_schema_is_valid_draft_2020_12_with_titles():
    import jsonschema

    schema = json.loads((HERE.parent / "schemas" / "task-manifest.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    for name, sub in schema["$defs"].items():
        assert sub.get("title") or sub.get("$ref"), name


def test_loaded_data_of_the_example_matches_the_schema_used_by_editors():
    doc = parse_yaml(EXAMPLE.read_bytes(), "catalogue.yaml")
    assert is_manifest(doc.data)


# --------------------------------------------------------------------------------------------
# Through the command line, against the local service: nothing mutating is ever sent


@pytest.fixture
def project(local_service, tmp_path, monkeypatch):
    """A project directory whose presetsync.yaml points at the local service; credentials in env."""
    creds = local_service.credentials
    monkeypatch.setenv("KS_ACCESS_KEY_ID", creds.access_key_id)
    monkeypatch.setenv("KS_SECRET_ACCESS_KEY", creds.secret_access_key)
    (tmp_path / "presetsync.yaml").write_text(f"endpoint: {local_service.url}\npresets: [{PRESETS}]\n")
    monkeypatch.chdir(tmp_path)
    client = local_service.client()
    for name in ("web_720p", "web_480p", "live_only"):
        client.preset({"preset": name, "presettype": "avop", "param": {"f": "mp4"}})
    client.preset(
        {"preset": "corner_logo", "presettype": "avlogo", "param": {"IMAGE": [{"logoUrl": "http://e.x/l.png"}]}}
    )
    local_service.stats.reset()
    return local_service


@pytest.mark.parametrize("case", BAD_MANIFESTS, ids=lambda p: p.name)
def test_bad_manifest_fails_validate_and_submit_at_its_line_sending_nothing(case, project, capsys):
    line, _, text = expectations(case)[0]
    assert main(["validate", str(case)]) == 1
    out = capsys.readouterr().out
    assert any(f"{case.name}:{line}:" in row and text in row for row in out.splitlines()), out

    assert main(["tasks", "submit", str(case)]) == 1
    err = capsys.readouterr().err
    text = text.split(" in the service")[0]  # submit knows only the service's presets
    assert any(f"{case.name}:{line}:" in row and text in row for row in err.splitlines()), err
    assert "nothing was sent" in err
    by_action = project.stats.by_action()
    assert not any(by_action.get(action) for action in MUTATING), by_action
    assert set(by_action) <= {"GetPresetList"}, "at most one read of the live presets per command"
    assert not (Path.cwd() / ".presetsync").exists() or not list((Path.cwd() / ".presetsync").glob("tasks-*"))


def test_validate_reads_the_live_presets_once_for_a_name_the_files_lack(project, capsys):
    assert main(["validate", str(GOOD)]) == 0
    assert capsys.readouterr().out == "1 file, 0 presets, 1 manifest with 7 tasks: ok\n"
    assert project.stats.by_action() == {"GetPresetList": 1}


def test_validate_without_credentials_warns_and_sends_nothing(project, monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("KS_ACCESS_KEY_ID")
    monkeypatch.delenv("KS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("KSC_CONFIG", str(tmp_path / "none.cfg"))
    assert main(["validate", str(GOOD)]) == 0
    out = capsys.readouterr().out
    assert "could not be read (no credentials found)" in out
    assert project.stats.total == 0
