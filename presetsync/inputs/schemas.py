"""The JSON Schemas shipped with presetsync (``schemas/``), by file name.

Schemas are loaded with ``importlib.resources`` from the package ``presetsync.schemas``; where
that does not work (Python 3.9, or a source checkout), from ``presetsync/schemas/`` or the
repository's ``schemas/``.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

SCHEMA_PACKAGE = "presetsync.schemas"
PRESET_FILE_SCHEMA = "preset-file.schema.json"
CONFIG_SCHEMA = "config.schema.json"


def _schema_text(name: str) -> str:
    import importlib.resources  # here: a few milliseconds that --version and --help do without

    try:
        resource = importlib.resources.files(SCHEMA_PACKAGE).joinpath(name)
        if resource.is_file():
            return resource.read_text(encoding="utf-8")
    except (ImportError, AttributeError, TypeError, OSError):
        pass
    # Python 3.9 cannot open resources of a namespace package: look where setup.cfg installs
    # the schemas (presetsync/schemas/), then in a source checkout (schemas/ beside the package).
    package_dir = Path(__file__).resolve().parent.parent
    for folder in (package_dir / "schemas", package_dir.parent / "schemas"):
        if (folder / name).is_file():
            return (folder / name).read_text(encoding="utf-8")
    raise FileNotFoundError(f"schema {name} is not installed with presetsync (looked in {SCHEMA_PACKAGE})")


@functools.cache
def load_schema(name: str) -> dict[str, Any]:
    """A schema by file name, parsed (cached: do not modify it)."""
    schema: dict[str, Any] = json.loads(_schema_text(name))
    return schema


def preset_file_schema() -> dict[str, Any]:
    return load_schema(PRESET_FILE_SCHEMA)


def config_schema() -> dict[str, Any]:
    return load_schema(CONFIG_SCHEMA)
