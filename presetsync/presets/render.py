"""Renderers of a Plan: text for terminals and logs, JSON for machines, Markdown for PRs.

The JSON form is documented in README ("Plan JSON") and versioned by ``format_version``;
its key and list order are stable, so two plans of the same state are byte-identical.

Each renderer shows the plan's safety verdict (:meth:`Plan.safety_verdict`) when given one:
``plan`` passes it, so that a plan that apply would refuse says so before anyone applies it.
The Markdown form fits a pull-request comment: over *max_chars* the per-preset diffs give way
to the summary table and a note on where the whole plan is.
"""

from __future__ import annotations

import json
from typing import IO, Any

from .. import terminal
from .diff import ABSENT, dotted_path, leaves
from .plan import CREATE, DELETE, REPLACE, UPDATE, Change, Plan, SafetyVerdict

FORMAT_VERSION = 1
SYMBOLS = {CREATE: "+", UPDATE: "~", REPLACE: "-/+", DELETE: "-"}
COLOURS = {CREATE: "32", UPDATE: "33", REPLACE: "35", DELETE: "31"}
NAME_KEYS = ("preset", "presettype")  # shown in the heading
MARKDOWN_MAX_CHARS = 60_000  # a pull-request comment holds 65,536 characters (GitHub)
MARKDOWN_MIN_CHARS = 2_000  # the least --max-chars: the title, verdict, note and a few rows


def value_text(value: object) -> str:
    if value is ABSENT:
        return "(absent)"
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def preset_leaves(preset: dict[str, Any] | None) -> list[tuple[str, object]]:
    """(dotted path, value) for every leaf of a normalised preset, the name left out."""
    return [(dotted_path(parts), value) for parts, value in leaves(preset or {}) if parts and parts[0] not in NAME_KEYS]


def use_colour(stream: IO[str]) -> bool:
    return terminal.use_colour(stream)  # a terminal, and no NO_COLOR


def _heading(change: Change) -> str:
    text = f"{SYMBOLS[change.action]} {change.name} ({change.presettype})"
    if change.action == REPLACE:
        text = f"{SYMBOLS[REPLACE]} {change.name} ({change.before_type} -> {change.presettype}): must be replaced"
    if change.source:
        text += f"  [{change.source}]"
    return text


def change_lines(change: Change) -> list[tuple[str, str, object, object]]:
    """(symbol, path, before, after) for each line under a change's heading."""
    if change.action == CREATE:
        return [("+", path, ABSENT, v) for path, v in preset_leaves(change.after)]
    if change.action == DELETE:
        return [("-", path, v, ABSENT) for path, v in preset_leaves(change.before)]
    out: list[tuple[str, str, object, object]] = []
    for f in change.fields:
        symbol = "+" if f.before is ABSENT else "-" if f.after is ABSENT else "~"
        out.append((symbol, f.path, f.before, f.after))
    return out


def line_text(symbol: str, path: str, before: object, after: object) -> str:
    if symbol == "~":
        return f"{path}: {value_text(before)} -> {value_text(after)}"
    return f"{path}: {value_text(after if symbol == '+' else before)}"


def verdict_lines(verdict: SafetyVerdict | None, limit: int | None = None) -> list[tuple[str, str]]:
    """(status, sentence) for each reason apply would refuse the plan; none when it would not.
    *limit* caps the protected names listed."""
    if verdict is None:
        return []
    out: list[tuple[str, str]] = []
    if verdict.protected:
        shown = list(verdict.protected[:limit] if limit else verdict.protected)
        if len(shown) < len(verdict.protected):
            shown.append(f"and {len(verdict.protected) - len(shown)} more")
        out.append(
            (
                "refused",
                f"apply would refuse this plan, even with --force: it would {', '.join(shown)}, "
                "protected by 'protect:' in the config.",
            )
        )
    if verdict.over:
        out.append(("needs-force", f"apply would refuse this plan without --force: {'; '.join(verdict.over)}."))
    return out


