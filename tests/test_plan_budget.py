"""`plan` output that fits where it goes, and says what apply will refuse.

- A Markdown plan fits a pull-request comment: over a budget (60,000 characters by default,
  ``--max-chars``) the per-preset diffs give way to the summary table and a note on where the
  whole plan is.
- Every format (text, JSON, Markdown) shows the safety verdict that apply enforces: over a
  threshold (needs --force) or touching a protected preset (refused even with --force). The
  verdict is the one apply raises from (Plan.safety_verdict), so the sentences are the same.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from presetsync.cli import main
from presetsync.presets.render import MARKDOWN_MAX_CHARS

GITHUB_COMMENT_LIMIT = 65_536


@pytest.fixture
def workdir(local_service, tmp_path, monkeypatch):
    """A directory with a presetsync.yaml pointing at the local service, credentials in the
    environment, and the service's client."""
    creds = local_service.credentials
    monkeypatch.setenv("KS_ACCESS_KEY_ID", creds.access_key_id)
    monkeypatch.setenv("KS_SECRET_ACCESS_KEY", creds.secret_access_key)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "presets").mkdir()
    return tmp_path


def config(workdir: Path, service, **settings) -> None:
    data = {"endpoint": service.url, "presets": ["presets"], **settings}
    (workdir / "presetsync.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")


def preset(name: str, vb: str = "2m", presettype: str = "avop") -> dict:
    if presettype == "avsample":
        return {"preset": name, "presettype": presettype, "param": {"interval": 5}}
    return {
        "preset": name,
        "presettype": presettype,
        "description": f"{name}, an H.264 rendition for the web at {vb}",
        "param": {
            "f": "mp4",
            "AUDIO": {"acodec": "aac", "ab": "128k", "ar": 44100},
            "VIDEO": {"vcodec": "h264", "vb": vb, "vr": 25, "width": 1280, "height": 720},
        },
    }


def write_presets(workdir: Path, presets: list[dict]) -> None:
    (workdir / "presets" / "all.yaml").write_text(yaml.safe_dump({"presets": presets}), encoding="utf-8")


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_markdown_plan_of_1000_creates_fits_a_comment(workdir, local_service, capsys):
    config(workdir, local_service)
    write_presets(workdir, [preset(f"web_{i:04d}") for i in range(1000)])

    code, full, _ = run(capsys, "plan", "--format", "markdown", "--max-chars", str(10**7))
    assert code == 0
    assert len(full) > 200_000 and full.count("<details>") == 1000, "the whole plan is far over a comment"

    code, comment, _ = run(capsys, "plan", "--format", "markdown")
    assert code == 0
    assert len(comment) <= MARKDOWN_MAX_CHARS < GITHUB_COMMENT_LIMIT
    assert "<details>" not in comment, "the per-preset diffs collapse"
    assert "**Plan: 1,000 to create" in comment or "**Plan: 1000 to create" in comment
    assert "`--max-chars`" in comment and "presetsync plan --format json" in comment and "plan -o plan.json" in comment
    rows = [line for line in comment.splitlines() if line.startswith("| + create | `web_")]
    assert rows and rows[0].startswith("| + create | `web_0000`")
    assert len(rows) == 1000 or f"and {1000 - len(rows):,} more changes" in comment

    code, small, _ = run(capsys, "plan", "--format", "markdown", "--max-chars", "5000")
    assert code == 0
    assert len(small) <= 5000
    shown = sum(1 for line in small.splitlines() if line.startswith("| + create |"))
    assert 0 < shown < 1000
    assert f"... and {1000 - shown:,} more changes ({shown:,} of 1,000 shown)." in small

    assert local_service.stats.total == 3, "one GetPresetList per plan"


