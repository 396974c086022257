"""Task manifests: load, check and expand into CreateTask bodies, as a stream.

A manifest is a YAML file (schema: ``schemas/task-manifest.schema.json``)::

    defaults:                        # any CreateTask field, for every task and matrix entry
      dstBucket: media-out
      dstAcl: private
    tasks:                           # CreateTask bodies with the API's field names
      - preset: web_720p|corner_logo
        srcInfo: [{path: /media-in/intro.mp4, type: video, index: 0}]
        dstObjectKey: intro/720p.mp4
    matrix:                          # every source x every preset (one entry, or a list)
      sources: [/media-in/a.mp4, /media-in/b.mov]
      presets: [web_720p, web_480p]
      dstObjectKey: "{preset}/{stem}.mp4"   # {stem} {ext} {preset} {index}

A YAML mapping with a top-level ``tasks``, ``matrix`` or ``defaults`` key (and none of a
preset file's ``presets``, ``preset``, ``presettype``, ``param``) is a manifest.

Checks (every problem at its file:line:col, nothing sent): YAML itself, the schema (unknown
fields with "did you mean", types, enums, /bucket/object source paths, http(s) callback
URLs), ``extParam`` strings that are not a JSON object, template placeholders, required
fields after merging ``defaults``, keys a template renders empty, and two tasks writing the
same dstBucket + dstObjectKey (reported at both places, also across manifests checked
together). Whether presets exist is checked separately (:func:`check_presets`), against
what the caller knows: preset files, the live service, or both.

Expansion is lazy: :meth:`Manifest.tasks` yields one :class:`TaskSpec` at a time, so that a
matrix of tens of thousands of sources never exists as a list of bodies.
"""

from __future__ import annotations

import functools
import json
import re
import string
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from ..inputs.documents import YamlDocument, load_yaml
from ..inputs.positions import YamlPath
from ..inputs.problems import Problem
from ..inputs.schema_messages import SchemaErrorTranslator, did_you_mean, type_phrase
from ..inputs.schemas import load_schema
from ..presets.model import MANIFEST_KEYS
from ..presets.model import is_manifest as is_manifest  # re-exported: the rule lives beside the preset file keys
from .identity import REQUIRED, output_of, sendable, task_identity

MANIFEST_SCHEMA = "task-manifest.schema.json"
PLACEHOLDERS = ("stem", "ext", "preset", "index")
_PRESET_NAME = re.compile(r"[A-Za-z0-9_]{2,32}")
_SAMPLE = {"stem": "intro", "ext": "mp4", "preset": "web_720p", "index": 7}


@functools.cache
def manifest_validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(load_schema(MANIFEST_SCHEMA))


@dataclass(frozen=True)
class TaskSpec:
    """One task of a manifest: its identity, the body to send, and where it is declared."""

    id: str
    body: dict[str, Any]
    where: str  # file:line:col of the task item, or of the matrix source it was made from

    @property
    def output(self) -> str:
        return output_of(self.body)


@dataclass(frozen=True)
class _Declared:
    body: dict[str, Any]  # defaults merged, matrix rendered; not yet normalised
    path: YamlPath  # the task item, or the matrix source


# --------------------------------------------------------------------------------------------
# dstObjectKey templates


def template_problems(text: str) -> list[str]:
    """What is wrong with a dstObjectKey template (empty when it is fine)."""
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        return [
            f"dstObjectKey template {text!r} has unbalanced braces ({exc}); write {{{{ and }}}} for a literal brace"
        ]
    names = ", ".join("{" + name + "}" for name in PLACEHOLDERS)
    problems = []
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if name == "":
            problems.append(f"empty placeholder {{}} in {text!r}: use one of {names}")
        elif name not in PLACEHOLDERS:
            hint = did_you_mean(name, PLACEHOLDERS)
            problems.append(f"unknown placeholder {{{name}}} in {text!r}{hint or f': use one of {names}'}")
        elif conversion:
            problems.append(f"placeholder {{{name}!{conversion}}}: conversions (!r, !s, !a) are not supported")
        elif spec:
            try:
                format(_SAMPLE[name], spec)
            except ValueError as exc:
                problems.append(f"placeholder {{{name}:{spec}}} has an invalid format {spec!r}: {exc}")
    return problems


def template_values(source: str, preset: str, index: int) -> dict[str, str | int]:
    """The placeholder values for one matrix source: ``/b/films/intro.mp4`` -> stem ``intro``, ext ``mp4``."""
    name = source.rsplit("/", 1)[-1]
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        stem, ext = name, ""
    return {"stem": stem, "ext": ext, "preset": preset, "index": index}


# --------------------------------------------------------------------------------------------
# The manifest


