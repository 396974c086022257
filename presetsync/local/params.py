"""Preset ``param`` rules: what the service accepts, and the types it echoes back.

Accepting (:func:`check_param`): ``param`` must be a JSON object. For ``avop`` presets the
fields whose values are documented (offline-api-params.md §2.1) are checked against those
values: ranges, enumerations, 0/1 flags (:data:`AVOP_RULES`, which a test compares with
schemas/preset-file.schema.json). Sizes have no documented range: they are bounded at
:data:`MAX_PIXELS`, an inference the schema shares. Undocumented fields and the other preset
types are stored as given, because nothing documents what the real service would refuse there.
Preset names (:func:`check_preset_name`) follow the 2016 documents, which ask only for a
string; the later 2-32 ``[A-Za-z0-9_]`` rule applies when asked for.

Echoing (:func:`echo_param`): the service stores ``param`` as given but answers with the
*documented* types, as the GetPresetDetail example shows: ``"vr": "13"`` although clients
send ``25``, and ``"width": 500``. Fields documented as strings come back as strings when
the client sent a number; fields documented as integers come back as integers when the
client sent an integer-looking string. Everything else is echoed unchanged.
:func:`wire_param` is that answer as JSON text, which the store keeps beside ``param``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Callable, Union

from .protocol import encode_text, invalid

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


def parse_number(value: object) -> float | None:
    """A number, or a string holding a plain decimal number; otherwise None."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and _NUMBER_TEXT.fullmatch(value.strip()):
        return float(value)
    return None


def parse_bitrate(value: object) -> float | None:
    """Bits per second from ``500000``, ``"500k"``, ``"1.25M"``, ``"64kb"`` (decimal units)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        match = _BITRATE_TEXT.fullmatch(value.strip())
        if match:
            unit = match.group(2).lower() if match.group(2) else None
            return float(match.group(1)) * _BITRATE_FACTORS[unit]
    return None


def check_preset_name(value: object, *, later_rule: bool = False) -> str:
    """The preset name of a Preset request. The 2016 documents set no rule but a non-empty
    string; *later_rule* applies the later documents' 2 to 32 letters, digits or underscores."""
    if value is None or value == "":
        raise invalid("preset is required")
    if not isinstance(value, str):
        raise invalid(f"preset must be a string, got {value!r}")
    if later_rule and not PRESET_NAME.fullmatch(value):
        raise invalid(f"preset must be 2 to 32 letters, digits or underscores, got {value!r}")
    return value


def check_preset_type(value: object) -> str:
    if value is None or value == "":
        raise invalid("presettype is required")
    if not isinstance(value, str) or value not in PRESET_TYPES:
        raise invalid(f"presettype must be one of {', '.join(PRESET_TYPES)}, got {value!r}")
    return value


# --- avop value rules -----------------------------------------------------------------------


def parse_integer(value: object) -> float | None:
    """An integer, or a string holding one; otherwise None (booleans are not integers)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and _INT_TEXT.fullmatch(value.strip()):
        return float(value)
    return None


def parse_text(value: object) -> str | None:
    """A non-empty string; otherwise None."""
    return value if isinstance(value, str) and value else None


#: What a rule reads a value as: a number or a text (None: not a value of its kind).
Parsed = Union[float, str, None]


@dataclass(frozen=True)
class Rule:
    """What the service accepts for one field: the value read by *parse* (None: refused),
    within *minimum*..*maximum* (numbers) and among *allowed* when given; *keywords* are words
    accepted as they are (``rotate: auto``). Data, so that a test can compare it with the schema."""

    parse: Callable[[object], Parsed]
    what: str
    minimum: float | None = None
    maximum: float | None = None
    allowed: tuple[float | str, ...] | None = None
    keywords: tuple[str, ...] = ()

    def accepts(self, value: object) -> bool:
        if isinstance(value, str) and value in self.keywords:
            return True
        parsed = self.parse(value)
        if parsed is None or (self.allowed is not None and parsed not in self.allowed):
            return False
        if isinstance(parsed, str):
            return True  # a text has no range
        return (self.minimum is None or parsed >= self.minimum) and (self.maximum is None or parsed <= self.maximum)

    def check(self, path: str, value: object) -> None:
        if not self.accepts(value):
            raise invalid(f"{path} must be {self.describe()}, got {value!r}")

    def describe(self) -> str:
        if self.allowed is not None:
            text = "one of " + ", ".join(str(a) for a in self.allowed)
        elif self.minimum is not None and self.maximum is not None:
            text = f"{self.what} from {_number_text(self.minimum)} to {_number_text(self.maximum)}"
        else:
            text = self.what
        return text + "".join(f" or {word!r}" for word in self.keywords)


def _flag(*allowed: int) -> Rule:
    return Rule(parse_integer, "an integer", allowed=allowed)


# The 2016 documents give no range for sizes (catalog §2.1: [GAP]); this bound is inferred, the
# same as the schema's: 8192 pixels, above 8K UHD (7680x4320).
MAX_PIXELS = 8192


def _size(what: str) -> Rule:
    return Rule(parse_integer, what, minimum=1, maximum=MAX_PIXELS)


# Documented avop values (catalog §2.1); keys are where the field lives in ``param``.
AVOP_RULES: dict[tuple[str, ...], Rule] = {
    ("f",): Rule(parse_text, "a non-empty string"),
    ("intelligentSwitch",): _flag(0, 1, 2),
    ("AUDIO", "ab"): Rule(parse_bitrate, "a bitrate in bit/s", minimum=20000, maximum=320000),
    ("AUDIO", "ar"): Rule(parse_number, "a sample rate in Hz", minimum=8000, maximum=96000),
    ("AUDIO", "acodec"): Rule(parse_text, "a codec", allowed=("aac", "mp3", "copy")),
    ("AUDIO", "an"): _flag(0, 1),
    ("VIDEO", "vr"): Rule(parse_number, "a frame rate", minimum=1, maximum=60),
    ("VIDEO", "vb"): Rule(parse_bitrate, "a bitrate in bit/s", minimum=100000, maximum=10000000),
    ("VIDEO", "vcodec"): Rule(parse_text, "a codec", allowed=("h264", "h265", "copy")),
    ("VIDEO", "width"): _size("a width in pixels"),
    ("VIDEO", "height"): _size("a height in pixels"),
    ("VIDEO", "as"): _flag(0, 1),
    ("VIDEO", "shortSide"): _size("a length in pixels"),
    ("VIDEO", "rotate"): Rule(parse_number, "an angle in degrees", minimum=0, maximum=360, keywords=("auto",)),
    ("VIDEO", "vn"): _flag(0, 1),
}


def check_param(presettype: str, param: object) -> dict[str, Any]:
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
            node: object = param
            for key in path:
                node = node.get(key) if isinstance(node, dict) else None
            if node is not None:
                rule.check("param." + ".".join(path), node)
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


def wire_param(text: str) -> str:
    """The stored ``param`` JSON text as the service answers it: :func:`echo_param`'s types,
    encoded as the answer encodes it. The store keeps it, so that listings splice it as text."""
    param: dict[str, Any] = json.loads(text)  # a JSON object (anything else raises: see store._migrate)
    return encode_text(echo_param(param))