def test_a_plan_within_the_budget_keeps_every_diff(workdir, local_service, capsys):
    config(workdir, local_service)
    write_presets(workdir, [preset("web_720p")])
    code, out, _ = run(capsys, "plan", "--format", "markdown")
    assert code == 0
    assert out.count("<details>") == 1 and "+ param.VIDEO.vb: 2000000" in out
    assert "left out" not in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--max-chars", "5000"], "--max-chars is for --format markdown"),
        (["--format", "markdown", "--max-chars", "100"], "--max-chars must be at least 2000"),
    ],
)
def test_bad_max_chars_exit_1_and_send_nothing(workdir, local_service, capsys, args, message):
    config(workdir, local_service)
    write_presets(workdir, [preset("web_720p")])
    code, _, err = run(capsys, "plan", *args)
    assert code == 1
    assert message in err and "Traceback" not in err
    assert local_service.stats.total == 0


def seed(client, presets: list[dict]) -> None:
    for body in presets:
        client.preset(body)


def test_a_plan_over_a_threshold_says_apply_needs_force_in_every_format(workdir, local_service, client, capsys):
    # The case, scaled down: 90 of 100 managed presets would be deleted.
    config(workdir, local_service, manage=["*"], safety={"max_change_percent": 30, "min_existing": 10})
    live = [preset(f"web_{i:03d}") for i in range(100)]
    seed(client, live)
    write_presets(workdir, live[:10])

    code, text, _ = run(capsys, "plan", "--prune")
    assert code == 0
    assert "Plan: 0 to create, 0 to update, 0 to replace, 90 to delete." in text
    needs_force = (
        "Safety: apply would refuse this plan without --force: 90 of 100 managed presets changed (90%) "
        "is over safety.max_change_percent = 30."
    )
    assert needs_force in text.splitlines()

    code, out, _ = run(capsys, "plan", "--prune", "--format", "json")
    data = json.loads(out)
    assert list(data)[:3] == ["format_version", "summary", "safety"]
    assert data["safety"] == {
        "verdict": "needs-force",
        "protected": [],
        "over_thresholds": ["90 of 100 managed presets changed (90%) is over safety.max_change_percent = 30"],
    }

    code, md, _ = run(capsys, "plan", "--prune", "--format", "markdown")
    assert "> **Safety:** apply would refuse this plan without --force: 90 of 100 managed presets" in md

    # apply says the same thing, from the same verdict, and sends nothing
    before = local_service.stats.total
    code, _, err = run(capsys, "apply", "--prune", "--auto-approve")
    assert code == 3
    assert "90 of 100 managed presets changed (90%) is over safety.max_change_percent = 30 (use --force)" in err
    assert local_service.stats.total - before == 1, "only the GetPresetList: nothing deleted"


def test_a_protected_replacement_is_refused_even_with_force_in_every_format(workdir, local_service, client, capsys):
    config(workdir, local_service, protect=["legacy_*"])
    seed(client, [preset("legacy_thumb"), preset("web_720p")])
    write_presets(workdir, [preset("legacy_thumb", presettype="avsample"), preset("web_720p")])

    code, text, _ = run(capsys, "plan")
    assert code == 0
    refused = (
        "Safety: apply would refuse this plan, even with --force: it would replace legacy_thumb, "
        "protected by 'protect:' in the config."
    )
    assert refused in text.splitlines()
    data = json.loads(run(capsys, "plan", "--format", "json")[1])
    assert data["safety"]["verdict"] == "refused" and data["safety"]["protected"] == ["replace legacy_thumb"]
    md = run(capsys, "plan", "--format", "markdown")[1]
    assert "> **Safety:** apply would refuse this plan, even with --force: it would replace legacy_thumb" in md

    code, _, err = run(capsys, "apply", "--auto-approve", "--force")
    assert code == 3 and "replace legacy_thumb, protected by 'protect:'" in err


def test_a_safe_plan_says_ok_in_json_and_nothing_more_in_text(workdir, local_service, capsys):
    config(workdir, local_service)
    write_presets(workdir, [preset("web_720p")])
    code, text, _ = run(capsys, "plan")
    assert code == 0
    assert "Safety" not in text and text.endswith("Plan: 1 to create, 0 to update, 0 to replace, 0 to delete.\n")
    data = json.loads(run(capsys, "plan", "--format", "json")[1])
    assert data["safety"] == {"verdict": "ok", "protected": [], "over_thresholds": []}