@dataclass
class Manifest:
    """A loaded manifest. ``problems`` holds everything :func:`load_manifest` found; expand it
    with :meth:`tasks` only when there are none."""

    path: Path
    doc: YamlDocument
    problems: list[Problem] = field(default_factory=list)

    @property
    def file(self) -> str:
        return self.doc.file

    @property
    def data(self) -> Mapping[str, Any]:
        return self.doc.data if isinstance(self.doc.data, Mapping) else {}

    @property
    def ok(self) -> bool:
        return not self.problems

    def where(self, path: YamlPath) -> str:
        line, col = self.doc.positions.find(path)
        return f"{self.file}:{line}:{col}"

    # -- structure ------------------------------------------------------------------------

    def defaults(self) -> dict[str, Any]:
        value = self.data.get("defaults")
        return dict(value) if isinstance(value, Mapping) else {}

    def task_items(self) -> Iterator[tuple[YamlPath, Mapping[str, Any]]]:
        items = self.data.get("tasks")
        for index, item in enumerate(items if isinstance(items, list) else []):
            if isinstance(item, Mapping):
                yield ("tasks", index), item

    def matrix_entries(self) -> Iterator[tuple[YamlPath, Mapping[str, Any]]]:
        value = self.data.get("matrix")
        if isinstance(value, Mapping):
            yield ("matrix",), value
        elif isinstance(value, list):
            for index, entry in enumerate(value):
                if isinstance(entry, Mapping):
                    yield ("matrix", index), entry

    @staticmethod
    def _list(entry: Mapping[str, Any], key: str) -> list[Any]:
        value = entry.get(key)
        return value if isinstance(value, list) else []

    def count(self) -> int:
        """How many tasks the manifest expands to (without expanding it)."""
        total = sum(1 for _ in self.task_items())
        for _, entry in self.matrix_entries():
            total += len(self._list(entry, "sources")) * len(self._list(entry, "presets"))
        return total

    def preset_refs(self) -> Iterator[tuple[str, YamlPath]]:
        """Every preset the manifest names (a name or an ``a|b`` chain), with where it is written."""
        defaults = self.defaults()
        if isinstance(defaults.get("preset"), str):
            yield defaults["preset"], ("defaults", "preset")
        for path, item in self.task_items():
            if isinstance(item.get("preset"), str):
                yield item["preset"], (*path, "preset")
        for path, entry in self.matrix_entries():
            for index, preset in enumerate(self._list(entry, "presets")):
                if isinstance(preset, str):
                    yield preset, (*path, "presets", index)

    # -- expansion ------------------------------------------------------------------------

    def _matrix_tasks(self) -> Iterator[tuple[YamlPath, Mapping[str, Any], str, str, str]]:
        """Every matrix task: (where, its entry, source, preset, rendered dstObjectKey)."""
        for path, entry in self.matrix_entries():
            template = entry.get("dstObjectKey")
            if not isinstance(template, str) or template_problems(template):
                continue
            presets = [p for p in self._list(entry, "presets") if isinstance(p, str)]
            for index, source in enumerate(self._list(entry, "sources")):
                if isinstance(source, str):
                    values = template_values(source, "", index)
                    for preset in presets:
                        values["preset"] = preset
                        yield (*path, "sources", index), entry, source, preset, template.format(**values)

    def declared(self) -> Iterator[_Declared]:
        """Every task with defaults merged and templates rendered, in manifest order."""
        defaults = self.defaults()
        for path, item in self.task_items():
            yield _Declared({**defaults, **item}, path)
        entry_of_common, common = None, {}
        for where, entry, source, preset, key in self._matrix_tasks():
            if entry is not entry_of_common:
                entry_of_common = entry
                common = {**defaults, **{k: v for k, v in entry.items() if k not in ("sources", "presets")}}
            body = {
                **common,
                "preset": preset,
                "srcInfo": [{"path": source, "type": "video", "index": 0}],
                "dstObjectKey": key,
            }
            yield _Declared(body, where)

    def outputs(self) -> Iterator[tuple[object, object, YamlPath, object]]:
        """(dstBucket, dstObjectKey, where, preset) of every task, in manifest order: what
        :meth:`declared` gives, without building bodies (a million tasks take seconds)."""
        defaults = self.defaults()
        for path, item in self.task_items():
            merged = {**defaults, **item}
            yield merged.get("dstBucket"), merged.get("dstObjectKey"), path, merged.get("preset")
        for where, entry, _, preset, key in self._matrix_tasks():
            yield entry.get("dstBucket", defaults.get("dstBucket")), key, where, preset

    def tasks(self) -> Iterator[TaskSpec]:
        """The tasks to send, one at a time: identity, body as sent, where declared."""
        for declared in self.declared():
            body = sendable(declared.body)
            yield TaskSpec(task_identity(body), body, self.where(declared.path))


# --------------------------------------------------------------------------------------------
# Checks


class _ManifestTranslator(SchemaErrorTranslator):
    def unknown_key(self, path: YamlPath, key: str, error: jsonschema.ValidationError) -> str:
        if not path:
            return (
                f"unknown top-level key {key!r}: a manifest holds defaults:, tasks: and matrix: "
                f"(keys starting with x- are ignored){did_you_mean(key, MANIFEST_KEYS)}"
            )
        return super().unknown_key(path, key, error)


