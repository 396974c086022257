"""The CI examples and the pre-commit hook are well-formed and run the documented commands."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_pre_commit_hook_runs_validate():
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    hook = {h["id"]: h for h in hooks}["presetsync-validate"]
    assert hook["entry"] == "presetsync validate --only-configured"
    assert hook["language"] == "python"


def _commands(job: dict) -> str:
    return "\n".join(str(s.get("run", "")) for s in job.get("steps", [])) + "\n".join(job.get("script", []))


def test_github_actions_plans_on_pull_requests_and_applies_the_saved_plan_on_main():
    workflow = yaml.safe_load((ROOT / "examples" / "ci" / "github-actions.yml").read_text())
    plan, apply = workflow["jobs"]["plan"], workflow["jobs"]["apply"]
    assert "pull_request" in plan["if"]
    assert "presetsync plan --format markdown --detailed-exitcode -o plan.json" in _commands(plan)
    assert "refs/heads/main" in apply["if"]
    assert "presetsync apply plan.json --auto-approve" in _commands(apply)


def test_gitlab_ci_plans_on_merge_requests_and_applies_on_the_default_branch():
    pipeline = yaml.safe_load((ROOT / "examples" / "ci" / "gitlab-ci.yml").read_text())
    assert "merge_request_event" in pipeline["plan"]["rules"][0]["if"]
    assert any("presetsync plan --format markdown" in line for line in pipeline["plan"]["script"])
    assert "presetsync apply plan.json --auto-approve" in pipeline["apply"]["script"]
