"""Saved plans are bound to what was reviewed: any edit of the file, a plan made for another
account, endpoint or region, and a plan written by an older presetsync are refused before a
single request is sent, and the live presets stay as they were."""

from __future__ import annotations

import json

import pytest
from test_apply import Repo, preset

from presetsync.api.credentials import Credentials
from presetsync.presets.live import fetch_live, sha256_of

WRITES = ("Preset", "UpdatePreset", "DelPreset")


def writes(service) -> int:
    return sum(service.stats.count(action) for action in WRITES)


def use_account(monkeypatch, key: str, secret: str) -> None:
    monkeypatch.setenv("KS_ACCESS_KEY_ID", key)
    monkeypatch.setenv("KS_SECRET_ACCESS_KEY", secret)


@pytest.fixture
def two_accounts(service_factory, example_accounts, monkeypatch):
    """A local service with two accounts; the commands run as the first one."""
    service = service_factory(accounts=example_accounts)
    (key_a, secret_a), _ = example_accounts.items()
    use_account(monkeypatch, key_a, secret_a)
    return service


@pytest.fixture
def reviewed(tmp_path, two_accounts, capsys):
    """web_720p (vb 1m) and web_480p live; the files raise web_720p to 4m and add new_1080p;
    the plan of that is saved to plan.json. Returns (repo, plan file)."""
    repo = Repo(tmp_path, two_accounts, capsys)
    repo.write("a.yaml", preset("web_720p"), preset("web_480p", vb="800k"))
    assert repo.apply()[0] == 0
    repo.write("a.yaml", preset("web_720p", vb="4m"), preset("web_480p", vb="800k"), preset("new_1080p", vb="6m"))
    plan_file = tmp_path / "plan.json"
    code, _, err = repo.run("plan", "-o", str(plan_file))
    assert code == 0, err
    return repo, plan_file


def edit(plan_file, change) -> None:
    data = json.loads(plan_file.read_text(encoding="utf-8"))
    change(data)
    plan_file.write_text(json.dumps(data, indent=2), encoding="utf-8")


def item(data: dict, name: str) -> dict:
    return next(c for c in data["changes"] if c["name"] == name)


def apply_refused(repo, plan_file) -> str:
    """Applies *plan_file*; asserts exit 3, no request at all, and the live state untouched."""
    before = {name: p.param for name, p in repo.live().items()}
    requests_before = repo.service.stats.total
    code, out, err = repo.run("apply", str(plan_file), "--auto-approve")
    assert code == 3, out + err
    assert repo.service.stats.total == requests_before, "refused before anything was sent (not even a read)"
    assert {name: p.param for name, p in repo.live().items()} == before
    assert "nothing was applied" in err
    return err


def set_body_vb(data: dict, vb: str) -> None:
    item(data, "web_720p")["body"]["param"]["VIDEO"]["vb"] = vb


def test_an_edited_body_is_refused_naming_the_preset(reviewed):
    repo, plan_file = reviewed
    edit(plan_file, lambda data: set_body_vb(data, "9m"))
    err = apply_refused(repo, plan_file)
    assert "web_720p" in err and "modified" in err
    assert "new_1080p" not in err, "only the edited change is named"
    assert repo.live()["web_720p"].param["VIDEO"]["vb"] == "1m"


def test_an_edited_body_with_a_recomputed_digest_is_still_refused(reviewed):
    """Someone who edits the body and recomputes the digest: the body no longer gives the
    reviewed diff (vb 4m), and apply sends nothing."""
    repo, plan_file = reviewed

    def forge(data: dict) -> None:
        set_body_vb(data, "9m")
        plan_data = {k: v for k, v in data.items() if k not in ("kind", "presetsync_version", "digest")}
        data["digest"] = sha256_of(plan_data)  # the documented digest, recomputed

    edit(plan_file, forge)
    err = apply_refused(repo, plan_file)
    assert "web_720p" in err


def _drop_managed(data: dict) -> None:
    data["managed"] = data["managed"][:1]


def _summary(data: dict) -> None:
    data["summary"]["update"] = 0


def _fields_and_body(data: dict) -> None:
    """The body and the shown diff edited together, consistently."""
    set_body_vb(data, "9m")
    for f in item(data, "web_720p")["fields"]:
        if f["path"] == "param.VIDEO.vb":
            f["after"] = 9000000


