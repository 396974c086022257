"""The command line: --version, --help, `call`, exit codes and redacted debug logs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from scripted import Reply, ScriptedServer

from presetsync import __version__
from presetsync.cli import main
from presetsync.errors import ApiError
from presetsync.offline import getOfflineClient

SECRET = "ExampleSecret/NeverPrintMe"
ENV = {"KS_ACCESS_KEY_ID": "AKLTEXAMPLECLI000000", "KS_SECRET_ACCESS_KEY": SECRET}


@pytest.fixture
def creds_env(monkeypatch):
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)


def run_module(*args, env=None):
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "presetsync", *args], capture_output=True, text=True, env=full_env, timeout=60
    )


def test_version_and_help_from_python_dash_m():
    assert run_module("--version").stdout.strip() == f"presetsync {__version__}"
    result = run_module("--help")
    assert result.returncode == 0
    assert "Exit codes" in result.stdout and "call" in result.stdout


def test_console_script_is_installed():
    script = shutil.which("presetsync", path=str(Path(sys.executable).parent))
    assert script, "the presetsync console script is not installed beside this Python"
    result = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == f"presetsync {__version__}"


def test_call_prints_the_answer(creds_env, capsys):
    body = {"presetList": [], "errNum": 0, "errMsg": "success"}
    with ScriptedServer([Reply(200, body)]) as server:
        code = main(["call", "GetPresetList", "withDetail=1", "presettype=avop", "--endpoint", server.url])
    assert code == 0
    assert json.loads(capsys.readouterr().out) == body
    assert server.requests[0].path == "/?withDetail=1&presettype=avop"


def test_debug_log_redacts_the_signature_and_never_shows_the_secret(creds_env):
    with ScriptedServer([Reply()]) as server:
        result = run_module("-vv", "call", "DelPreset", "preset=p1", "--endpoint", server.url, env=ENV)
    assert result.returncode == 0, result.stderr
    assert "Signature=<redacted>" in result.stderr
    assert "Credential=AKLTEXAMPLECLI000000/" in result.stderr
    assert SECRET not in result.stderr + result.stdout
    signature = dict(server.requests[0].headers)["Authorization"].split("Signature=")[1]
    assert signature not in result.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ["call", "GetTaskList", "limit=ten"],
        ["call", "GetTaskList", "nonsense"],
        ["call", "GetTaskList", "colour=1"],
        ["call", "Preset", "preset=x"],
        ["call", "Preset", "--body", "[1]"],
        ["call", "Preset", "--body", "{not json"],
        ["call", "GetPresetList", "--region", "cn\u2010beijing\u20106"],
    ],
)
def test_bad_input_exits_1_and_sends_nothing(argv, creds_env, capsys):
    with ScriptedServer([]) as server:
        assert main([*argv, "--endpoint", server.url]) == 1
    assert server.requests == []
    assert capsys.readouterr().err.startswith("presetsync: error: ")


def test_service_errors_exit_4(creds_env, capsys):
    with ScriptedServer([Reply(200, {"errNum": 1003, "errMsg": "preset not found: p1"})]) as server:
        assert main(["call", "GetPresetDetail", "preset=p1", "--endpoint", server.url]) == 4
    assert "errNum 1003: preset not found: p1" in capsys.readouterr().err


def test_missing_credentials_exit_1_naming_the_places(monkeypatch, tmp_path, capsys):
    for name in ("KS_ACCESS_KEY_ID", "KS_SECRET_ACCESS_KEY", "KSC_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    with ScriptedServer([]) as server:
        assert main(["call", "GetPresetList", "--endpoint", server.url]) == 1
    assert "no credentials found" in capsys.readouterr().err
    assert server.requests == []


def test_the_sdk_compatible_wrapper_returns_errnum_answers_and_raises_http_errors(monkeypatch):
    client = getOfflineClient("offline", "cn-beijing-6", ks_access_key_id="AKLTEXAMPLE", ks_secret_access_key="x")
    steps = [Reply(200, {"errNum": 1001, "errMsg": "preset not exist"}), Reply(400, {"Code": "Bad", "Message": "m"})]
    with ScriptedServer(steps) as server:
        client.client.endpoint = server.url
        assert client.GetPresetDetail("p1") == {"errNum": 1001, "errMsg": "preset not exist"}
        with pytest.raises(ApiError) as info:
            client.DelPreset("p1")
    assert info.value.response["Error"] == {"Code": "Bad", "Message": "m"}
    assert [r.path for r in server.requests] == ["/?preset=p1", "/?preset=p1"]
