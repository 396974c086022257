"""apply checks and reads back in batches: one GetPresetList(presets=NAME,...) per batch of
changes, not one read per change; a conflict anywhere in a batch is still found and never
overwritten; lost responses are settled by batched read-backs."""

from __future__ import annotations

import yaml
from test_apply import Repo, preset

from presetsync.local.faults import Faults
from presetsync.presets.apply import BATCH, Applier
from presetsync.presets.live import fetch_live
from presetsync.presets.plan import build_plan
from presetsync.presets.steps import CONFLICT, DONE, steps_for
from presetsync.presets.validate import load_presets


def plan_for(client, tmp_path, presets):
    path = tmp_path / "presets.yaml"
    path.write_text(yaml.safe_dump({"presets": presets}), encoding="utf-8")
    loaded = load_presets([path])
    assert loaded.problems == []
    return build_plan(loaded.presets, fetch_live(client))


def by_name(result) -> dict:
    return {o.step.name: o for o in result.outcomes}


def test_100_creates_cost_at_most_1_2_requests_each(tmp_path, local_service, capsys, monkeypatch):
    creds = local_service.credentials
    monkeypatch.setenv("KS_ACCESS_KEY_ID", creds.access_key_id)
    monkeypatch.setenv("KS_SECRET_ACCESS_KEY", creds.secret_access_key)
    repo = Repo(tmp_path, local_service, capsys)
    repo.write("a.yaml", *[preset(f"p_{i:03d}") for i in range(100)])

    code, out, _ = repo.apply("--parallelism", "4")

    assert code == 0, out
    assert "Apply: 100 done, 0 failed, 0 conflict(s), 0 skipped." in out
    stats = local_service.stats
    assert stats.count("Preset") == 100
    assert stats.total / 100 <= 1.2, stats.by_action()
    # The listing the plan is made from, then one check per batch of creates.
    assert stats.count("GetPresetList") == 1 + -(-100 // BATCH), stats.by_action()
    assert stats.count("GetPresetDetail") == 0


def test_a_conflict_in_the_middle_of_a_batch_is_found_and_not_overwritten(local_service, make_client, tmp_path):
    client = make_client(local_service)
    for i in range(20):
        client.preset(preset(f"upd_{i:02d}"))
    desired = [preset(f"upd_{i:02d}", vb="2m") for i in range(20)] + [preset(f"new_{i:02d}") for i in range(20)]
    plan = plan_for(client, tmp_path, desired)
    assert len(plan.changes) == 40
    other = make_client(local_service)  # someone else, between the plan and the apply
    other.update_preset(preset("upd_07", vb="5m"))
    other.preset(preset("new_13", vb="7m"))
    reads_before = local_service.stats.count("GetPresetList")

    result = Applier(client, parallelism=4).run(steps_for(plan.changes))

    reads = local_service.stats.count("GetPresetList") - reads_before
    outcomes = by_name(result)
    assert outcomes["upd_07"].status == CONFLICT and "changed since the plan" in outcomes["upd_07"].message
    assert outcomes["new_13"].status == CONFLICT and "changed since the plan" in outcomes["new_13"].message
    assert all(o.status == DONE for name, o in outcomes.items() if name not in ("upd_07", "new_13"))
    live = fetch_live(client)
    assert live["upd_07"].param["VIDEO"]["vb"] == "5m", "never overwritten"
    assert live["new_13"].param["VIDEO"]["vb"] == "7m", "never overwritten"
    assert all(live[f"upd_{i:02d}"].param["VIDEO"]["vb"] == "2m" for i in range(20) if i != 7)
    # One read for the 20 creates, one for the 20 updates: not one per change.
    assert reads == 2
    assert local_service.stats.count("Preset") == 20 + 1 + 19 and local_service.stats.count("UpdatePreset") == 1 + 19


def test_a_change_made_while_an_earlier_batch_is_written_is_still_a_conflict(local_service, make_client, tmp_path):
    """Each batch is read just before it is written, not all of them once at the start."""
    client = make_client(local_service)
    names = [f"u_{i:03d}" for i in range(3 * BATCH)]
    for name in names:
        client.preset(preset(name))
    plan = plan_for(client, tmp_path, [preset(name, vb="2m") for name in names])
    other = make_client(local_service)
    late = names[2 * BATCH + BATCH // 2]  # in the middle of the third batch

    def meanwhile(outcome):
        if outcome.step.name == names[10]:  # while the first batch is being written
            other.update_preset(preset(late, vb="9m"))

    result = Applier(client, parallelism=1, report=meanwhile).run(steps_for(plan.changes))

    outcomes = by_name(result)
    assert outcomes[late].status == CONFLICT
    assert sum(o.status == DONE for o in result.outcomes) == len(names) - 1
    assert fetch_live(client)[late].param["VIDEO"]["vb"] == "9m", "never overwritten"


def test_lost_responses_are_settled_by_batched_read_backs(local_service, make_client, tmp_path):
    client = make_client(local_service)
    desired = [preset(f"lost_{i:02d}", vb=f"{500 + i}k") for i in range(40)]
    plan = plan_for(client, tmp_path, desired)
    # Parallelism 1: the creates arrive in a fixed order, so the seed fixes which are dropped.
    local_service.set_faults(Faults(drop_rate=0.4, actions=("Preset",), seed=1))
    reads_before = local_service.stats.count("GetPresetList")

    result = Applier(client, parallelism=1).run(steps_for(plan.changes))

    reads = local_service.stats.count("GetPresetList") - reads_before
    drops = local_service.fault_counts
    local_service.set_faults(Faults())
    assert drops.get("drop_after", 0) >= 3 and drops.get("drop_before", 0) >= 3, drops
    assert [o.status for o in result.outcomes] == [DONE] * 40, [o.message for o in result.outcomes if o.status != DONE]
    messages = [o.message for o in result.outcomes]
    assert any(m.endswith("read back: done") for m in messages), "a lost answer of a done create"
    live = fetch_live(client)
    assert all(live[p["preset"]].param["VIDEO"]["vb"] == p["param"]["VIDEO"]["vb"] for p in desired)
    # Creates dropped before the service saw them were sent again: one Preset more per such drop.
    assert local_service.stats.count("Preset") == 40 + drops["drop_before"]
    # One check of the 40 creates, then the writes in doubt read back together, a round at a time.
    assert reads <= 1 + 3, reads
    assert reads < 1 + drops["drop_after"] + drops["drop_before"]
