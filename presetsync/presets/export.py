"""Export: live presets written as preset YAML, so onboarding is export, commit, empty plan.

Presets are written in the normalised form (the one plans compare), with a stable key order
(preset, presettype, description, param; param fields in catalog order), bitrates as ``128k``
where that is exact, and the ``yaml-language-server`` schema line. What comes out is checked
like any preset file; fields outside the catalog are reported with the way to allow them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from ..inputs.documents import parse_yaml
from ..inputs.problems import Problem
from ..inputs.schemas import PRESET_FILE_SCHEMA, load_schema
from .catalog import field_table
from .live import LivePreset
from .normalize import normalize_preset
from .plan import matches
from .validate import check_document


def select(live: dict[str, LivePreset], names: Sequence[str] = (), presettype: str | None = None) -> list[LivePreset]:
    """Live presets matching *names* (exact or globs; all when empty) and *presettype*, by name."""
    chosen = []
    for name in sorted(live):
        preset = live[name]
        if names and not matches(name, names):
            continue
        if presettype and preset.presettype != presettype:
            continue
        chosen.append(preset)
    return chosen


def _bitrate_text(value: object) -> object:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1000 and value % 1000 == 0:
        return f"{value // 1000}k"
    return value


def file_form(preset: LivePreset, extra_fields: Mapping[str, Sequence[str]] | None = None) -> dict[str, Any]:
    """The preset as a file declares it: normalised, bitrates readable."""
    out = normalize_preset(preset.name, preset.presettype, preset.description, preset.param, extra_fields)
    param = out.get("param")
    if isinstance(param, dict):
        for path, spec in field_table(preset.presettype).items():
            if spec.kind != "bitrate":
                continue
            parent: object = param
            for part in path[:-1]:
                parent = parent.get(part) if isinstance(parent, dict) else None
            if isinstance(parent, dict) and path[-1] in parent:
                parent[path[-1]] = _bitrate_text(parent[path[-1]])
    return out


class _Dumper(yaml.SafeDumper):
    """Block style, keys in the order given, nested lists indented."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        del indentless  # PyYAML's wish to leave a nested list unindented is not followed
        super().increase_indent(flow, False)


def dump(presets: list[dict[str, Any]], schema_ref: str) -> str:
    header = f"# yaml-language-server: $schema={schema_ref}\n# Exported by presetsync export.\n"
    body = yaml.dump(
        {"presets": presets}, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False
    )
    return header + body


def schema_ref(output: Path, base_dir: Path) -> str:
    """A path from *output*'s folder to ``schemas/preset-file.schema.json`` under *base_dir*,
    which is written there (from the installed package) when missing."""
    target = base_dir / "schemas" / PRESET_FILE_SCHEMA
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(_schema_text(), encoding="utf-8")
    try:
        return Path(_relpath(target, output.parent)).as_posix()
    except ValueError:
        return target.as_posix()


def _schema_text() -> str:
    return json.dumps(load_schema(PRESET_FILE_SCHEMA), indent=2, ensure_ascii=False) + "\n"


def _relpath(target: Path, start: Path) -> str:
    return os.path.relpath(target.resolve(), start.resolve())


def check_exported(text: str, file: str, extra_fields: Mapping[str, Sequence[str]] | None) -> list[Problem]:
    """Problems validate would report on an exported file (fields outside the catalog, say)."""
    doc = parse_yaml(text, file)
    _, problems = check_document(doc, extra_fields or {})
    return sorted(doc.problems + problems)


def write_export(
    presets: list[LivePreset],
    output: Path | None,
    *,
    split: bool,
    base_dir: Path,
    extra_fields: Mapping[str, Sequence[str]] | None = None,
) -> tuple[dict[str, str], list[Problem]]:
    """Render *presets* as files; returns {path or '-': text} (already written) and problems."""
    forms = [file_form(p, extra_fields) for p in presets]
    written: dict[str, str] = {}
    if output is None:
        written["-"] = dump(forms, schema_ref(Path.cwd() / "stdout.yaml", base_dir))
    elif split:
        output.mkdir(parents=True, exist_ok=True)
        for form in forms:
            path = output / f"{form['preset']}.yaml"
            written[str(path)] = dump([form], schema_ref(path, base_dir))
    else:
        path = output if output.suffix in (".yaml", ".yml") else output / "presets.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        written[str(path)] = dump(forms, schema_ref(path, base_dir))
    problems: list[Problem] = []
    for name, text in written.items():
        if name != "-":
            Path(name).write_text(text, encoding="utf-8")
        problems.extend(check_exported(text, name, extra_fields))
    return written, problems
