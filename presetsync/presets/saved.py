"""Saved plans: ``plan -o FILE`` writes the plan that was reviewed; ``apply FILE`` applies it.

The file is JSON: ``kind`` and ``presetsync_version``, then the plan's own data
(:meth:`Plan.to_data`: target, changes with their bodies and the live presets they were planned
against, managed and unchanged names), then ``digest``: the sha256 of the canonical JSON of
that plan data. Loading refuses (exit 3, nothing sent) a file whose digest does not match,
naming the changes whose body no longer gives the diff written beside it; a plan whose data is
not what its bodies give (a forged digest); and a plan made for another endpoint, region or
account. The digest detects edits; it is not a signature: whoever can write the file can
compute a digest, so keep plan files where only CI writes them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import InputError
from .live import sha256_of
from .plan import PLAN_FORMAT_VERSION, ModifiedPlanError, Plan, Target

KIND = "presetsync-saved-plan"
ENVELOPE = ("kind", "presetsync_version", "digest")  # the keys outside the plan data


def saved_document(plan: Plan) -> dict[str, Any]:
    data = plan.to_data()
    return {"kind": KIND, "presetsync_version": __version__, **data, "digest": sha256_of(data)}


def save_plan(plan: Plan, path: Path) -> None:
    text = json.dumps(saved_document(plan), indent=2, ensure_ascii=False) + "\n"
    path.write_text(text, encoding="utf-8")


def load_saved_plan(path: Path, target: Target) -> Plan:
    """The plan saved in *path*, for *target*; refused when modified or made for another target."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the saved plan: {exc}") from None
    try:
        doc: object = json.loads(text)
    except ValueError as exc:
        raise ModifiedPlanError.naming([f"{path} is not JSON any more: {exc}"]) from None
    if not isinstance(doc, dict) or doc.get("kind") != KIND:
        raise InputError(f"{path}: not a presetsync saved plan (write one with 'presetsync plan -o {path}')")
    version = doc.get("format_version")
    if version != PLAN_FORMAT_VERSION:
        raise InputError(
            f"{path}: saved plan format {version!r} is not supported: this presetsync "
            f"({__version__}) applies format {PLAN_FORMAT_VERSION}, which binds the plan to its account and "
            f"protects it with a digest; make the plan again with 'presetsync plan -o {path}'"
        )
    data = {k: v for k, v in doc.items() if k not in ENVELOPE}
    if doc.get("digest") != sha256_of(data):
        raise ModifiedPlanError.naming(Plan.rebuild(data)[1])
    made_by = doc.get("presetsync_version")
    try:
        return Plan.from_data(data, target=target)
    except ModifiedPlanError as exc:
        if made_by == __version__:
            raise
        raise ModifiedPlanError(f"{exc} (made by presetsync {made_by}, this is {__version__})") from None


def is_saved_plan(path: Path) -> bool:
    """True when *path* is a file that starts like a saved plan (JSON, not YAML presets)."""
    if not path.is_file():
        return False
    try:
        with open(path, encoding="utf-8") as fh:
            head = fh.read(200)
    except (OSError, UnicodeDecodeError):
        return False
    return head.lstrip().startswith("{") and KIND in head
