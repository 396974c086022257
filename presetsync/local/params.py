"""Preset ``param`` rules: what the service accepts, and the types it echoes back.

Accepting (:func:`check_param`): ``param`` must be a JSON object. For ``avop`` presets the
fields whose values are documented (offline-api-params.md §2.1) are checked against those
values: ranges, enumerations, 0/1 flags. Undocumented fields and the other preset types are
stored as given, because nothing documents what the real service would refuse there.

Echoing (:func:`echo_param`): the service stores ``param`` as given but answers with the
*documented* types, as the GetPresetDetail example shows: ``"vr": "13"`` although clients
send ``25``, and ``"width": 500``. Fields documented as strings come back as strings when
the client sent a number; fields documented as integers come back as integers when the
client sent an integer-looking string. Everything else is echoed unchanged.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from .protocol import invalid

PRESET_TYPES = ("avop", "avlogo", "avm3u8", "avsample", "avsnapshot", "avinfo")
PRESET_NAME = re.compile(r"[A-Za-z0-9_]{2,32}", re.ASCII)

# Catalog §6.1: documented string fields and integer fields (doc and Java SDK model).
STRING_FIELDS = frozenset({"f", "ab", "ar", "acodec", "vr", "vb", "vcodec", "rotate"})
INT_FIELDS = frozenset(
    {
        "intelligentSwitch",
        "an",
        "width",
        "height",
        "as",
        "vn",
        "shortSide",
        "orientationAdapt",
        "gop",
        "channels",
        "hls_time",
        "interval",
        "clearmeta",
    }
)

_INT_TEXT = re.compile(r"-?[0-9]+", re.ASCII)
_NUMBER_TEXT = re.compile(r"[0-9]+(\.[0-9]+)?", re.ASCII)
_BITRATE_TEXT = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*(k|kb|m|mb)?", re.ASCII | re.IGNORECASE)
_BITRATE_FACTORS = {None: 1, "k": 1000, "kb": 1000, "m": 1_000_000, "mb": 1_000_000}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def parse_number(value: Any) -> float | None:
    """A number, or a string holding a plain decimal number; otherwise None."""
    if _is_number(value):
        return float(value)
    if isinstance(value, str) and _NUMBER_TEXT.fullmatch(value.strip()):
        return float(value)
    return None


def parse_bitrate(value: Any) -> float | None:
    """Bits per second from ``500000``, ``"500k"``, ``"1.25M"``, ``"64kb"`` (decimal units)."""
    if _is_number(value):
        return float(value)
    if isinstance(value, str):
        match = _BITRATE_TEXT.fullmatch(value.strip())
        if match:
            unit = match.group(2).lower() if match.group(2) else None
            return float(match.group(1)) * _BITRATE_FACTORS[unit]
    return None


def check_preset_name(value: Any, field: str = "preset") -> str:
    if value is None or value == "":
        raise invalid(f"{field} is required")
    if not isinstance(value, str) or not PRESET_NAME.fullmatch(value):
        raise invalid(f"{field} must be 2 to 32 letters, digits or underscores, got {value!r}")
    return value


def check_preset_type(value: Any) -> str:
    if value is None or value == "":
        raise invalid("presettype is required")
    if value not in PRESET_TYPES:
        raise invalid(f"presettype must be one of {', '.join(PRESET_TYPES)}, got {value!r}")
    return value


# --- avop value rules -----------------------------------------------------------------------


def _range(low: float, high: float, parse: Callable[[Any], float | None], what: str) -> Callable[[str, Any], None]:
    def check(path: str, value: Any) -> None:
        number = parse(value)
        if number is None or not low <= number <= high:
            raise invalid(f"{path} must be {what} from {low:g} to {high:g}, got {value!r}")

    return check


def _choice(*allowed: Any) -> Callable[[str, Any], None]:
    def check(path: str, value: Any) -> None:
        if isinstance(value, bool) or value not in allowed:
            choices = ", ".join(str(a) for a in allowed)
            raise invalid(f"{path} must be one of {choices}, got {value!r}")

    return check


def _flag(*allowed: int) -> Callable[[str, Any], None]:
    texts = {str(a) for a in allowed}

    def check(path: str, value: Any) -> None:
        if isinstance(value, bool) or not (value in allowed or (isinstance(value, str) and value in texts)):
            raise invalid(f"{path} must be one of {', '.join(str(a) for a in allowed)}, got {value!r}")

    return check


def _positive_int(path: str, value: Any) -> None:
    ok = (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, str) and _INT_TEXT.fullmatch(value)
    )
    if not ok or int(value) <= 0:
        raise invalid(f"{path} must be a positive integer, got {value!r}")


def _rotate(path: str, value: Any) -> None:
    if value == "auto":
        return
    number = parse_number(value)
    if number is None or not 0 <= number <= 360:
        raise invalid(f"{path} must be 0 to 360 or 'auto', got {value!r}")


def _text(path: str, value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise invalid(f"{path} must be a non-empty string, got {value!r}")


# Documented avop values (catalog §2.1); keys are where the field lives in ``param``.
AVOP_RULES: dict[tuple[str, ...], Callable[[str, Any], None]] = {
    ("f",): _text,
    ("intelligentSwitch",): _flag(0, 1, 2),
    ("AUDIO", "ab"): _range(20000, 320000, parse_bitrate, "a bitrate in bit/s"),
    ("AUDIO", "ar"): _range(8000, 96000, parse_number, "a sample rate in Hz"),
    ("AUDIO", "acodec"): _choice("aac", "mp3", "copy"),
    ("AUDIO", "an"): _flag(0, 1),
    ("VIDEO", "vr"): _range(1, 60, parse_number, "a frame rate"),
    ("VIDEO", "vb"): _range(100000, 10000000, parse_bitrate, "a bitrate in bit/s"),
    ("VIDEO", "vcodec"): _choice("h264", "h265", "copy"),
    ("VIDEO", "width"): _positive_int,
    ("VIDEO", "height"): _positive_int,
    ("VIDEO", "as"): _flag(0, 1),
    ("VIDEO", "shortSide"): _positive_int,
    ("VIDEO", "rotate"): _rotate,
    ("VIDEO", "vn"): _flag(0, 1),
}


def check_param(presettype: str, param: Any) -> dict[str, Any]:
    """Return *param* if acceptable for *presettype*; raise an invalid-parameter AppError."""
    if param is None:
        raise invalid("param is required")
    if not isinstance(param, dict):
        raise invalid(f"param must be a JSON object, got {type(param).__name__}")
    for section in ("AUDIO", "VIDEO"):
        if section in param and not isinstance(param[section], dict):
            raise invalid(f"param.{section} must be a JSON object")
    if presettype == "avop":
        for path, rule in AVOP_RULES.items():
            node: Any = param
            for key in path:
                node = node.get(key) if isinstance(node, dict) else None
            if node is not None:
                rule("param." + ".".join(path), node)
    return param


def _number_text(value: int | float) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def echo_param(param: dict[str, Any]) -> dict[str, Any]:
    """*param* with the documented types (see the module docstring); key order is kept.

    Exact ``type()`` tests keep it fast (it runs once per preset in a 10,000-preset list) and
    leave booleans alone.
    """
    out: dict[str, Any] = {}
    for key, value in param.items():
        kind = type(value)
        if kind is dict:
            value = echo_param(value)
        elif kind is list:
            value = [echo_param(item) if type(item) is dict else item for item in value]
        elif key in STRING_FIELDS:
            if kind is int or kind is float:
                value = _number_text(value)
        elif key in INT_FIELDS:
            integral = (kind is str and _INT_TEXT.fullmatch(value.strip())) or (kind is float and value.is_integer())
            if integral:
                value = int(value)
        out[key] = value
    return out
