"""The pre-commit hook checks presetsync's files and leaves every other YAML file alone.

The hook is run as pre-commit runs it: the ``entry`` of ``.pre-commit-hooks.yaml`` exactly as
declared (split as a shell would), its ``args``, then the tracked files that its ``files`` /
``exclude`` patterns match, in a temporary git repository that also holds a
docker-compose.yml, a Taskfile.yml, a GitLab CI file, a Kubernetes manifest and a YAML file
with a syntax error.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
HOOK = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}["presetsync-validate"]

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

PRESETS = """presets:
  - preset: web_720p
    presettype: avop
    param:
      f: mp4
      VIDEO: {vcodec: h264, vb: 2.5m, width: 1280, height: 720}
"""
MANIFEST = """tasks:
  - preset: web_720p
    srcInfo: [{path: /media-in/intro.mp4, type: video}]
    dstBucket: media-out
    dstObjectKey: intro/720p.mp4
"""
OTHERS = {
    "docker-compose.yml": "services:\n  web: {image: nginx, ports: ['8080:80']}\n",
    "Taskfile.yml": "version: '3'\ntasks:\n  build: {cmds: [make]}\n",
    ".gitlab-ci.yml": "stages: [test]\ndefault: {image: python:3.11}\ntest: {script: [pytest]}\n",
    "k8s/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\n",
    "broken.yaml": "key: [unclosed\n",
    "presets/.drafts/wip.yaml": "not: a preset\n",  # hidden: validate skips it too
}


def write(repo: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository with a presetsync.yaml, a preset file, a task manifest outside the
    preset paths, and other YAML files."""
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    write(
        repo,
        {
            # an endpoint nothing listens on: the hook must not need the service
            "presetsync.yaml": "endpoint: http://127.0.0.1:9\npresets: [presets]\n",
            "presets/web.yaml": PRESETS,
            "tasks/intro.yaml": MANIFEST,
            **OTHERS,
        },
    )
    return repo


def hook_files(repo: Path) -> list[str]:
    """The files pre-commit passes with --all-files: tracked ones matching files, not exclude."""
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    tracked = subprocess.run(["git", "ls-files"], cwd=repo, check=True, capture_output=True, text=True).stdout
    files = [f for f in tracked.splitlines() if re.search(HOOK.get("files", ""), f)]
    return [f for f in files if not (HOOK.get("exclude") and re.search(HOOK["exclude"], f))]


def run_hook(repo: Path, files: list[str]) -> subprocess.CompletedProcess:
    """The hook's entry as declared; its first word is the console script of this environment."""
    program, *args = shlex.split(HOOK["entry"])
    command = [str(Path(sys.executable).parent / program), *args, *HOOK.get("args", []), *files]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KS_", "KSC_", "PRESETSYNC_"))}
    env["HOME"] = str(repo.parent)  # no credentials file either
    return subprocess.run(command, cwd=repo, capture_output=True, text=True, env=env, timeout=120)


def test_the_hook_is_declared_for_yaml_files_and_filenames():
    assert HOOK["language"] == "python"
    assert HOOK["pass_filenames"] is True
    assert shlex.split(HOOK["entry"]) == ["presetsync", "validate", "--only-configured"]


def test_the_hook_checks_the_preset_file_and_the_manifest_only(repo):
    files = hook_files(repo)
    assert "docker-compose.yml" in files and "presets/web.yaml" in files, "pre-commit hands over every YAML file"

    result = run_hook(repo, files)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == "2 files, 1 preset, 1 manifest with 1 task: ok\n"
    assert result.stderr == ""


def test_problems_are_reported_in_presetsync_files_and_nowhere_else(repo):
    write(repo, {"presets/web.yaml": PRESETS.replace("    param:\n      f: mp4\n", "    parm:\n      f: mp4\n")})
    write(repo, {"tasks/intro.yaml": MANIFEST.replace("dstBucket", "dstBuckett")})
    result = run_hook(repo, hook_files(repo))
    assert result.returncode == 1
    files = {line.split(":")[0] for line in result.stdout.splitlines() if re.match(r"\S+:\d+:\d+: ", line)}
    assert files == {"presets/web.yaml", "tasks/intro.yaml"}, result.stdout
    assert "docker-compose" not in result.stdout and "Taskfile" not in result.stdout and "broken" not in result.stdout
    assert "Traceback" not in result.stderr


def test_a_commit_without_presetsync_files_passes_silently(repo):
    result = run_hook(repo, sorted(OTHERS))
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_a_manifest_is_recognised_by_its_schema_line_even_when_its_keys_are_wrong(repo):
    schema_line = "# yaml-language-server: $schema=../schemas/task-manifest.schema.json\n"
    write(repo, {"jobs/nightly.yaml": schema_line + "version: 2\n" + MANIFEST})
    result = run_hook(repo, ["jobs/nightly.yaml", "Taskfile.yml"])
    assert result.returncode == 1
    assert re.search(r"^jobs/nightly\.yaml:2:1: .*version", result.stdout, re.M), result.stdout
    assert "Taskfile" not in result.stdout


def test_the_old_entry_fails_on_other_yaml_files(repo):
    """Without --only-configured, validate checks what it is given: the issue's complaint."""
    command = [str(Path(sys.executable).parent / "presetsync"), "validate", "docker-compose.yml"]
    result = subprocess.run(command, cwd=repo, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "docker-compose.yml:1:1:" in result.stdout


@pytest.mark.skipif(
    not os.environ.get("PRESETSYNC_TEST_PRE_COMMIT"),
    reason="set PRESETSYNC_TEST_PRE_COMMIT=1 to run pre-commit itself (it builds the hook's virtualenv: ~25 s)",
)
def test_pre_commit_itself_runs_the_hook(repo, tmp_path):
    pytest.importorskip("pre_commit", reason="pre-commit is not installed")
    # pre-commit installs the hook from a git repository: this work tree, committed in a copy
    source = tmp_path / "presetsync-src"
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True, capture_output=True
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid"]
    subprocess.run(["git", "init", "-q"], cwd=source, check=True)
    subprocess.run(["git", "add", "-A"], cwd=source, check=True)
    subprocess.run([*git, "commit", "-qm", "snapshot"], cwd=source, check=True)
    rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=source, check=True, capture_output=True, text=True)
    config = {"repos": [{"repo": str(source), "rev": rev.stdout.strip(), "hooks": [{"id": "presetsync-validate"}]}]}
    write(repo, {".pre-commit-config.yaml": yaml.safe_dump(config)})
    write(repo, {"presets/web.yaml": PRESETS.replace("    param:\n      f: mp4\n", "    parm:\n      f: mp4\n")})
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}
    command = [sys.executable, "-m", "pre_commit", "run", "--all-files"]
    result = subprocess.run(command, cwd=repo, capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "presets/web.yaml:4:5: unknown field 'parm'" in result.stdout
    assert "docker-compose" not in result.stdout and "Taskfile" not in result.stdout

    write(repo, {"presets/web.yaml": PRESETS})
    result = subprocess.run(command, cwd=repo, capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