VERDICT_COLOURS = {"refused": "31", "needs-force": "33"}


def render_text(plan: Plan, colour: bool = False, verdict: SafetyVerdict | None = None) -> str:
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
    out += [paint(VERDICT_COLOURS[status], f"Safety: {text}") for status, text in verdict_lines(verdict)]
    return "\n".join(out) + "\n"


def plan_to_dict(plan: Plan, verdict: SafetyVerdict | None = None) -> dict[str, Any]:
    """The plan as ``--format json`` shows it (README "Plan JSON"): each change's data without
    the request body and, but for a delete, without the whole live preset; with *verdict*, a
    ``safety`` entry after the summary."""
    changes = []
    for c in plan.changes:
        item = c.to_data()
        item.pop("body", None)
        if c.action != DELETE:
            item.pop("before", None)
        changes.append(item)
    data: dict[str, Any] = {"format_version": FORMAT_VERSION, "summary": plan.counts()}
    if verdict is not None:
        data["safety"] = verdict.to_data()
    data.update(changes=changes, unchanged=plan.unchanged)
    return data


def render_json(plan: Plan, verdict: SafetyVerdict | None = None) -> str:
    return json.dumps(plan_to_dict(plan, verdict), indent=2, ensure_ascii=False) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("`", "'")


def render_markdown(plan: Plan, verdict: SafetyVerdict | None = None, max_chars: int = MARKDOWN_MAX_CHARS) -> str:
    """A summary table and a collapsible diff per preset, for a pull-request comment.

    When that is longer than *max_chars*, the diffs are left out for a note saying where the
    whole plan is, and the table keeps the rows that fit ("and N more changes")."""
    head = ["### presetsync plan", ""]
    summary = plan.summary()
    if plan.unchanged:
        summary += f" {len(plan.unchanged)} unchanged."
    head += [f"**{summary}**", ""]
    for _, text in verdict_lines(verdict, limit=20):
        head += [f"> **Safety:** {_md(text)}", ""]
    if not plan.changes:
        return "\n".join(head)
    table = ["| action | preset | type | fields |", "|---|---|---|---|"]
    rows = []
    for c in plan.changes:
        kind = c.presettype if c.action != REPLACE else f"{c.before_type} -> {c.presettype}"
        rows.append(f"| {SYMBOLS[c.action]} {c.action} | `{_md(c.name)}` | {_md(kind)} | {len(change_lines(c))} |")
    details = []
    for c in plan.changes:
        details.append(f"<details><summary><code>{SYMBOLS[c.action]} {_md(c.name)}</code> {c.action}</summary>")
        details += ["", "```diff"]
        for symbol, path, before, after in change_lines(c):
            if symbol in "-~":
                details.append(f"- {path}: {value_text(before)}")
            if symbol in "+~":
                details.append(f"+ {path}: {value_text(after)}")
        details += ["```", "", "</details>", ""]
    full = "\n".join([*head, *table, *rows, "", *details])
    if len(full) <= max_chars:
        return full
    note = [
        f"The diff of each preset is left out: the whole plan is {len(full):,} characters, over the "
        f"{max_chars:,} that this comment may take (`--max-chars`). Every change is in the output of "
        "`presetsync plan` (text) or `presetsync plan --format json`, and in the saved plan "
        "(`presetsync plan -o plan.json`; CI keeps it as an artifact).",
        "",
    ]
    out = [*head, *note, *table]
    used = len("\n".join(out)) + 200  # room for the "and N more" line
    shown = 0
    for row in rows:
        if used + len(row) + 1 > max_chars:
            break
        out.append(row)
        used += len(row) + 1
        shown += 1
    out.append("")
    if shown < len(rows):
        out += [f"... and {len(rows) - shown:,} more changes ({shown:,} of {len(rows):,} shown).", ""]
    return "\n".join(out)
