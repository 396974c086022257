"""README.md's Benchmarks section is what bench/results/*.json give, and nothing else.

bench/report renders the section from the files the bench scripts write with --record;
`bench/report --check` fails when the two disagree, so a figure typed into the README by hand
fails here. Fast: no bench runs, only the committed files (or copies of them) are read.
"""

from __future__ import annotations

import argparse
import importlib.machinery
import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"


def report(*args: str | Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(BENCH / "report"), *map(str, args)]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)


def load_script(name: str, path: Path) -> ModuleType:
    """A bench script (no .py suffix) as a module, without running its main."""
    loader = importlib.machinery.SourceFileLoader(name, str(path))
    spec = importlib.util.spec_from_loader(name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is made
    loader.exec_module(module)
    return module


@pytest.fixture
def copies(tmp_path: Path) -> tuple[Path, Path]:
    """Copies of README.md and bench/results, for bench/report --readme/--results."""
    readme, results = tmp_path / "README.md", tmp_path / "results"
    shutil.copy(ROOT / "README.md", readme)
    shutil.copytree(BENCH / "results", results)
    return readme, results


def section(readme: Path) -> str:
    text = readme.read_text(encoding="utf-8")
    return text[text.index("<!-- bench:begin") : text.index("<!-- bench:end -->")]


def test_committed_readme_is_what_the_committed_results_give() -> None:
    done = report("--check")
    assert done.returncode == 0, done.stdout + done.stderr
    recorded = {json.loads(path.read_text())["script"] for path in (BENCH / "results").glob("*.json")}
    assert recorded == {"serve", "apply", "tasks", "tasks-stream", "plan", "validate", "startup", "media"}


def test_a_figure_edited_by_hand_fails_the_check_until_the_report_is_run(copies: tuple[Path, Path]) -> None:
    readme, results = copies
    assert report("--check", "--readme", readme, "--results", results).returncode == 0
    original = readme.read_text(encoding="utf-8")
    rows = [line for line in section(readme).splitlines() if line.startswith("| ") and re.search(r"\d", line)]
    cells = rows[0].split(" | ")
    measured = re.sub(r"\d", lambda digit: str((int(digit.group()) + 1) % 10), cells[1], count=1)
    readme.write_text(original.replace(rows[0], " | ".join([cells[0], measured, *cells[2:]])), encoding="utf-8")

    done = report("--check", "--readme", readme, "--results", results)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "differs from" in done.stdout and measured in done.stdout  # the diff shows the edited row

    done = report("--readme", readme, "--results", results)
    assert done.returncode == 0, done.stdout + done.stderr
    assert readme.read_text(encoding="utf-8") == original
    assert report("--check", "--readme", readme, "--results", results).returncode == 0


def test_a_changed_results_file_fails_the_check(copies: tuple[Path, Path]) -> None:
    readme, results = copies
    path = results / "plan.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    document["figures"][0]["value"] = document["figures"][0]["value"] * 3 + 1
    path.write_text(json.dumps(document), encoding="utf-8")
    done = report("--check", "--readme", readme, "--results", results)
    assert done.returncode == 1, done.stdout + done.stderr


def test_only_the_section_between_the_markers_is_rewritten(copies: tuple[Path, Path]) -> None:
    readme, results = copies
    text = readme.read_text(encoding="utf-8")
    start, end = text.index("<!-- bench:begin"), text.index("<!-- bench:end -->")
    head_end = text.index("\n", start) + 1
    readme.write_text(text[:head_end] + "stale\n" + text[end:], encoding="utf-8")
    assert report("--readme", readme, "--results", results).returncode == 0
    assert readme.read_text(encoding="utf-8") == text


def test_the_fixed_sentences_hold_no_number() -> None:
    module = load_script("bench_report", BENCH / "report")
    for text in [module.INTRO, *module.NOTES.values()]:
        assert not re.search(r"\d", text), text
    assert set(module.NOTES) == set(module.NAMES)


def test_bad_results_and_missing_markers_exit_2_naming_the_file(copies: tuple[Path, Path]) -> None:
    readme, results = copies
    (results / "plan.json").write_text('{"format": 1, "script": "plan"', encoding="utf-8")
    done = report("--check", "--readme", readme, "--results", results)
    assert done.returncode == 2 and "plan.json" in done.stderr and "Traceback" not in done.stderr

    shutil.copy(BENCH / "results" / "plan.json", results / "plan.json")
    readme.write_text(readme.read_text(encoding="utf-8").replace("<!-- bench:end -->", ""), encoding="utf-8")
    done = report("--check", "--readme", readme, "--results", results)
    assert done.returncode == 2 and "README.md" in done.stderr and "bench:end" in done.stderr


def test_what_a_bench_records_is_what_the_report_renders(tmp_path: Path) -> None:
    """The writer (bench/benchutil.py) and the reader (bench/report) agree on the format."""
    sys.path.insert(0, str(BENCH))
    try:
        benchutil = load_script("benchutil", BENCH / "benchutil.py")
    finally:
        sys.path.remove(str(BENCH))
    run = benchutil.Run()
    run.script = "plan"
    run.ratio("`plan`, ten presets", 3.0, 2.0, "s", target=1.5, op="<=", measured_name="plan")
    run.add("peak RSS", 80.25, "MB", target=250, op="<=")
    run.add("imports", "none", "", target="none", op="==")
    run.finish(argparse.Namespace(record=True, results=str(tmp_path)))

    document = json.loads((tmp_path / "plan.json").read_text(encoding="utf-8"))
    ratio, rss, imports = document["figures"]
    assert (ratio["value"], ratio["measured"], ratio["floor"], ratio["met"]) == (1.5, 3.0, 2.0, True)
    assert (rss["met"], imports["met"]) == (True, True)
    assert set(document["context"]) >= {"date", "seconds", "command", "cores", "python", "load_average_at_start"}

    bench_report = load_script("bench_report", BENCH / "report")
    rendered = bench_report.render(bench_report.load(tmp_path))
    assert "| `plan`, ten presets | 1.50x (plan 3.00 s / floor 2.00 s) | at most 1.5x | yes |" in rendered
    assert "| peak RSS | 80.2 MB | at most 250 MB | yes |" in rendered
