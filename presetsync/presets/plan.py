"""The Plan: what would change if the preset files were applied, as one value.

Both sides go through the same normalisation, so a plan right after an apply is empty.
A plan holds create, update (each changed leaf: path, before, after), replace (presettype
changed: the service cannot update it, so delete then create), delete (only with prune and
only for names the config's ``manage:`` globs claim), each with the exact body apply sends
and the live preset it was planned against (its fingerprint); the names of the managed and
unchanged presets; and the target (endpoint, region, a fingerprint of the access key id).

The same value is rendered (render.py), checked (:meth:`Plan.safety_verdict`, which plan shows
and :meth:`Plan.raise_if_unsafe` enforces; :meth:`Plan.remaining`), saved (:meth:`Plan.to_data`,
with a digest in saved.py), read back (:meth:`Plan.from_data`, which derives every diff again
from the bodies, so what is shown is what is sent) and applied (apply.py's ``apply_plan``),
whether fresh or saved.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import RefusedError, StalePlanError
from .diff import ABSENT, leaf_changes
from .live import LivePreset, canonical_json, fingerprint
from .model import ACTIONS, CREATE, DELETE, REPLACE, UNCHANGED, UPDATE, DesiredPreset, matches
from .normalize import ExtraFields, NormalizedPreset, normalize_preset
from .safety import SafetyVerdict, safety_verdict

if TYPE_CHECKING:
    from ..config import Safety

__all__ = [
    "ABSENT",
    "ACTIONS",
    "CREATE",
    "DELETE",
    "REPLACE",
    "UNCHANGED",
    "UPDATE",
    "Change",
    "FieldChange",
    "ForeignPlanError",
    "ModifiedPlanError",
    "Plan",
    "SafetyVerdict",
    "Target",
    "build_plan",
    "field_changes",
    "matches",
]

PLAN_FORMAT_VERSION = 2  # of Plan.to_data(); 1 was the saved plan before digests and targets


class ModifiedPlanError(RefusedError):
    """A saved plan is not as presetsync wrote it: edited, damaged or forged."""

    @classmethod
    def naming(cls, parts: Sequence[str]) -> ModifiedPlanError:
        what = f" ({', '.join(parts)})" if parts else " (its digest does not match)"
        return cls(
            f"refused: the saved plan was modified after it was made{what}; nothing was applied: "
            "make the plan again and review it"
        )


class ForeignPlanError(RefusedError):
    """A saved plan was made for another account, endpoint or region."""


def account_fingerprint(access_key_id: str) -> str:
    """A short sha256 of the access key id: names the account without the key (never the secret)."""
    return "sha256:" + hashlib.sha256(access_key_id.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Target:
    """Where a plan applies: endpoint (``local`` for the embedded service), region, account."""

    endpoint: str
    region: str
    account: str  # account_fingerprint() of the access key id

    @classmethod
    def of(cls, endpoint: str, region: str, access_key_id: str) -> Target:
        return cls(endpoint, region, account_fingerprint(access_key_id))

    def refuse_other(self, other: Target) -> None:
        """Raise ForeignPlanError when a plan made for *self* is applied to *other*."""
        parts = []
        if self.endpoint != other.endpoint:
            parts.append(f"{self.endpoint}, not {other.endpoint}")
        if self.region != other.region:
            parts.append(f"region {self.region}, not {other.region}")
        if self.account != other.account:
            parts.append(f"another account (access key id {self.account}, these credentials are {other.account})")
        if parts:
            raise ForeignPlanError(
                f"refused: the saved plan was made for {'; '.join(parts)}; nothing was applied: "
                "make the plan again with this endpoint, region and credentials"
            )


@dataclass(frozen=True)
class FieldChange:
    path: str  # dotted, list items by index: "param.VIDEO.vb", "param.IMAGE[0].logoUrl"
    before: Any  # ABSENT when the field is added
    after: Any  # ABSENT when the field is removed

    def to_data(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path}
        if self.before is not ABSENT:
            out["before"] = self.before
        if self.after is not ABSENT:
            out["after"] = self.after
        return out


@dataclass(frozen=True)
class Change:
    action: str
    name: str
    presettype: str  # the desired type; the live one for a delete
    before: NormalizedPreset | None  # normalised live preset, None for a create
    after: NormalizedPreset | None  # normalised desired preset (of body), None for a delete
    fields: tuple[FieldChange, ...] = ()
    body: dict[str, Any] | None = None  # what apply sends: the preset as written in its file
    source: str | None = None  # file:line of the desired preset
    before_type: str | None = None  # the live type, for a replace

    @property
    def fingerprint(self) -> str | None:
        """The live preset's fingerprint when the plan was made (None: it did not exist)."""
        return fingerprint(self.before)

    def to_data(self) -> dict[str, Any]:
        """The change as JSON data: what ``--format json`` shows, plus ``before`` and ``body``."""
        item: dict[str, Any] = {"action": self.action, "name": self.name, "presettype": self.presettype}
        if self.action == REPLACE:
            item["before_presettype"] = self.before_type
        if self.source:
            item["source"] = self.source
        item["before_fingerprint"] = self.fingerprint
        if self.action in (UPDATE, REPLACE):
            item["fields"] = [f.to_data() for f in self.fields]
        if self.action in (CREATE, REPLACE):
            item["after"] = self.after
        if self.before is not None:
            item["before"] = self.before
        if self.body is not None:
            item["body"] = self.body
        return item

    @classmethod
    def from_data(cls, item: Mapping[str, Any], extra_fields: ExtraFields) -> Change:
        """The change rebuilt from its live preset (``before``) and its ``body`` alone: the
        normalised desired state, the fields and the fingerprint are derived again."""
        action, name, presettype = item["action"], item["name"], item["presettype"]
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}")
        before = None if action == CREATE else dict(item["before"])
        body = None if action == DELETE else dict(item["body"])
        after = None
        if body is not None:
            after = normalize_preset(
                body["preset"], body["presettype"], body.get("description"), body["param"], extra_fields
            )
        named = (body or before or {}).get("presettype")
        if named != presettype or any(x["preset"] != name for x in (before, body) if x is not None):
            raise ValueError(f"the names in the change to {name} disagree")
        fields: tuple[FieldChange, ...] = ()
        before_type = None
        if before is not None and after is not None:  # update, replace
            fields = field_changes(before, after)
            before_type = before["presettype"] if action == REPLACE else None
        return cls(action, name, presettype, before, after, fields, body, item.get("source"), before_type)