def _rename(data: dict) -> None:
    change = item(data, "new_1080p")
    change["name"] = change["body"]["preset"] = change["after"]["preset"] = "other_1080p"


def _unchanged(data: dict) -> None:
    data["unchanged"] = []


def _fingerprint(data: dict) -> None:
    item(data, "web_720p")["before_fingerprint"] = "sha256:" + "0" * 32


def _target_account(data: dict) -> None:
    data["target"]["account"] = "sha256:" + "0" * 16


def _drop_a_change(data: dict) -> None:
    data["changes"] = [c for c in data["changes"] if c["name"] != "new_1080p"]


@pytest.mark.parametrize(
    "tamper",
    [_drop_managed, _summary, _fields_and_body, _rename, _unchanged, _fingerprint, _target_account, _drop_a_change],
)
def test_any_edit_of_a_saved_plan_is_refused(reviewed, tamper):
    repo, plan_file = reviewed
    edit(plan_file, tamper)
    err = apply_refused(repo, plan_file)
    assert "modified" in err


def test_the_untouched_plan_applies_and_what_is_shown_is_what_is_sent(reviewed):
    repo, plan_file = reviewed
    code, out, err = repo.run("apply", str(plan_file), "--auto-approve")
    assert code == 0, out + err
    assert "param.VIDEO.vb: 1000000 -> 4000000" in out, "the diff is shown from the plan's own data"
    live = repo.live()
    assert live["web_720p"].param["VIDEO"]["vb"] == "4m", "the body is sent as written in the file"
    assert live["new_1080p"].param["VIDEO"]["vb"] == "6m"


def test_a_plan_made_for_another_account_is_refused(reviewed, example_accounts, monkeypatch):
    repo, plan_file = reviewed
    (key_a, secret_a), (key_b, secret_b) = example_accounts.items()
    text = plan_file.read_text(encoding="utf-8")
    assert key_a not in text and secret_a not in text, "the plan holds a fingerprint of the key, never the key"
    use_account(monkeypatch, key_b, secret_b)
    err = apply_refused(repo, plan_file)
    assert "another account" in err
    other = fetch_live(repo.service.client(Credentials(key_b, secret_b)))
    assert other == {}, "nothing was created in the other account"


def test_a_plan_made_for_another_endpoint_is_refused(reviewed, service_factory):
    repo, plan_file = reviewed
    other = service_factory("other.sqlite", accounts=dict(repo.service.accounts))
    err = apply_refused_at(repo, plan_file, "--endpoint", other.url)
    assert f"for {repo.service.url}" in err and other.url in err
    assert writes(other) == 0 and fetch_live(other.client()) == {}


def test_a_plan_made_for_another_region_is_refused(reviewed):
    repo, plan_file = reviewed
    err = apply_refused_at(repo, plan_file, "--region", "cn-shanghai-2")
    assert "cn-beijing-6" in err and "cn-shanghai-2" in err


def apply_refused_at(repo, plan_file, *flags: str) -> str:
    code, out, err = repo.run("apply", str(plan_file), "--auto-approve", *flags)
    assert code == 3, out + err
    assert writes(repo.service) == 2, "only the two creates of the fixture's first apply"
    return err


def test_a_plan_of_an_older_format_is_refused_with_a_clear_message(reviewed):
    repo, plan_file = reviewed
    old = {"kind": "presetsync-saved-plan", "format_version": 1, "endpoint": None, "region": None, "changes": []}
    plan_file.write_text(json.dumps(old), encoding="utf-8")
    requests_before = repo.service.stats.total
    code, _, err = repo.run("apply", str(plan_file), "--auto-approve")
    assert code == 1
    assert "format 1" in err and "plan -o" in err, err
    assert repo.service.stats.total == requests_before


def test_a_plan_file_that_is_not_json_any_more_is_refused(reviewed):
    repo, plan_file = reviewed
    plan_file.write_text(plan_file.read_text(encoding="utf-8")[:-40], encoding="utf-8")
    code, _, err = repo.run("apply", str(plan_file), "--auto-approve")
    assert code == 3, err
    assert "modified" in err or "damaged" in err
    assert writes(repo.service) == 2
