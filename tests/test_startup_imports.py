"""`presetsync --version`, `--help` and `validate FILE` start without importing the HTTP stack
(http.client, ssl; requests and urllib3 are not used at all) or deepdiff: each runs in a fresh
interpreter that reports what it imported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("http", "ssl", "requests", "urllib3", "deepdiff")

# Runs presetsync's main() with the given arguments, then prints the heavy modules it imported.
PROBE = """
import json, sys
from presetsync.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
heavy = sorted({name.split(".")[0] for name in sys.modules} & set(HEAVY))
print("PROBE " + json.dumps({"code": code, "heavy": heavy}))
""".replace("HEAVY", repr(HEAVY))


def _probe(args: list[str], cwd: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )
    line = next(row for row in proc.stdout.splitlines() if row.startswith("PROBE "))
    return json.loads(line[len("PROBE ") :]) | {"out": proc.stdout, "err": proc.stderr}


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["validate", "--help"]], ids=" ".join)
def test_version_and_help_import_no_http_stack(args, tmp_path):
    result = _probe(args, tmp_path)
    assert result["code"] in (0, None), result["err"]
    assert result["heavy"] == [], f"{' '.join(args)} imported {result['heavy']}"


def test_validate_of_a_preset_file_imports_no_http_stack(tmp_path):
    (tmp_path / "web.yaml").write_text(
        "presets:\n  - preset: web_720p\n    presettype: avop\n    param: {f: mp4, VIDEO: {vb: 2m}}\n"
    )
    result = _probe(["validate", "web.yaml"], tmp_path)
    assert result["code"] == 0, result["out"] + result["err"]
    assert "1 file, 1 preset: ok" in result["out"]
    assert result["heavy"] == [], f"validate imported {result['heavy']}"


def test_the_probe_sees_imports(tmp_path):
    """The check above can fail: a command that talks to the service does import the HTTP stack."""
    result = _probe(["call", "GetPresetList", "--endpoint", "local"], tmp_path)  # the embedded local service
    assert result["code"] == 0, result["out"] + result["err"]
    assert "http" in result["heavy"] and "ssl" in result["heavy"]
