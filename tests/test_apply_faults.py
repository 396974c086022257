"""The fault drill: apply converges through 503s, throttling and dropped connections, and
never reports a change done that did not happen."""

from __future__ import annotations

import yaml

from presetsync.errors import ServiceError
from presetsync.local.faults import Faults
from presetsync.presets.apply import Applier
from presetsync.presets.live import fetch_live
from presetsync.presets.normalize import normalize_preset
from presetsync.presets.plan import build_plan
from presetsync.presets.steps import DONE, steps_for
from presetsync.presets.validate import load_presets

DRILL = Faults(fail_rate=0.20, throttle_rate=0.10, drop_rate=0.05, seed=20261125)


def body(name: str, vb: str) -> dict:
    return {
        "preset": name,
        "presettype": "avop",
        "param": {"f": "mp4", "VIDEO": {"vb": vb, "width": 640, "height": 360}},
    }


def normalized(preset) -> dict:
    return normalize_preset(preset.name, preset.presettype, preset.description, preset.param)


def test_apply_of_200_changes_converges_within_3_runs_under_faults(local_service, make_client, tmp_path):
    setup = make_client(local_service)
    for i in range(50):
        setup.preset(body(f"upd_{i:03d}", "1m"))
    desired = [body(f"new_{i:03d}", "2m") for i in range(150)] + [body(f"upd_{i:03d}", "3m") for i in range(50)]
    path = tmp_path / "presets.yaml"
    path.write_text(yaml.safe_dump({"presets": desired}), encoding="utf-8")
    loaded = load_presets([path])
    assert loaded.problems == []
    want = {d.name: normalize_preset(d.name, d.presettype, d.description, d.param) for d in loaded.presets}

    client = make_client(local_service)  # retries at once: the drill is about outcomes, not waiting
    converged_after, lost_responses_settled = None, 0
    planned_first = None
    injected: dict[str, int] = {}
    for runs in range(1, 4):
        local_service.set_faults(DRILL)
        try:
            plan = build_plan(loaded.presets, fetch_live(client))
            if planned_first is None:
                planned_first = len(plan.changes)
            result = Applier(client, parallelism=4).run(steps_for(plan.changes))
        except ServiceError:
            continue  # the listing itself failed this run: try again
        finally:
            for kind, count in local_service.fault_counts.items():
                injected[kind] = injected.get(kind, 0) + count
            local_service.set_faults(Faults())
        live = fetch_live(setup)
        for outcome in result.outcomes:
            if outcome.status == DONE:
                assert normalized(live[outcome.step.name]) == want[outcome.step.name], (
                    f"{outcome.step.name} reported done but is not in the desired state"
                )
            if "read back: done" in outcome.message:
                lost_responses_settled += 1
        if all(name in live and normalized(live[name]) == want[name] for name in want):
            converged_after = runs
            break
    live = fetch_live(setup)
    assert planned_first == 200
    assert sorted(live) == sorted(want), "no preset lost, none extra"
    assert all(normalized(live[name]) == want[name] for name in want)
    assert converged_after is not None, "not converged within 3 runs"
    assert injected.get("fail", 0) > 50 and injected.get("throttle", 0) > 20, injected
    assert injected.get("drop_after", 0) > 0, "the drill must include lost responses"
    assert lost_responses_settled > 0, "some writes were settled by reading back"
