"""One apply path: a fresh apply and the apply of a saved plan of the same change give the
same exit code and the same final state; a saved plan that is already applied has nothing
left to do."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from test_apply import Repo, preset

WRITES = ("Preset", "UpdatePreset", "DelPreset")


@dataclass
class Scenario:
    live: list[dict]  # presets in the service before
    files: list[dict]  # presets in the files
    config: dict = field(default_factory=dict)
    args: tuple[str, ...] = ()  # plan/apply selection flags
    code: int = 0  # the exit code both paths give


TEN = [preset(f"p_{i}") for i in range(10)]

SCENARIOS = {
    # The example: a targeted change of one preset among ten managed ones.
    "target_under_threshold": Scenario(
        live=TEN,
        files=[preset("p_1", vb="2m"), *TEN[2:], TEN[0]],
        config={"safety": {"max_change_percent": 30, "min_existing": 1}},
        args=("--target", "p_1"),
    ),
    "over_max_change_percent": Scenario(
        live=TEN,
        files=[preset(f"p_{i}", vb="2m" if i < 4 else "1m") for i in range(10)],
        config={"safety": {"max_change_percent": 30, "min_existing": 1}},
        code=3,
    ),
    "prune_over_max_deletes": Scenario(
        live=[preset(f"tmp_{i}") for i in range(4)],
        files=[preset("web_720p")],
        config={"manage": ["tmp_*"], "safety": {"max_deletes": 2}},
        args=("--prune",),
        code=3,
    ),
    "prune_within_limits": Scenario(
        live=[preset("tmp_0"), preset("keep_1")],
        files=[preset("web_720p"), preset("keep_1", vb="3m")],
        config={"manage": ["tmp_*"]},
        args=("--prune",),
    ),
    "replace_of_a_protected_preset": Scenario(
        live=[preset("legacy_thumb", presettype="avsnapshot")],
        files=[preset("legacy_thumb", presettype="avsample", interval=5)],
        config={"protect": ["legacy_*"]},
        code=3,
    ),
}


def state(repo: Repo) -> dict:
    return {name: (p.presettype, p.param) for name, p in repo.live().items()}


@pytest.fixture
def make_repo(tmp_path, service_factory, capsys, monkeypatch):
    accounts = {"AKLTEXAMPLEPATHS0000000": "ExampleSecretPaths/000000000000000000000"}
    ((key, secret),) = accounts.items()
    monkeypatch.setenv("KS_ACCESS_KEY_ID", key)
    monkeypatch.setenv("KS_SECRET_ACCESS_KEY", secret)

    def make(name: str, scenario: Scenario) -> Repo:
        root = tmp_path / name
        root.mkdir()
        repo = Repo(root, service_factory(f"{name}.sqlite", accounts=accounts), capsys)
        repo.config(scenario.config)
        client = repo.service.client()
        for body in scenario.live:
            client.preset(body)
        repo.write("a.yaml", *scenario.files)
        return repo

    return make


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_saved_and_fresh_apply_give_the_same_outcome(make_repo, name):
    scenario = SCENARIOS[name]
    fresh, saved = make_repo("fresh", scenario), make_repo("saved", scenario)
    assert state(fresh) == state(saved)

    fresh_code, fresh_out, fresh_err = fresh.apply(*scenario.args)

    plan_file = saved.root / "plan.json"
    assert saved.run("plan", "-o", str(plan_file), *scenario.args)[0] == 0
    saved_code, saved_out, saved_err = saved.run("apply", str(plan_file), "--auto-approve")

    assert fresh_code == saved_code == scenario.code, (fresh_out + fresh_err, saved_out + saved_err)
    assert state(fresh) == state(saved)
    if scenario.code == 3:
        assert fresh_err.splitlines()[-1] == saved_err.splitlines()[-1], "the same refusal, from the same check"
        assert sum(saved.service.stats.count(a) for a in WRITES) == len(scenario.live), "nothing was sent"


def test_re_applying_an_applied_plan_has_nothing_left_to_do(make_repo):
    repo = make_repo("again", SCENARIOS["prune_within_limits"])
    plan_file = repo.root / "plan.json"
    assert repo.run("plan", "--prune", "-o", str(plan_file))[0] == 0
    code, out, _ = repo.run("apply", str(plan_file), "--auto-approve")
    assert code == 0, out
    writes_before = sum(repo.service.stats.count(a) for a in WRITES)

    code, out, err = repo.run("apply", str(plan_file), "--auto-approve")
    assert code == 0, out + err
    assert "Nothing left to do" in out and "changed since" not in out + err
    assert sum(repo.service.stats.count(a) for a in WRITES) == writes_before, "nothing was sent"


def test_a_partly_applied_plan_applies_the_rest(make_repo):
    scenario = SCENARIOS["prune_within_limits"]
    repo = make_repo("partly", scenario)
    plan_file = repo.root / "plan.json"
    assert repo.run("plan", "--prune", "-o", str(plan_file))[0] == 0
    repo.service.client().preset(preset("web_720p"))  # one change done by someone, exactly as planned
    code, out, err = repo.run("apply", str(plan_file), "--auto-approve")
    assert code == 0, out + err
    assert "Already applied: web_720p" in out
    assert "Apply: 2 done, 0 failed, 0 conflict(s), 0 skipped." in out
    assert sorted(repo.live()) == ["keep_1", "web_720p"]
    assert repo.live()["keep_1"].param["VIDEO"]["vb"] == "3m"


def test_a_plan_whose_presets_moved_elsewhere_is_still_stale(make_repo):
    repo = make_repo("stale", SCENARIOS["prune_within_limits"])
    plan_file = repo.root / "plan.json"
    assert repo.run("plan", "--prune", "-o", str(plan_file))[0] == 0
    repo.service.client().update_preset(preset("keep_1", vb="5m"))  # neither planned nor desired
    code, _, err = repo.run("apply", str(plan_file), "--auto-approve")
    assert code == 3
    assert "keep_1 changed since it was made" in err
    assert repo.live()["keep_1"].param["VIDEO"]["vb"] == "5m" and "web_720p" not in repo.live()