@dataclass(frozen=True)
class Plan:
    changes: list[Change] = field(default_factory=list)  # create/update/replace/delete, in apply order
    unchanged: list[str] = field(default_factory=list)
    managed: list[str] = field(default_factory=list)  # live presets declared in the files or matched by manage:
    target: Target | None = None
    extra_fields: Mapping[str, Sequence[str]] = field(default_factory=dict)  # the normalisation used

    def count(self, action: str) -> int:
        if action == UNCHANGED:
            return len(self.unchanged)
        return sum(1 for c in self.changes if c.action == action)

    def counts(self) -> dict[str, int]:
        return {a: self.count(a) for a in (*ACTIONS, UNCHANGED)}

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

    def safety_verdict(self, safety: Safety | None, protect: Sequence[str]) -> SafetyVerdict:
        """What apply would say: the changes that touch a protected preset (refused even with
        --force) and the thresholds of *safety* (config.Safety) gone over against the managed
        presets (refused unless --force). ``plan`` shows it; :meth:`raise_if_unsafe` enforces it."""
        return safety_verdict(self.changes, managed=len(self.managed), safety=safety, protect=protect)

    def raise_if_unsafe(self, safety: Safety | None, protect: Sequence[str], force: bool) -> None:
        """UnsafePlanError when the plan touches a protected preset (even with *force*) or goes
        over a threshold of *safety* (config.Safety) against the managed presets."""
        error = self.safety_verdict(safety, protect).error(force)
        if error is not None:
            raise error

    def remaining(self, live: Mapping[str, LivePreset]) -> tuple[Plan, list[str]]:
        """What is left to do against *live* (the presets as they are now), and the names of the
        changes already done.

        A change is left when its live preset is still the one it was planned against, done when
        the live preset is already in the desired state (a replacement whose delete happened is
        left as a create). Any other live state makes the whole plan stale: StalePlanError.
        """
        left, done, stale = [], [], []
        for c in self.changes:
            current = live.get(c.name)
            seen = fingerprint(current.normalized(self.extra_fields)) if current is not None else None
            if seen == c.fingerprint:
                left.append(c)
            elif seen == fingerprint(c.after):
                done.append(c.name)
            elif c.action == REPLACE and seen is None:
                left.append(dataclasses.replace(c, action=CREATE, before=None, fields=(), before_type=None))
            else:
                stale.append(c.name)
        if stale:
            raise StalePlanError(
                f"refused: the saved plan is stale: {', '.join(stale)} changed since it was made; "
                "nothing was applied, plan again"
            )
        return dataclasses.replace(self, changes=left), done

    # --- saved plans -----------------------------------------------------------------

    def to_data(self) -> dict[str, Any]:
        """The whole plan as JSON data (saved.py adds the digest)."""
        return {
            "format_version": PLAN_FORMAT_VERSION,
            "target": None if self.target is None else dataclasses.asdict(self.target),
            "extra_fields": {k: list(v) for k, v in sorted(self.extra_fields.items())},
            "summary": self.counts(),
            "changes": [c.to_data() for c in self.changes],
            "managed": list(self.managed),
            "unchanged": list(self.unchanged),
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any], *, target: Target | None = None) -> Plan:
        """The plan *data* (from :meth:`to_data`) describes. Refused (exit 3) when *data* is not
        what to_data writes for the plan its bodies and live presets give (ModifiedPlanError,
        naming the changes concerned), or when it was made for another *target*
        (ForeignPlanError)."""
        plan, wrong = cls.rebuild(data)
        if plan is None:
            raise ModifiedPlanError.naming(["its layout is not a plan's"])
        if wrong:
            raise ModifiedPlanError.naming(wrong)
        if target is not None and plan.target is not None:
            plan.target.refuse_other(target)
        elif target is not None:
            raise ModifiedPlanError.naming(["it names no target"])
        return plan

    @classmethod
    def rebuild(cls, data: Mapping[str, Any]) -> tuple[Plan | None, list[str]]:
        """The plan rebuilt from *data*'s bodies and live presets, and what in *data* disagrees
        with it: ``the change to NAME`` for each change whose shown diff, fingerprint or names
        are not what its body and live preset give, ``its KEY`` for other derived parts.
        ``(None, [])`` when *data* is not plan data at all."""
        try:
            extra_fields = {str(k): tuple(v) for k, v in data["extra_fields"].items()}
            target = None if data["target"] is None else Target(**data["target"])
            items = list(data["changes"])
            unchanged, managed = list(data["unchanged"]), list(data["managed"])
        except (KeyError, TypeError, AttributeError, ValueError):
            return None, []
        changes, wrong = [], []
        for number, item in enumerate(items, 1):
            name = item.get("name") if isinstance(item, Mapping) else None
            label = f"the change to {name}" if isinstance(name, str) else f"change #{number}"
            try:
                change = Change.from_data(item, extra_fields)
                if canonical_json(change.to_data()) == canonical_json(item):
                    changes.append(change)
                    continue
            except (KeyError, TypeError, AttributeError, ValueError):
                pass
            wrong.append(label)
        plan = cls(changes, unchanged, managed, target, extra_fields)
        if not wrong:
            expected = plan.to_data()
            wrong = [
                f"its {k}"
                for k in sorted({*expected, *data})
                if canonical_json(expected.get(k)) != canonical_json(data.get(k))
            ]
        return plan, wrong


