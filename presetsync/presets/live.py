"""Reading the live presets: one GetPresetList(withDetail=1) call.

GetPresetDetail is called per preset only for list items that come without ``param``
(a service that ignores withDetail), so a plan costs one call, two at most with a lookup.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..api.client import OfflineClient
from .normalize import ExtraFields, NormalizedPreset, normalize_preset


@dataclass(frozen=True)
class LivePreset:
    name: str
    presettype: str
    description: str
    param: Any  # as the service echoes it: JSON data of any shape (normally an object)

    def normalized(self, extra_fields: ExtraFields = None) -> NormalizedPreset:
        """The canonical form plans compare (see normalize.py)."""
        return normalize_preset(self.name, self.presettype, self.description, self.param, extra_fields)


def _type_of(item: Mapping[str, Any]) -> str:
    # The usage document spells it presetType; the Java SDK parses presettype.
    return str(item.get("presetType", item.get("presettype", "")))


def fetch_live(client: OfflineClient, names: str = "") -> dict[str, LivePreset]:
    """Every live preset of the account (or those in *names*, comma-separated), by name."""
    live = {}
    for item in client.get_preset_list(withDetail=1, presettype="", presets=names):
        name = item["preset"]
        if "param" not in item:
            item = {**item, **client.get_preset_detail(preset=name)}
        live[name] = LivePreset(name, _type_of(item), str(item.get("description") or ""), item.get("param"))
    return live


def canonical_json(value: object) -> bytes:
    """The canonical JSON text of *value* (keys sorted, no spaces, ASCII), the input of every hash."""
    return json.dumps(value, sort_keys=True, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def sha256_of(value: object, length: int = 64) -> str:
    """``sha256:`` and the first *length* hex digits of the hash of *value*'s canonical JSON."""
    return "sha256:" + hashlib.sha256(canonical_json(value)).hexdigest()[:length]


def fingerprint(normalized: Mapping[str, Any] | None) -> str | None:
    """A short stable hash of a normalised preset; None for a preset that does not exist."""
    return None if normalized is None else sha256_of(normalized, 32)
