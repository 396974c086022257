"""One Context per command (issue 11, point 2): a command opens at most one client (and starts
the embedded service at most once), closes it when it ends, and the Context is the only place
that builds the client, the state directory and the target.

The commands run through ``presetsync.cli.main`` against the real embedded local service
(``endpoint: local``); the client class and ``start_embedded`` are wrapped only to count.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from presetsync.api import client as client_module
from presetsync.cli import main
from presetsync.local import embedded

PACKAGE = Path(__file__).resolve().parent.parent / "presetsync"
CONTEXT = "commands/context.py"
PRESETS = """presets:
  - preset: web_720p
    presettype: avop
    param: {f: mp4, VIDEO: {vb: 2.5m, width: 1280, height: 720}}
"""
MANIFEST = (
    "matrix: {sources: [/in/a.mp4, /in/b.mp4], presets: [%s], dstObjectKey: '{preset}/{stem}.mp4', dstBucket: out}\n"
)


class Opened:
    """The clients and embedded services the commands open, counted by wrapping their makers."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.clients: list[client_module.OfflineClient] = []
        self.closed: list[client_module.OfflineClient] = []
        self.services: list = []
        opened = self

        class CountedClient(client_module.OfflineClient):
            def __init__(self, *args, **options) -> None:
                super().__init__(*args, **options)
                opened.clients.append(self)

            def close(self) -> None:
                opened.closed.append(self)
                super().close()

        start = embedded.start_embedded

        def counted_start(*args, **options):
            service, credentials = start(*args, **options)
            self.services.append(service)
            return service, credentials

        monkeypatch.setattr(client_module, "OfflineClient", CountedClient)
        monkeypatch.setattr(embedded, "start_embedded", counted_start)

    def reset(self) -> None:
        self.clients.clear()
        self.closed.clear()
        self.services.clear()


