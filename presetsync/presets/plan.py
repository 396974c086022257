"""The Plan: what would change if the preset files were applied, as a value.

Both sides go through the same normalisation, so a plan right after an apply is empty.
A plan holds create, update (each changed field: path, before, after), replace (presettype
changed: the service cannot update it, so delete then create), delete (only with prune and
only for names the config's ``manage:`` globs claim) and unchanged. It renders as text, JSON
or Markdown (render.py) and saves to a file that apply can run later (saved.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from deepdiff import DeepDiff

from .live import LivePreset, fingerprint
from .normalize import normalize_preset

CREATE, UPDATE, REPLACE, DELETE, UNCHANGED = "create", "update", "replace", "delete", "unchanged"
ACTIONS = (CREATE, UPDATE, REPLACE, DELETE)


class _Absent:
    """A field that is not there on one side of a change."""

    def __repr__(self) -> str:
        return "(absent)"


ABSENT: Any = _Absent()


@dataclass(frozen=True)
class FieldChange:
    path: str  # dotted: "param.VIDEO.vb"
    before: Any  # ABSENT when the field is added
    after: Any  # ABSENT when the field is removed


@dataclass(frozen=True)
class Change:
    action: str
    name: str
    presettype: str  # the desired type; the live one for a delete
    before: dict | None  # normalised live preset, None for a create
    after: dict | None  # normalised desired preset, None for a delete
    fields: tuple[FieldChange, ...] = ()
    body: dict | None = None  # what apply sends: the preset as written in its file
    source: str | None = None  # file:line of the desired preset
    before_type: str | None = None  # the live type, for a replace

    @property
    def fingerprint(self) -> str | None:
        """The live preset's fingerprint when the plan was made (None: it did not exist)."""
        return fingerprint(self.before)


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)  # create/update/replace/delete, in apply order
    unchanged: list[str] = field(default_factory=list)

    def count(self, action: str) -> int:
        if action == UNCHANGED:
            return len(self.unchanged)
        return sum(1 for c in self.changes if c.action == action)

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    def summary(self) -> str:
        if not self.changes:
            return "No changes. The live presets match the files."
        return (
            f"Plan: {self.count(CREATE)} to create, {self.count(UPDATE)} to update, "
            f"{self.count(REPLACE)} to replace, {self.count(DELETE)} to delete."
        )


def field_changes(before: dict, after: dict) -> tuple[FieldChange, ...]:
    """Every leaf that differs between two normalised presets, by dotted path."""
    diff = DeepDiff(before, after, view="tree", verbose_level=2)
    out = []
    for items in diff.values():
        for item in items:
            path = ".".join(str(part) for part in item.path(output_format="list"))
            old = ABSENT if _is_notpresent(item.t1) else item.t1
            new = ABSENT if _is_notpresent(item.t2) else item.t2
            out.append(FieldChange(path, old, new))
    return tuple(sorted(out, key=_field_order))


_TOP_ORDER = {"presettype": 0, "description": 1, "param": 2}


def _field_order(change: FieldChange) -> tuple[int, str]:
    return (_TOP_ORDER.get(change.path.split(".")[0], 3), change.path)


def _is_notpresent(value: Any) -> bool:
    return type(value).__name__ == "NotPresent"


def matches(name: str, globs: Iterable[str]) -> bool:
    return any(fnmatchcase(name, g) for g in globs)


def build_plan(
    desired: Sequence[Any],
    live: dict[str, LivePreset],
    *,
    targets: Sequence[str] = (),
    prune: bool = False,
    manage: Sequence[str] = (),
    protect: Sequence[str] = (),
    extra_fields: Any = None,
) -> Plan:
    """Compare desired presets (DesiredPreset) with the live ones.

    *targets* (names or globs) limit the plan to those presets. Deletes need *prune* and a
    name matched by *manage* and not by *protect*; nothing else is ever deleted.
    """

    def wanted(name: str) -> bool:
        return not targets or matches(name, targets)

    plan = Plan()
    creates, updates, replaces, deletes = [], [], [], []
    desired_names = set()
    for d in sorted(desired, key=lambda d: d.name):
        desired_names.add(d.name)
        if not wanted(d.name):
            continue
        after = normalize_preset(d.name, d.presettype, d.description, d.param, extra_fields)
        body = d.body() if hasattr(d, "body") else _body(d)
        source = f"{d.file}:{d.line}"
        current = live.get(d.name)
        if current is None:
            creates.append(Change(CREATE, d.name, d.presettype, None, after, body=body, source=source))
            continue
        before = current.normalized(extra_fields)
        if before == after:
            plan.unchanged.append(d.name)
        elif current.presettype != d.presettype:
            replaces.append(
                Change(
                    REPLACE,
                    d.name,
                    d.presettype,
                    before,
                    after,
                    field_changes(before, after),
                    body,
                    source,
                    current.presettype,
                )
            )
        else:
            updates.append(
                Change(UPDATE, d.name, d.presettype, before, after, field_changes(before, after), body, source)
            )
    if prune:
        for name in sorted(set(live) - desired_names):
            if wanted(name) and matches(name, manage) and not matches(name, protect):
                current = live[name]
                before = current.normalized(extra_fields)
                deletes.append(Change(DELETE, name, current.presettype, before, None))
    # Apply order: replacements (delete then create), creates, updates, prune deletes last.
    plan.changes = replaces + creates + updates + deletes
    return plan


def _body(d: Any) -> dict:
    body = {"preset": d.name, "presettype": d.presettype}
    if d.description is not None:
        body["description"] = d.description
    body["param"] = d.param
    return body