def _ext_param_problems(manifest: Manifest) -> Iterator[Problem]:
    places: list[tuple[YamlPath, Mapping[str, Any]]] = [(("defaults",), manifest.defaults())]
    places += list(manifest.task_items()) + list(manifest.matrix_entries())
    for path, fields in places:
        value = fields.get("extParam")
        if not isinstance(value, str) or value == "":
            continue
        try:
            parsed = json.loads(value)
        except ValueError as exc:
            yield manifest.doc.problem((*path, "extParam"), f"extParam is not valid JSON ({exc}): write a mapping")
            continue
        if not isinstance(parsed, dict):
            yield manifest.doc.problem(
                (*path, "extParam"), f"extParam must hold a JSON object, not {type_phrase(parsed)}"
            )


def _required_problems(manifest: Manifest) -> Iterator[Problem]:
    defaults = manifest.defaults()
    for path, item in manifest.task_items():
        missing = [name for name in REQUIRED if name not in item and name not in defaults]
        if missing:
            names = ", ".join(missing)
            yield manifest.doc.problem(path, f"task is missing {names}: set it here or under defaults:")
    for path, entry in manifest.matrix_entries():
        if "dstBucket" not in entry and "dstBucket" not in defaults:
            yield manifest.doc.problem(path, "matrix entry is missing dstBucket: set it here or under defaults:")


def _template_problems(manifest: Manifest) -> Iterator[Problem]:
    for path, entry in manifest.matrix_entries():
        template = entry.get("dstObjectKey")
        if isinstance(template, str):
            for message in template_problems(template):
                yield manifest.doc.problem((*path, "dstObjectKey"), message)


def load_manifest(path: Path | str, *, display: str | None = None) -> Manifest:
    """Load and check one manifest; every problem found is in ``manifest.problems``.

    Not checked here: the rendered outputs (empty or repeated keys:
    :func:`.outputs.check_outputs`) and presets (:func:`check_presets`).
    """
    # every task's source position is asked for (tasks[i], matrix[j].sources[k]): read them at once
    return check_manifest(load_yaml(path, display=display, track_depth=4), path)


def check_manifest(doc: YamlDocument, path: Path | str) -> Manifest:
    """Check an already loaded manifest (see :func:`load_manifest`)."""
    manifest = Manifest(Path(path), doc, list(doc.problems))
    data = doc.data
    if data is None and (doc.empty or doc.problems):
        return manifest
    if not isinstance(data, Mapping):
        manifest.problems.append(
            doc.problem((), f"a task manifest holds a mapping (defaults:, tasks:, matrix:), not {type_phrase(data)}")
        )
        return manifest
    validator = manifest_validator()
    manifest.problems += _ManifestTranslator(doc, validator.schema).problems(validator.iter_errors(data))
    manifest.problems += _ext_param_problems(manifest)
    manifest.problems += _required_problems(manifest)
    manifest.problems += _template_problems(manifest)
    if all(data.get(key, []) == [] for key in ("tasks", "matrix")):
        manifest.problems.append(
            doc.problem((), "the manifest has no tasks: list them under tasks: or matrix: (sources x presets)")
        )
    manifest.problems = sorted(set(manifest.problems))
    return manifest


@dataclass
class KnownPresets:
    """The preset names a manifest may use, and how complete that knowledge is.

    ``live`` is False when the live presets could not be read (``why`` says why); a preset
    missing from ``names`` is then only a warning. ``in_files`` maps names declared in preset
    files to their file, for hints.
    """

    names: set[str]
    live: bool
    where: str  # "in the service", "in the service or in the preset files", ...
    why: str = ""
    in_files: dict[str, str] = field(default_factory=dict)


def referenced_presets(manifests: Iterable[Manifest]) -> set[str]:
    """Every preset name (chain parts split) the manifests use."""
    return {part for m in manifests for ref, _ in m.preset_refs() for part in ref.split("|") if part}


def check_presets(manifest: Manifest, known: KnownPresets) -> tuple[list[Problem], list[Problem]]:
    """(problems, warnings) for presets (or parts of ``a|b`` chains) that do not exist."""
    problems: list[Problem] = []
    warnings: list[Problem] = []
    for ref, path in manifest.preset_refs():
        for part in ref.split("|"):
            if part in known.names or not _PRESET_NAME.fullmatch(part):
                continue  # a malformed name is the schema's problem
            chain = f" (part of {ref!r})" if "|" in ref else ""
            if known.live:
                hint = ""
                if part in known.in_files and "files" not in known.where:
                    hint = f"; it is declared in {known.in_files[part]}: apply the preset files first"
                problems.append(
                    manifest.doc.problem(path, f"preset {part!r}{chain} does not exist {known.where}{hint}")
                )
            else:
                warnings.append(
                    manifest.doc.problem(
                        path, f"warning: preset {part!r}{chain} is not in the preset files: not checked"
                    )
                )
    if warnings:
        why = f"the live presets could not be read ({known.why}): presets not in the preset files were not checked"
        warnings.insert(0, Problem(manifest.file, 0, 0, f"warning: {why}"))
    return problems, warnings
