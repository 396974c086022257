"""Saved plans: ``plan -o FILE`` writes what apply needs to do exactly what was reviewed.

The file is JSON: the rendered plan (``plan``, the same object as ``--format json``), the
request body of every create, update and replace as written in the preset files, and the
fingerprint of each live preset the plan touches. Apply re-reads those presets and refuses
the whole plan if any fingerprint differs: the world moved after the review.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import InputError
from .plan import Plan
from .render import plan_to_dict

KIND = "presetsync-saved-plan"
SAVED_FORMAT_VERSION = 1


@dataclass
class SavedChange:
    action: str
    name: str
    presettype: str
    fingerprint: str | None  # of the live preset at plan time; None: it did not exist
    body: dict | None  # what to send for create/update/replace


@dataclass
class SavedPlan:
    endpoint: str | None
    region: str | None
    changes: list[SavedChange]
    plan: dict  # the plan as --format json renders it, for showing before apply


def save_plan(plan: Plan, path: Path, *, endpoint: str | None, region: str | None) -> None:
    data = {
        "kind": KIND,
        "format_version": SAVED_FORMAT_VERSION,
        "presetsync_version": __version__,
        "endpoint": endpoint,
        "region": region,
        "changes": [
            {
                "action": c.action,
                "name": c.name,
                "presettype": c.presettype,
                "fingerprint": c.fingerprint,
                "body": c.body,
            }
            for c in plan.changes
        ],
        "plan": plan_to_dict(plan),
    }
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def load_saved_plan(path: Path) -> SavedPlan:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path}: cannot read the saved plan: {exc}") from None
    if not isinstance(data, dict) or data.get("kind") != KIND:
        raise InputError(f"{path}: not a presetsync saved plan (write one with 'presetsync plan -o {path}')")
    if data.get("format_version") != SAVED_FORMAT_VERSION:
        raise InputError(f"{path}: saved plan format {data.get('format_version')!r} is not supported")
    try:
        changes = [
            SavedChange(c["action"], c["name"], c["presettype"], c.get("fingerprint"), c.get("body"))
            for c in data["changes"]
        ]
    except (KeyError, TypeError) as exc:
        raise InputError(f"{path}: the saved plan is damaged ({exc})") from None
    return SavedPlan(data.get("endpoint"), data.get("region"), changes, data.get("plan") or {})


def is_saved_plan(path: Path) -> bool:
    """True when *path* is a file that starts like a saved plan (JSON, not YAML presets)."""
    if not path.is_file():
        return False
    try:
        with open(path, encoding="utf-8") as fh:
            head: Any = fh.read(200)
    except (OSError, UnicodeDecodeError):
        return False
    return head.lstrip().startswith("{") and KIND in head