def field_changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[FieldChange, ...]:
    """Every leaf that differs between two normalised presets, one FieldChange per leaf (diff.py)."""
    return tuple(FieldChange(path, old, new) for path, old, new in leaf_changes(before, after))


def build_plan(
    desired: Sequence[DesiredPreset],
    live: Mapping[str, LivePreset],
    *,
    targets: Sequence[str] = (),
    prune: bool = False,
    manage: Sequence[str] = (),
    protect: Sequence[str] = (),
    extra_fields: Mapping[str, Sequence[str]] | None = None,
    target: Target | None = None,
) -> Plan:
    """Compare desired presets (DesiredPreset) with the live ones.

    *targets* (names or globs) limit the plan to those presets. Deletes need *prune* and a
    name matched by *manage* and not by *protect*; nothing else is ever deleted. The managed
    presets are the live ones declared in *desired* (all of them, whatever *targets* say) or
    matched by *manage*.
    """
    extra_fields = dict(extra_fields or {})

    def wanted(name: str) -> bool:
        return not targets or matches(name, targets)

    unchanged: list[str] = []
    creates: list[Change] = []
    updates: list[Change] = []
    replaces: list[Change] = []
    deletes: list[Change] = []
    desired_names = set()
    for d in sorted(desired, key=lambda d: d.name):
        desired_names.add(d.name)
        if not wanted(d.name):
            continue
        after = normalize_preset(d.name, d.presettype, d.description, d.param, extra_fields)
        current = live.get(d.name)
        if current is None:
            creates.append(
                Change(CREATE, d.name, d.presettype, None, after, body=d.body(), source=f"{d.file}:{d.line}")
            )
            continue
        before = current.normalized(extra_fields)
        if before == after:
            unchanged.append(d.name)  # the usual case: no body, no diff
            continue
        body, source = d.body(), f"{d.file}:{d.line}"
        action, before_type = (REPLACE, current.presettype) if current.presettype != d.presettype else (UPDATE, None)
        change = Change(
            action, d.name, d.presettype, before, after, field_changes(before, after), body, source, before_type
        )
        (replaces if action == REPLACE else updates).append(change)
    if prune:
        for name in sorted(set(live) - desired_names):
            if wanted(name) and matches(name, manage) and not matches(name, protect):
                current = live[name]
                deletes.append(Change(DELETE, name, current.presettype, current.normalized(extra_fields), None))
    managed = sorted(name for name in live if name in desired_names or matches(name, manage))
    # Apply order: replacements (delete then create), creates, updates, prune deletes last.
    return Plan(replaces + creates + updates + deletes, unchanged, managed, target, extra_fields)
