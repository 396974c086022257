"""``presetsync serve``: output, accounts, options, clean stops, and the embedded service."""

from __future__ import annotations

import argparse
import re
import signal
import socket

import pytest
import requests

from presetsync import cli
from presetsync.api.client import OfflineClient
from presetsync.api.credentials import Credentials
from presetsync.commands.serve import DEFAULT_DB, parse_task_seconds, register, run_serve
from presetsync.errors import ApiError, ConfigError
from presetsync.local.embedded import start_embedded
from presetsync.local.store import Store

DEV_KEY_LINE = r"access key id: (AKLTLOCAL[0-9A-F]+)$"
SECRET_LINE = r"secret access key: (\S+)$"
TASK = {"preset": "web", "srcInfo": [{"path": "/b/a.mp4"}], "dstBucket": "b", "dstObjectKey": "a.mp4"}


def subparsers_of(parser: argparse.ArgumentParser):
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))


@pytest.fixture
def cli_with_serve(monkeypatch):
    """presetsync.cli.main with the serve command registered (as cli.py will do it)."""
    build = cli.build_parser

    def build_parser():
        parser = build()
        sub = subparsers_of(parser)
        if "serve" not in sub.choices:
            register(sub)
        return parser

    monkeypatch.setattr(cli, "build_parser", build_parser)
    return cli.main


def test_register_adds_serve_with_its_options():
    parser = cli.build_parser()
    sub = subparsers_of(parser)
    if "serve" not in sub.choices:
        register(sub)

    defaults = parser.parse_args(["serve"])
    args = parser.parse_args(
        [
            *("serve", "--host", "0.0.0.0", "--port", "0", "--db", "x.sqlite", "--accounts", "a.yaml"),
            *("--print-secret", "--latency", "5", "--fail-rate", "0.1", "--throttle-rate", "0.2"),
            *("--drop-rate", "0.3", "--seed", "9", "--task-seconds", "1,2"),
        ]
    )

    assert defaults.func is run_serve
    assert (defaults.host, defaults.port, defaults.db, defaults.accounts) == ("127.0.0.1", 8000, DEFAULT_DB, None)
    assert (args.host, args.port, args.db, args.accounts, args.print_secret) == (
        "0.0.0.0",
        0,
        "x.sqlite",
        "a.yaml",
        True,
    )
    assert (args.latency, args.fail_rate, args.throttle_rate, args.drop_rate, args.seed) == (5, 0.1, 0.2, 0.3, 9)
    assert args.task_seconds == "1,2"


def test_serve_prints_its_url_and_key_but_not_the_secret(serve_process, tmp_path):
    process = serve_process("--port", "0", "--db", "state.sqlite")
    key = re.search(DEV_KEY_LINE, process.wait_for_line(DEV_KEY_LINE)).group(1)

    refused = requests.get(process.url, timeout=30)
    code = process.stop(signal.SIGTERM)

    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", process.url)
    assert process.lines[0].endswith(process.url)
    assert refused.status_code == 403 and refused.json()["Error"]["Code"] == "MissingAuthenticationToken"
    assert code == 0
    store = Store(tmp_path / "state.sqlite")
    with store.transaction() as tx:
        stored_key, secret = tx.first_account()
    store.close()
    assert stored_key == key
    assert secret not in "\n".join(process.lines) + process.popen.stderr.read()


def test_print_secret_and_a_restart_keeps_account_and_state(serve_process):
    first = serve_process("--port", "0", "--db", "kept.sqlite", "--print-secret")
    key = re.search(DEV_KEY_LINE, first.wait_for_line(DEV_KEY_LINE)).group(1)
    secret = re.search(SECRET_LINE, first.wait_for_line(SECRET_LINE)).group(1)
    with OfflineClient(endpoint=first.url, credentials=Credentials(key, secret)) as client:
        client.preset({"preset": "web", "presettype": "avop", "param": {"f": "mp4"}})
    assert first.stop(signal.SIGINT) == 0

    second = serve_process("--port", "0", "--db", "kept.sqlite")
    again = re.search(DEV_KEY_LINE, second.wait_for_line(DEV_KEY_LINE)).group(1)
    with OfflineClient(endpoint=second.url, credentials=Credentials(key, secret)) as client:
        names = [p["preset"] for p in client.get_preset_list(withDetail=0)]

    assert again == key
    assert names == ["web"]
    assert not any(secret in line for line in second.lines)
    assert second.stop(signal.SIGTERM) == 0


