"""Checking manifests as a whole: problems, duplicate outputs, and whether presets exist.

Where preset names are looked up depends on the command:

* ``presetsync validate`` (a pull request may add a preset and use it in the same change):
  a preset must exist in the preset files (those validated, and the configuration's
  ``presets``) or in the live service. The service is read (one GetPresetList, nothing
  written) only when some name is not in the files. When it cannot be read - no
  credentials, unreachable, refused - each such name is a *warning*, not a problem, and the
  reason is printed: validate stays usable offline, and ``tasks submit`` does the definitive
  check;
* ``presetsync tasks submit`` / ``retry``: a preset must exist in the service right now (a
  task whose preset is missing would fail), whatever the files say.

Nothing here opens a connection: the command layer (:mod:`presetsync.commands`) hands over
its client, or a callable that reads the live preset names through it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..inputs.documents import YamlDocument
from ..inputs.problems import Problem
from ..presets.model import DesiredPreset
from .manifest import KnownPresets, Manifest, check_manifest, check_presets, referenced_presets
from .outputs import check_outputs

if TYPE_CHECKING:
    from ..api.client import OfflineClient
    from ..config import Config

IN_SERVICE = "in the service"
IN_SERVICE_OR_FILES = "in the service or in the preset files"


@dataclass
class ManifestReport:
    manifests: list[Manifest] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def tasks(self) -> int:
        return sum(m.count() for m in self.manifests)


def live_preset_names(client: OfflineClient) -> set[str]:
    """The names of every live preset: one GetPresetList call (a read)."""
    return {item["preset"] for item in client.get_preset_list(withDetail=0, presettype="", presets="")}


def configured_preset_files(config: Config | None) -> dict[str, str]:
    """Preset name -> file, from the configuration's preset files that exist (their own
    problems are validate's business, not the manifest's)."""
    from ..presets.validate import load_presets

    if config is None:
        return {}
    paths = [p for p in config.presets if Path(p).exists()]
    if not paths:
        return {}
    return {p.name: p.file for p in load_presets(paths, config).presets}


# What validate knows of the live presets: (names, "") or (None, why they could not be read).
LivePresets = Callable[[], "tuple[set[str] | None, str]"]


def check_manifest_docs(
    docs: Sequence[tuple[Path, YamlDocument]],
    file_presets: Iterable[DesiredPreset],
    config: Config | None,
    *,
    live_presets: LivePresets,
) -> ManifestReport:
    """What ``presetsync validate`` reports for manifests (see the module doc).

    *file_presets* are the presets of the preset files validated alongside; *live_presets*
    is called (once) only when some preset is in none of the files.
    """
    report = ManifestReport([check_manifest(doc, path) for path, doc in docs])
    for manifest in report.manifests:
        report.problems += manifest.problems
    report.problems += check_outputs(report.manifests)

    in_files = {p.name: p.file for p in file_presets}
    wanted = referenced_presets(report.manifests)
    if wanted - set(in_files):
        in_files = {**configured_preset_files(config), **in_files}
    known = KnownPresets(set(in_files), live=True, where=IN_SERVICE_OR_FILES, in_files=in_files)
    if wanted - known.names:
        live, why = live_presets()
        if live is None:
            known.live, known.why = False, why
        else:
            known.names |= live
    for manifest in report.manifests:
        problems, warnings = check_presets(manifest, known)
        report.problems += problems
        report.warnings += warnings
    report.problems = sorted(set(report.problems))
    report.warnings = sorted(set(report.warnings))
    return report


def submit_problems(manifest: Manifest, client: OfflineClient, config: Config | None) -> list[Problem]:
    """Everything that stops a submission: the manifest's problems, duplicate outputs, and
    presets that do not exist in the service (read with one GetPresetList)."""
    problems = list(manifest.problems) + check_outputs([manifest])
    if problems:
        return sorted(set(problems))
    live = live_preset_names(client)
    known = KnownPresets(live, live=True, where=IN_SERVICE)
    if referenced_presets([manifest]) - live:
        known.in_files = configured_preset_files(config)
    found, _ = check_presets(manifest, known)
    return sorted(set(found))