@pytest.fixture
def project(tmp_path, monkeypatch, capsys):
    for name in ("KS_ACCESS_KEY_ID", "KS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "presets").mkdir()
    (tmp_path / "presets" / "web.yaml").write_text(PRESETS)
    (tmp_path / "presetsync.yaml").write_text("endpoint: local\npresets: [presets]\ntasks: {settle_grace: 0}\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(opened: Opened, capsys, *argv: str) -> tuple[int, str]:
    opened.reset()
    capsys.readouterr()
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def assert_one_client_closed(opened: Opened) -> None:
    assert len(opened.services) == 1, "the embedded service is started once per command"
    assert len(opened.clients) == 1, "one client per command"
    assert opened.closed == opened.clients, "the client is closed when the command ends"
    assert not opened.services[0].running, "the embedded service is stopped when the command ends"


def test_plan_apply_and_the_rest_open_one_client_each(project, monkeypatch, capsys):
    opened = Opened(monkeypatch)

    code, output = run(opened, capsys, "plan", "--detailed-exitcode", "-o", "web.plan")
    assert code == 2, output
    assert_one_client_closed(opened)  # GetPresetList, the target, the saved plan

    code, output = run(opened, capsys, "apply", "web.plan", "--auto-approve")
    assert code == 0, output
    assert_one_client_closed(opened)  # the target checked, the live presets read, the change written

    code, output = run(opened, capsys, "apply", "--auto-approve")
    assert code == 0, output
    assert "No changes" in output
    assert_one_client_closed(opened)

    code, output = run(opened, capsys, "export", "web_720p")
    assert code == 0, output
    assert "web_720p" in output
    assert_one_client_closed(opened)

    code, output = run(opened, capsys, "call", "GetPresetList", "withDetail=0")
    assert code == 0, output
    assert "web_720p" in json.dumps(json.loads(output))
    assert_one_client_closed(opened)


def test_tasks_commands_open_one_client_each(project, monkeypatch, capsys):
    opened = Opened(monkeypatch)
    assert run(opened, capsys, "apply", "--auto-approve")[0] == 0
    (project / "m.yaml").write_text(MANIFEST % "web_720p")

    code, output = run(opened, capsys, "tasks", "submit", "m.yaml", "--quiet")
    assert code == 0, output
    assert "Submitted 2 tasks" in output
    assert_one_client_closed(opened)  # the presets checked, the journal's target, the tasks sent

    code, output = run(opened, capsys, "tasks", "status", "m.yaml", "--format", "json")
    assert code == 0, output
    assert_one_client_closed(opened)

    code, output = run(opened, capsys, "tasks", "list", "--format", "json")
    assert code == 0, output
    assert_one_client_closed(opened)


def test_validate_opens_a_client_only_for_presets_no_file_has(project, monkeypatch, capsys):
    opened = Opened(monkeypatch)
    (project / "known.yaml").write_text(MANIFEST % "web_720p")
    (project / "unknown.yaml").write_text(MANIFEST % "only_live")

    code, output = run(opened, capsys, "validate", "presets", "known.yaml")
    assert code == 0, output
    assert (opened.services, opened.clients) == ([], []), "every preset is in the files: the service is not read"

    code, output = run(opened, capsys, "validate", "presets", "unknown.yaml")
    assert code == 1, output
    assert "only_live" in output
    assert_one_client_closed(opened)


def test_a_command_that_fails_still_closes_its_client(project, monkeypatch, capsys):
    opened = Opened(monkeypatch)
    code, output = run(opened, capsys, "tasks", "show", "0" * 40)
    assert code == 4, output
    assert_one_client_closed(opened)


# --------------------------------------------------------------------------------------------
# The Context is the only place that builds them


def _sources(package: Path) -> dict[str, ast.Module]:
    return {
        path.relative_to(package).as_posix(): ast.parse(path.read_text(encoding="utf-8"))
        for path in sorted(package.rglob("*.py"))
    }


def _called_names(call: ast.Call) -> list[str]:
    """Dotted names a call calls or hands over as a callable: ``f(...)``, ``a.b(...)``,
    ``functools.partial(f, ...)``."""
    names = []
    for node in (call.func, *call.args):
        if isinstance(node, ast.Name):
            names.append(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            names.append(f"{node.value.id}.{node.attr}")
    return names


def builders_outside_the_context(package: Path = PACKAGE) -> list[str]:
    """Where a module other than the Context opens a client or the embedded service, works
    out a target, or takes the state directory from the configuration."""
    allowed_clients = {CONTEXT, "local/server.py", "offline.py"}  # the service's own test client; the SDK shim
    found = []
    for module, tree in _sources(package).items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                names = _called_names(node)
                if module != CONTEXT and {"start_embedded", "Target.of", "open_client", "client_for"} & set(names):
                    found.append(f"{module}:{node.lineno}: {names[0]}(...)")
                if module not in allowed_clients and "OfflineClient" in names:
                    found.append(f"{module}:{node.lineno}: OfflineClient(...)")
            elif isinstance(node, ast.Attribute) and node.attr == "state_dir" and module != CONTEXT:
                through_context = isinstance(node.value, ast.Name) and node.value.id == "ctx"
                if not through_context:
                    found.append(f"{module}:{node.lineno}: .state_dir not through the Context")
    return found


def test_only_the_context_builds_the_client_the_state_dir_and_the_target():
    assert builders_outside_the_context() == []


def test_the_source_check_sees_builders(tmp_path):
    """The check above can fail: a module that works them out itself is found."""
    (tmp_path / "presets").mkdir()
    (tmp_path / "presets" / "sneaky.py").write_text(
        "def target(config, client):\n"
        "    service = start_embedded(config.state_dir)\n"
        "    return Target.of('local', client.region, 'AKLT'), OfflineClient('cn-beijing-6')\n"
    )
    assert builders_outside_the_context(tmp_path) == [
        "presets/sneaky.py:2: start_embedded(...)",
        "presets/sneaky.py:2: .state_dir not through the Context",
        "presets/sneaky.py:3: Target.of(...)",
        "presets/sneaky.py:3: OfflineClient(...)",
    ]