def test_serve_with_an_accounts_file_prints_no_dev_key(serve_process, accounts_file, example_accounts):
    process = serve_process("--port", "0", "--accounts", str(accounts_file), "--task-seconds", "10,20")
    key, secret = next(iter(example_accounts.items()))

    with OfflineClient(endpoint=process.url, credentials=Credentials(key, secret)) as client:
        client.preset({"preset": "web", "presettype": "avop", "param": {"f": "mp4"}})
        status = client.get_task_by_task_id(taskid=client.create_task(TASK))["taskStatus"]
    code = process.stop(signal.SIGTERM)

    assert status == "init"  # --task-seconds 10,20: still queued right after creation
    assert code == 0
    assert not any("access key" in line for line in process.lines)


def test_serve_injects_the_faults_it_is_given(serve_process):
    failing = serve_process("--port", "0", "--db", "f.sqlite", "--fail-rate", "1")
    throttling = serve_process("--port", "0", "--db", "t.sqlite", "--throttle-rate", "1", "--seed", "4")

    assert {requests.get(failing.url, timeout=30).status_code for _ in range(5)} == {503}
    assert {requests.get(throttling.url, timeout=30).status_code for _ in range(5)} == {429}


def test_python_dash_m_presetsync_local_serves_too(serve_process):
    process = serve_process("--port", "0", "--db", "m.sqlite", module=True)

    assert requests.get(process.url, timeout=30).status_code == 403
    assert process.stop(signal.SIGINT) == 0


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--accounts", "missing.yaml"], "missing.yaml: cannot read it"),
        (["--fail-rate", "2"], "fail rate must be between 0 and 1"),
        (["--fail-rate", "0.6", "--drop-rate", "0.6"], "add up to at most 1"),
        (["--task-seconds", "soon"], "--task-seconds"),
        (["--port", "70000"], "--port"),
    ],
)
def test_bad_options_exit_1_before_serving(cli_with_serve, capsys, tmp_path, monkeypatch, args, problem):
    monkeypatch.chdir(tmp_path)

    code = cli_with_serve(["serve", "--port", "0", *args])

    assert code == 1
    assert problem in capsys.readouterr().err
    assert not (tmp_path / ".presetsync").exists()


def test_bad_accounts_file_names_the_file(cli_with_serve, capsys, tmp_path):
    bad = tmp_path / "accounts.yaml"
    bad.write_text("accounts:\n  - access_key_id: AKLTEXAMPLE1\n", encoding="utf-8")

    code = cli_with_serve(["serve", "--port", "0", "--db", str(tmp_path / "x.sqlite"), "--accounts", str(bad)])

    assert code == 1
    assert f"{bad}: accounts[0]: secret_access_key is missing" in capsys.readouterr().err


def test_a_port_in_use_is_a_clear_error(cli_with_serve, capsys, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        code = cli_with_serve(["serve", "--port", str(port), "--db", str(tmp_path / "x.sqlite")])

    assert code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "durations"),
    [(None, (1.0, 2.0)), ("0", (0.0, 0.0)), ("3", (1.0, 2.0)), ("0.5,4", (0.5, 4.0))],
)
def test_parse_task_seconds(text, durations):
    assert parse_task_seconds(text) == durations


@pytest.mark.parametrize("text", ["-1", "1,2,3", "a,b", "1,-2", ""])
def test_parse_task_seconds_refuses_nonsense(text):
    with pytest.raises(ConfigError, match="--task-seconds"):
        parse_task_seconds(text)


def test_embedded_service_keeps_state_beside_the_config(tmp_path):
    state = tmp_path / "project" / ".presetsync"
    service, creds = start_embedded(state, task_durations=(0, 0))
    try:
        with OfflineClient(endpoint=service.url, credentials=creds) as client:
            client.preset({"preset": "web", "presettype": "avop", "param": {"f": "mp4"}})
    finally:
        service.stop()

    again, creds_again = start_embedded(state)
    try:
        with OfflineClient(endpoint=again.url, credentials=creds_again) as client:
            detail = client.call("GetPresetDetail", {"preset": "web"})
        with OfflineClient(endpoint=again.url, credentials=Credentials(creds.access_key_id, "wrong")) as client:
            with pytest.raises(ApiError) as refused:
                client.get_preset_list(withDetail=0)
    finally:
        again.stop()

    assert (state / "local.sqlite").is_file()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", service.url)
    assert creds.access_key_id.startswith("AKLTLOCAL")
    assert (creds_again.access_key_id, creds_again.secret_access_key) == (creds.access_key_id, creds.secret_access_key)
    assert detail["errNum"] == 0
    assert refused.value.status == 403
