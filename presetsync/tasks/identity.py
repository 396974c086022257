"""A task's body as sent, and its identity: the hash of its normalised body.

Two spellings of the same task must be the same task, or a harmless edit of a manifest
(reordering keys, writing a documented default, re-spacing ``extParam``'s JSON) would submit
everything again. So the identity is computed over a *normalised* body:

* only the CreateTask fields, as canonical JSON (keys sorted, no spaces, UTF-8);
* absent equals empty or default: ``dstDir: ""``, ``dstAcl: public-read``, ``isTop: 0``,
  ``cbMethod: ""``, ``cbUrl: ""`` and ``extParam: ""`` are dropped, and so is ``cbMethod``
  when there is no ``cbUrl``;
* every ``srcInfo`` item spelled out: ``type`` defaults to ``video``, ``index`` to the
  item's position;
* ``extParam`` compared as the JSON object it holds, not as text.

The identity is ``sha256`` of that JSON, in hex (64 digits; messages show the first 12).
What is *sent* is the body as written in the manifest (defaults merged, key order fixed,
``extParam`` serialised to the JSON string the API expects), not the normalised one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

#: CreateTask's fields, in the order bodies are sent (offline-api-params.md §3.1).
FIELDS = (
    "preset",
    "srcInfo",
    "dstBucket",
    "dstObjectKey",
    "dstDir",
    "dstAcl",
    "isTop",
    "cbMethod",
    "cbUrl",
    "extParam",
)
REQUIRED = ("preset", "srcInfo", "dstBucket", "dstObjectKey")
#: Values equal to leaving the field out.
_NEUTRAL = {"dstDir": "", "dstAcl": "public-read", "isTop": 0, "cbMethod": "", "cbUrl": "", "extParam": ""}
#: Hex digits of an identity that messages show.
SHORT_ID = 12


def canonical_json(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def ext_param_text(value: object) -> str:
    """``extParam`` as the API takes it: a string; a mapping is serialised as compact JSON."""
    if isinstance(value, Mapping):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return "" if value is None else str(value)


def sendable(body: Mapping[str, Any]) -> dict[str, Any]:
    """The CreateTask body to send: the known fields in :data:`FIELDS` order, extParam a string."""
    out: dict[str, Any] = {}
    for name in FIELDS:
        if name in body and body[name] is not None:
            out[name] = ext_param_text(body[name]) if name == "extParam" else body[name]
    return out


def _source(item: Mapping[str, Any], position: int) -> dict[str, Any]:
    return {
        "path": item.get("path"),
        "type": item.get("type") or "video",
        "index": item.get("index", position),
    }


def _ext_param_value(text: str) -> object:
    try:
        value: object = json.loads(text)
    except ValueError:
        return text
    return value


def normalise(body: Mapping[str, Any]) -> dict[str, Any]:
    """The body in the one spelling identities are computed from (see the module doc)."""
    out: dict[str, Any] = {}
    for name in FIELDS:
        if name not in body or body[name] is None:
            continue
        value = body[name]
        if name == "srcInfo" and isinstance(value, list):
            value = [_source(item, i) if isinstance(item, Mapping) else item for i, item in enumerate(value)]
        elif name == "extParam":
            value = ext_param_text(value)
        elif name == "isTop" and isinstance(value, str) and value.isdigit():
            value = int(value)  # the service echoes "0" / "1"
        if name in _NEUTRAL and value == _NEUTRAL[name]:
            continue
        if name == "cbMethod" and not body.get("cbUrl"):
            continue  # no callback: its method means nothing (the service may echo a default)
        if name == "extParam":
            value = _ext_param_value(value)
        out[name] = value
    return out


def task_identity(body: Mapping[str, Any]) -> str:
    """sha256 (hex) of the canonical JSON of :func:`normalise`\\ (*body*)."""
    return hashlib.sha256(canonical_json(normalise(body)).encode("utf-8")).hexdigest()


def output_of(body: Mapping[str, Any]) -> str:
    """``bucket/key``, for messages."""
    return f"{body.get('dstBucket', '?')}/{body.get('dstObjectKey', '?')}"
