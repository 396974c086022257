"""PyAV is optional: without it everything but real media works, and asking for real media
says how to install it. These tests hide ``av`` (``sys.modules["av"] = None``) in a
subprocess, so they run whether or not the media extra is installed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SERVE_VIA_CLI, ServeProcess

from presetsync.api.client import OfflineClient
from presetsync.api.credentials import Credentials

HIDE_AV = "import sys; sys.modules['av'] = None\n"
REPO = Path(__file__).resolve().parent.parent


def run_hidden(code: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", HIDE_AV + code, *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_the_simulated_service_and_the_command_line_never_import_av(tmp_path):
    code = """
from datetime import timezone
import presetsync.cli, presetsync.local
from presetsync.local.server import LocalService
with LocalService("db.sqlite", task_durations=(0, 0), tz=timezone.utc) as service:
    client = service.client()
    client.preset({"preset": "p1", "presettype": "avinfo", "param": {}})
    taskid = client.create_task({"preset": "p1", "srcInfo": [{"path": "/b/in.mp4"}], "dstBucket": "b",
                                 "dstObjectKey": "x"})
    assert client.get_task_meta_info(taskid=taskid)[0]["meta_info"]
assert presetsync.cli.build_parser().parse_args(["preview", "x"]).preset == "x"
print("av" in sys.modules and sys.modules["av"] is not None)
"""
    plain = subprocess.run(
        [sys.executable, "-c", "import sys\n" + code], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert (plain.returncode, plain.stdout.strip()) == (0, "False"), plain.stderr  # importable, not imported
    (tmp_path / "db.sqlite").unlink()
    hidden = run_hidden(code, cwd=tmp_path)  # av not importable: all of it still works
    assert (hidden.returncode, hidden.stdout.strip()) == (0, "False"), hidden.stderr


def test_serve_without_a_media_root_runs_without_av(tmp_path):
    popen = subprocess.Popen(
        [
            sys.executable,
            "-c",
            HIDE_AV + SERVE_VIA_CLI,
            "serve",
            "--port",
            "0",
            "--print-secret",
            "--task-seconds",
            "0",
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    process = ServeProcess(popen)
    try:
        key = process.wait_for_line("access key id: ").split(": ")[1]
        secret = process.wait_for_line("secret access key: ").split(": ")[1]
        with OfflineClient(endpoint=process.url, credentials=Credentials(key, secret)) as client:
            client.preset({"preset": "p1", "presettype": "avop", "param": {"f": "mp4"}})
            body = {"preset": "p1", "srcInfo": [{"path": "/b/in.mp4"}], "dstBucket": "b", "dstObjectKey": "o.mp4"}
            taskid = client.create_task(body)
            assert client.get_task_by_task_id(taskid=taskid)["taskStatus"] == "succ"
        assert process.stop() == 0
    finally:
        process.kill()


def test_media_root_and_preview_without_av_say_how_to_install_it(tmp_path):
    (tmp_path / "media").mkdir()
    (tmp_path / "p.yaml").write_text("preset: p1\npresettype: avop\nparam: {f: mp4}\n", encoding="utf-8")
    main = "from presetsync.cli import main; sys.exit(main(sys.argv[1:]))"

    serve = run_hidden(main, "serve", "--port", "0", "--media-root", "media", cwd=tmp_path)
    preview = run_hidden(main, "preview", "p.yaml", cwd=tmp_path)

    for done in (serve, preview):
        assert done.returncode == 1
        assert "PyAV is not available" in done.stderr
        assert "pip install 'presetsync[media]'" in done.stderr
        assert "Traceback" not in done.stderr
    assert "listening" not in serve.stdout


def test_the_media_tests_are_skipped_with_a_reason_without_av(tmp_path):
    code = "import pytest; sys.exit(pytest.main(sys.argv[1:]))"
    files = ["tests/test_media_service.py", "tests/test_preview.py"]

    done = run_hidden(code, *files, "-q", "-rs", "-p", "no:cacheprovider", "--basetemp", str(tmp_path), cwd=REPO)

    assert done.returncode == pytest.ExitCode.NO_TESTS_COLLECTED, done.stdout + done.stderr  # skipped whole
    assert "2 skipped" in done.stdout
    assert "PyAV is not installed: pip install 'presetsync[media]' to run the media tests" in done.stdout
    assert "PyAV is not installed: pip install 'presetsync[media]' to run the preview tests" in done.stdout
