"""apply end to end against the local service: convergence, prune, protect, thresholds,
saved plans, conflicts, the audit trail and confirmation."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import yaml

from presetsync.cli import main
from presetsync.presets.apply import Applier
from presetsync.presets.live import fetch_live
from presetsync.presets.plan import build_plan
from presetsync.presets.steps import CONFLICT, DONE, steps_for
from presetsync.presets.validate import load_presets


def preset(name, vb="1m", presettype="avop", **extra):
    if presettype == "avop":
        param = {"f": "mp4", "VIDEO": {"vb": vb, "width": 1280, "height": 720}, **extra}
    else:
        param = extra or {"width": 320, "height": 180}
    return {"preset": name, "presettype": presettype, "param": param}


class Repo:
    """A presets repository in a temporary directory, applied against one local service."""

    def __init__(self, root: Path, service, capsys):
        self.root, self.service, self.capsys = root, service, capsys
        (root / "presets").mkdir()
        self.config({})

    def config(self, extra: dict) -> None:
        data = {"endpoint": self.service.url, "presets": ["presets"], **extra}
        (self.root / "presetsync.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")

    def write(self, filename: str, *presets: dict) -> None:
        (self.root / "presets" / filename).write_text(yaml.safe_dump({"presets": list(presets)}), encoding="utf-8")

    def remove(self, filename: str) -> None:
        (self.root / "presets" / filename).unlink()

    def run(self, *args: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = main([args[0], "-c", str(self.root / "presetsync.yaml"), *args[1:]])
        out = self.capsys.readouterr()
        return code, out.out, out.err

    def apply(self, *args: str) -> tuple[int, str, str]:
        return self.run("apply", "--auto-approve", *args)

    def plan_is_empty(self) -> bool:
        code, out, _ = self.run("plan", "--detailed-exitcode")
        assert code in (0, 2), out
        return code == 0

    def live(self) -> dict:
        return fetch_live(self.service.client())


@pytest.fixture
def repo(tmp_path, local_service, capsys, monkeypatch):
    creds = local_service.credentials
    monkeypatch.setenv("KS_ACCESS_KEY_ID", creds.access_key_id)
    monkeypatch.setenv("KS_SECRET_ACCESS_KEY", creds.secret_access_key)
    return Repo(tmp_path, local_service, capsys)


def test_apply_then_the_plan_is_empty(repo):
    repo.write("a.yaml", preset("web_720p"), preset("web_480p", vb="800k"), preset("thumb", presettype="avsnapshot"))
    code, out, _ = repo.apply()
    assert code == 0, out
    assert "Apply: 3 done, 0 failed, 0 conflict(s), 0 skipped." in out
    assert sorted(repo.live()) == ["thumb", "web_480p", "web_720p"]
    assert repo.plan_is_empty()
    code, out, _ = repo.apply()
    assert code == 0 and "No changes." in out, "running again converges to nothing to do"


def test_edit_delete_and_rename_converge(repo):
    repo.config({"manage": ["*"], "prune": True})
    repo.write("a.yaml", preset("web_720p"), preset("old_name"))
    repo.write("b.yaml", preset("gone_soon"))
    assert repo.apply()[0] == 0
    repo.write("a.yaml", preset("web_720p", vb="2m"), preset("new_name"))  # edit + rename
    repo.remove("b.yaml")  # delete
    code, out, _ = repo.apply()
    assert code == 0, out
    live = repo.live()
    assert sorted(live) == ["new_name", "web_720p"]
    assert live["web_720p"].param["VIDEO"]["vb"] == "2m"
    assert repo.plan_is_empty()


def test_replace_when_the_presettype_changes(repo):
    repo.write("a.yaml", preset("thumb", presettype="avsnapshot"))
    repo.apply()
    repo.write("a.yaml", preset("thumb", presettype="avsample", interval=5, width=320, height=180))
    code, out, _ = repo.apply()
    assert code == 0, out
    assert "-/+ thumb (avsnapshot -> avsample): must be replaced" in out
    assert repo.live()["thumb"].presettype == "avsample"
    assert repo.plan_is_empty()


def test_prune_deletes_only_managed_names(repo):
    client = repo.service.client()
    for name in ("tmp_a", "tmp_b", "keep_c"):
        client.preset(preset(name))
    repo.config({"manage": ["tmp_*"]})
    repo.write("a.yaml", preset("web_720p"))
    code, out, _ = repo.apply("--prune")
    assert code == 0, out
    assert sorted(repo.live()) == ["keep_c", "web_720p"]


def test_protect_holds_even_with_force(repo):
    client = repo.service.client()
    client.preset(preset("legacy_main"))
    client.preset(preset("legacy_thumb", presettype="avsnapshot"))
    repo.config({"manage": ["*"], "protect": ["legacy_*"], "safety": {"max_deletes": 100}})
    repo.write("a.yaml", preset("web_720p"))
    code, out, _ = repo.apply("--prune", "--force")
    assert code == 0, out
    assert "legacy_main" in repo.live(), "prune never proposes deleting a protected preset"
    # A replacement of a protected preset (its presettype changed in the files) is refused.
    repo.write("b.yaml", preset("legacy_thumb", presettype="avsample", interval=5))
    code, _, err = repo.apply("--force")
    assert code == 3
    assert "replace legacy_thumb" in err and "protected" in err
    assert repo.live()["legacy_thumb"].presettype == "avsnapshot"


def test_max_deletes_trips_and_force_overrides(repo):
    client = repo.service.client()
    for i in range(4):
        client.preset(preset(f"tmp_{i}"))
    repo.config({"manage": ["tmp_*"], "safety": {"max_deletes": 2}})
    repo.write("a.yaml", preset("web_720p"))
    code, _, err = repo.apply("--prune")
    assert code == 3
    assert "unsafe plan: 4 deletes" in err and "(use --force)" in err
    assert len(repo.live()) == 4, "nothing is sent when the plan is refused"
    code, out, _ = repo.apply("--prune", "--force")
    assert code == 0, out
    assert sorted(repo.live()) == ["web_720p"]


def test_max_change_percent_applies_once_enough_presets_are_managed(repo):
    repo.write("a.yaml", *[preset(f"p_{i}") for i in range(10)])
    assert repo.apply()[0] == 0
    repo.write("a.yaml", *[preset(f"p_{i}", vb="2m" if i < 4 else "1m") for i in range(10)])
    repo.config({"safety": {"max_change_percent": 30, "min_existing": 10}})
    code, _, err = repo.apply()
    assert code == 3 and "4 of 10 managed presets changed (40%)" in err
    repo.config({"safety": {"max_change_percent": 30, "min_existing": 11}})
    assert repo.apply()[0] == 0, "below min_existing the percentage is not enforced"


def test_a_saved_plan_goes_stale_when_a_touched_preset_changes(repo, tmp_path):
    repo.write("a.yaml", preset("web_720p"), preset("web_480p"))
    repo.apply()
    repo.write("a.yaml", preset("web_720p", vb="3m"), preset("web_480p", vb="900k"))
    plan_file = tmp_path / "plan.json"
    assert repo.run("plan", "-o", str(plan_file))[0] == 0
    # Another client changes a preset the plan touches, between plan and apply.
    other = preset("web_480p", vb="700k")
    repo.service.client().update_preset(other)
    code, _, err = repo.run("apply", str(plan_file), "--auto-approve")
    assert code == 3
    assert "stale: web_480p changed" in err
    live = repo.live()
    assert live["web_720p"].param["VIDEO"]["vb"] == "1m", "a stale plan applies nothing at all"


def test_a_fresh_saved_plan_applies_exactly_what_was_reviewed(repo, tmp_path):
    repo.write("a.yaml", preset("web_720p"))
    plan_file = tmp_path / "plan.json"
    repo.run("plan", "-o", str(plan_file))
    repo.write("a.yaml", preset("web_720p"), preset("not_reviewed"))  # edited after the review
    code, out, _ = repo.run("apply", str(plan_file), "--auto-approve")
    assert code == 0, out
    assert sorted(repo.live()) == ["web_720p"]


def test_a_saved_plan_for_another_endpoint_is_refused(repo, tmp_path, local_service):
    repo.write("a.yaml", preset("web_720p"))
    plan_file = tmp_path / "plan.json"
    repo.run("plan", "-o", str(plan_file))
    data = json.loads(plan_file.read_text())
    data["target"]["endpoint"] = "http://offline.example.test/"  # an edit: see also test_saved_plan_integrity.py
    plan_file.write_text(json.dumps(data))
    code, _, err = repo.run("apply", str(plan_file), "--auto-approve")
    assert code == 3 and "modified" in err
    assert "web_720p" not in repo.live()


def test_a_concurrent_update_during_apply_is_a_conflict(local_service, make_client, tmp_path):
    client = make_client(local_service)
    client.preset(preset("web_720p"))
    path = tmp_path / "a.yaml"
    path.write_text(yaml.safe_dump({"presets": [preset("web_720p", vb="2m"), preset("web_480p")]}))
    plan = build_plan(load_presets([path]).presets, fetch_live(client))
    make_client(local_service).update_preset(preset("web_720p", vb="5m"))  # someone else, meanwhile
    result = Applier(client).run(steps_for(plan.changes))
    by_name = {o.step.name: o for o in result.outcomes}
    assert by_name["web_720p"].status == CONFLICT
    assert "changed since the plan" in by_name["web_720p"].message
    assert by_name["web_480p"].status == DONE
    assert fetch_live(client)["web_720p"].param["VIDEO"]["vb"] == "5m", "never overwritten silently"


def test_conflicts_exit_3_through_the_command(repo, monkeypatch):
    repo.write("a.yaml", preset("web_720p"))
    repo.apply()
    repo.write("a.yaml", preset("web_720p", vb="2m"))
    real_run = Applier.run

    def interfere(self, steps):
        repo.service.client().update_preset(preset("web_720p", vb="9m"))
        return real_run(self, steps)

    monkeypatch.setattr(Applier, "run", interfere)
    code, out, _ = repo.apply()
    assert code == 3
    assert "CONFLICT update web_720p" in out


def test_the_audit_trail_has_one_line_per_change_and_no_secret(repo):
    repo.write("a.yaml", preset("web_720p"), preset("web_480p"))
    repo.apply()
    lines = (repo.root / ".presetsync" / "apply-log.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert sorted(r["preset"] for r in records) == ["web_480p", "web_720p"]
    assert all(r["action"] == "create" and r["outcome"] == "done" and r["before"] is None for r in records)
    assert all(r["after"].startswith("sha256:") for r in records)
    assert repo.service.credentials.secret_access_key not in "\n".join(lines)


def test_without_a_terminal_apply_refuses_unless_auto_approved(repo, monkeypatch):
    repo.write("a.yaml", preset("web_720p"))
    monkeypatch.setattr("sys.stdin", io.StringIO("yes\n"))
    code, _, err = repo.run("apply")
    assert code == 1 and "--auto-approve" in err
    assert repo.service.stats.total == 0, "refused before anything was sent"


class _Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize(("answer", "applied"), [("yes\n", True), ("y\n", False), ("\n", False), ("no\n", False)])
def test_on_a_terminal_apply_asks_first(repo, monkeypatch, answer, applied):
    repo.write("a.yaml", preset("web_720p"))
    monkeypatch.setattr("sys.stdin", _Terminal(answer))
    code, out, _ = repo.run("apply")
    assert code == 0
    assert "Apply these changes?" in out
    assert ("web_720p" in repo.live()) is applied


def test_fail_fast_skips_what_was_not_started(repo, monkeypatch):
    repo.write("a.yaml", *[preset(f"p_{i}") for i in range(6)])
    real_run = Applier.run

    def someone_creates_p_0_first(self, steps):
        repo.service.client().preset(preset("p_0", vb="3m"))
        return real_run(self, steps)

    monkeypatch.setattr(Applier, "run", someone_creates_p_0_first)
    code, out, _ = repo.apply("--parallelism", "1", "--fail-fast")
    assert code == 3
    assert "CONFLICT create p_0" in out
    assert "Apply: 0 done, 0 failed, 1 conflict(s), 5 skipped." in out
    assert sorted(repo.live()) == ["p_0"]
