"""Renderers of a Plan: text for terminals and logs, JSON for machines, Markdown for PRs.

The JSON form is documented in README ("Plan JSON") and versioned by ``format_version``;
its key and list order are stable, so two plans of the same state are byte-identical.
"""

from __future__ import annotations

import json
import os
from typing import IO, Any

from .plan import ABSENT, CREATE, DELETE, REPLACE, UPDATE, Change, Plan

FORMAT_VERSION = 1
SYMBOLS = {CREATE: "+", UPDATE: "~", REPLACE: "-/+", DELETE: "-"}
COLOURS = {CREATE: "32", UPDATE: "33", REPLACE: "35", DELETE: "31"}
NAME_KEYS = ("preset", "presettype")  # shown in the heading


def value_text(value: Any) -> str:
    if value is ABSENT:
        return "(absent)"
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def leaves(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """(dotted path, value) for every leaf of a normalised preset, the name left out."""
    if isinstance(value, dict) and value:
        out = []
        for key in value:
            if not prefix and key in NAME_KEYS:
                continue
            out.extend(leaves(value[key], f"{prefix}.{key}" if prefix else str(key)))
        return out
    return [(prefix, value)]


def use_colour(stream: IO[str]) -> bool:
    return bool(getattr(stream, "isatty", lambda: False)()) and not os.environ.get("NO_COLOR")


def _heading(change: Change) -> str:
    text = f"{SYMBOLS[change.action]} {change.name} ({change.presettype})"
    if change.action == REPLACE:
        text = f"{SYMBOLS[REPLACE]} {change.name} ({change.before_type} -> {change.presettype}): must be replaced"
    if change.source:
        text += f"  [{change.source}]"
    return text


def change_lines(change: Change) -> list[tuple[str, str, Any, Any]]:
    """(symbol, path, before, after) for each line under a change's heading."""
    if change.action == CREATE:
        return [("+", path, ABSENT, v) for path, v in leaves(change.after)]
    if change.action == DELETE:
        return [("-", path, v, ABSENT) for path, v in leaves(change.before)]
    out = []
    for f in change.fields:
        symbol = "+" if f.before is ABSENT else "-" if f.after is ABSENT else "~"
        out.append((symbol, f.path, f.before, f.after))
    return out


def line_text(symbol: str, path: str, before: Any, after: Any) -> str:
    if symbol == "~":
        return f"{path}: {value_text(before)} -> {value_text(after)}"
    return f"{path}: {value_text(after if symbol == '+' else before)}"


def render_text(plan: Plan, colour: bool = False) -> str:
    def paint(code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if colour else text

    line_colours = {"+": COLOURS[CREATE], "~": COLOURS[UPDATE], "-": COLOURS[DELETE]}
    out = []
    for change in plan.changes:
        out.append(paint(COLOURS[change.action], _heading(change)))
        for symbol, path, before, after in change_lines(change):
            out.append(paint(line_colours[symbol], f"    {symbol} {line_text(symbol, path, before, after)}"))
        out.append("")
    summary = plan.summary()
    if plan.unchanged:
        summary += f" ({len(plan.unchanged)} unchanged)"
    out.append(summary)
    return "\n".join(out) + "\n"


def _field_json(f) -> dict:
    out: dict = {"path": f.path}
    if f.before is not ABSENT:
        out["before"] = f.before
    if f.after is not ABSENT:
        out["after"] = f.after
    return out


def plan_to_dict(plan: Plan) -> dict:
    changes = []
    for c in plan.changes:
        item: dict = {"action": c.action, "name": c.name, "presettype": c.presettype}
        if c.action == REPLACE:
            item["before_presettype"] = c.before_type
        if c.source:
            item["source"] = c.source
        item["before_fingerprint"] = c.fingerprint
        if c.action in (UPDATE, REPLACE):
            item["fields"] = [_field_json(f) for f in c.fields]
        if c.action in (CREATE, REPLACE):
            item["after"] = c.after
        if c.action == DELETE:
            item["before"] = c.before
        changes.append(item)
    counts = {a: plan.count(a) for a in (CREATE, UPDATE, REPLACE, DELETE)}
    counts["unchanged"] = len(plan.unchanged)
    return {"format_version": FORMAT_VERSION, "summary": counts, "changes": changes, "unchanged": plan.unchanged}


def render_json(plan: Plan) -> str:
    return json.dumps(plan_to_dict(plan), indent=2, ensure_ascii=False) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("`", "'")


def render_markdown(plan: Plan) -> str:
    out = ["### presetsync plan", ""]
    summary = plan.summary()
    if plan.unchanged:
        summary += f" {len(plan.unchanged)} unchanged."
    out += [f"**{summary}**", ""]
    if not plan.changes:
        return "\n".join(out)
    out += ["| action | preset | type | fields |", "|---|---|---|---|"]
    for c in plan.changes:
        kind = c.presettype if c.action != REPLACE else f"{c.before_type} -> {c.presettype}"
        out.append(f"| {SYMBOLS[c.action]} {c.action} | `{_md(c.name)}` | {_md(kind)} | {len(change_lines(c))} |")
    out.append("")
    for c in plan.changes:
        out.append(f"<details><summary><code>{SYMBOLS[c.action]} {_md(c.name)}</code> {c.action}</summary>")
        out += ["", "```diff"]
        for symbol, path, before, after in change_lines(c):
            if symbol in "-~":
                out.append(f"- {path}: {value_text(before)}")
            if symbol in "+~":
                out.append(f"+ {path}: {value_text(after)}")
        out += ["```", "", "</details>", ""]
    return "\n".join(out)


RENDERERS = {"text": render_text, "json": render_json, "markdown": render_markdown}
