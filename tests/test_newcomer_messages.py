"""Messages a newcomer understands: an empty directory says there is no presetsync.yaml and
what to do; live presets the files do not declare are counted, with the --prune / manage:
hint, when the plan would otherwise just say "No changes"; the confirmation prompt says what it
accepts and accepts only that; `presetsync` alone prints help and exits 1; `presetsync
completion bash|zsh` prints a script that offers the commands."""

from __future__ import annotations

import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from test_apply import Repo, preset

from presetsync.cli import main
from presetsync.config import NO_CONFIG


@pytest.fixture
def repo(tmp_path, local_service, capsys, monkeypatch) -> Repo:
    creds = local_service.credentials
    monkeypatch.setenv("KS_ACCESS_KEY_ID", creds.access_key_id)
    monkeypatch.setenv("KS_SECRET_ACCESS_KEY", creds.secret_access_key)
    return Repo(tmp_path, local_service, capsys)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# --------------------------------------------------------------------------------------------
# No configuration


@pytest.mark.parametrize("command", [["validate"], ["lint"], ["plan"], ["apply", "--auto-approve"]], ids=" ".join)
def test_an_empty_directory_says_there_is_no_presetsync_yaml(command, tmp_path, local_service, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KS_ACCESS_KEY_ID", local_service.credentials.access_key_id)
    monkeypatch.setenv("KS_SECRET_ACCESS_KEY", local_service.credentials.secret_access_key)
    extra = ["--endpoint", local_service.url] if command[0] in ("plan", "apply") else []
    code, out, err = run(capsys, *command, *extra)
    assert code == 1
    assert err == (
        f"presetsync: error: {NO_CONFIG} and no presets/ directory; or name the preset files on the command line\n"
    )
    assert "no such file or directory" not in out + err
    assert local_service.stats.total == 0, "nothing was sent"


def test_without_presetsync_yaml_a_presets_directory_or_named_files_are_read(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    body = {"presets": [preset("web_720p")]}
    (tmp_path / "web.yaml").write_text(yaml.safe_dump(body), encoding="utf-8")
    assert run(capsys, "validate", "web.yaml")[:2] == (0, "1 file, 1 preset: ok\n")
    (tmp_path / "presets").mkdir()
    (tmp_path / "web.yaml").rename(tmp_path / "presets" / "web.yaml")
    assert run(capsys, "validate")[:2] == (0, "1 file, 1 preset: ok\n")


def test_a_config_file_with_a_missing_presets_path_still_names_the_path(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "presetsync.yaml").write_text("presets: [presets]\n", encoding="utf-8")
    code, out, _ = run(capsys, "validate")
    assert code == 1 and out.startswith("presets: no such file or directory"), "the config names it: not a newcomer"


# --------------------------------------------------------------------------------------------
# Live presets the files do not declare


def test_after_removing_a_presets_file_plan_counts_the_live_preset_and_hints_manage_and_prune(repo):
    repo.write("a.yaml", preset("web_720p"))
    repo.write("b.yaml", preset("web_480p"))
    assert repo.apply()[0] == 0
    repo.remove("b.yaml")
    code, out, err = repo.run("plan")
    assert code == 0 and "No changes." in out
    assert err == (
        "Note: 1 live preset(s) are not in the files; presetsync leaves them alone. To let --prune delete such "
        "presets, claim their names with manage: globs in presetsync.yaml (see README).\n"
    )
    code, out, err = repo.apply()
    assert code == 0 and "Note: 1 live preset(s) are not in the files" in err, "apply says it too"


def test_managed_presets_missing_from_the_files_hint_prune_until_it_is_given(repo):
    repo.config({"manage": ["web_*"]})
    repo.write("a.yaml", *(preset(f"web_{height}p") for height in (720, 480, 360, 240, 144)))
    assert repo.apply()[0] == 0
    repo.service.client().preset(preset("other"))  # not managed: left alone, no hint (manage: is set)
    repo.write("a.yaml", preset("web_720p"))
    code, out, err = repo.run("plan")
    assert code == 0 and "No changes." in out
    assert err == (
        "Note: 4 managed live preset(s) are not in the files (web_144p, web_240p, web_360p and 1 more): "
        "--prune (or prune: true in presetsync.yaml) deletes them.\n"
    )
    code, out, err = repo.run("plan", "--prune")
    assert code == 0 and "Note:" not in err
    assert out.count("- web_") == 4, out


def test_no_note_when_the_files_declare_every_live_preset(repo):
    repo.write("a.yaml", preset("web_720p"))
    assert repo.apply()[0] == 0
    code, _, err = repo.run("plan", "--format", "json")
    assert code == 0 and err == ""


# --------------------------------------------------------------------------------------------
# The confirmation prompt, on a real terminal


def _apply_answering(repo: Repo, answer: str) -> str:
    """Run apply with its standard input on a pty where *answer* was typed; its output."""
    leader, follower = pty.openpty()
    os.write(leader, answer.encode())
    try:
        process = subprocess.run(
            [sys.executable, "-m", "presetsync", "apply", "-c", str(repo.root / "presetsync.yaml")],
            stdin=follower,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(follower)
        os.close(leader)
    assert process.returncode == 0, process.stderr
    return process.stdout


@pytest.mark.parametrize(("answer", "applied"), [("y\n", False), ("Y\n", False), ("no\n", False), ("yes\n", True)])
def test_the_prompt_says_only_yes_applies_and_only_yes_does(repo, answer, applied):
    repo.write("a.yaml", preset("web_720p"))
    out = _apply_answering(repo, answer)
    assert "Apply these changes? Type 'yes' to apply, anything else cancels: " in out
    assert "[y/N]" not in out
    assert ("web_720p" in repo.live()) is applied
    assert ("Apply cancelled; nothing was changed." in out) is not applied


# --------------------------------------------------------------------------------------------
# presetsync alone, shell completion


def test_presetsync_alone_prints_help_and_exits_1(capsys):
    code, out, err = run(capsys)
    assert code == 1 and out == ""
    assert err.startswith("usage: presetsync") and "completion" in err


def _bash_complete(script: Path, words: list[str], cwd: Path) -> list[str]:
    """What bash offers for the command line *words* (the last one being completed)."""
    quoted = " ".join(f"'{w}'" for w in words)
    program = (
        f"source '{script}'\n"
        f"COMP_WORDS=({quoted}); COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))\n"
        'COMP_LINE="${COMP_WORDS[*]}"; COMP_POINT=${#COMP_LINE}\n'
        '_shtab_presetsync presetsync "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"\n'
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    done = subprocess.run(["bash", "-c", program], cwd=cwd, capture_output=True, text=True, timeout=60, check=True)
    return sorted(line for line in done.stdout.splitlines() if line)


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_the_bash_completion_script_offers_commands_options_choices_and_files(tmp_path, capsys):
    code, script, _ = run(capsys, "completion", "bash")
    assert code == 0
    path = tmp_path / "completion" / "presetsync.bash"
    path.parent.mkdir()
    path.write_text(script, encoding="utf-8")
    (tmp_path / "presets").mkdir()
    commands = ["apply", "call", "completion", "export", "lint", "plan", "preview", "serve", "tasks", "validate"]
    assert _bash_complete(path, ["presetsync", ""], tmp_path) == commands
    assert _bash_complete(path, ["presetsync", "tasks", "s"], tmp_path) == ["show", "status", "submit"]
    assert _bash_complete(path, ["presetsync", "plan", "--fo"], tmp_path) == ["--format"]
    assert _bash_complete(path, ["presetsync", "plan", "--format", ""], tmp_path) == ["json", "markdown", "text"]
    assert _bash_complete(path, ["presetsync", "validate", "pre"], tmp_path) == ["presets"]
    assert _bash_complete(path, ["presetsync", "completion", ""], tmp_path) == ["bash", "zsh"]


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_the_zsh_completion_script_offers_the_commands(tmp_path, capsys):
    code, script, _ = run(capsys, "completion", "zsh")
    assert code == 0 and script.startswith("#compdef presetsync")
    path = tmp_path / "_presetsync"
    path.write_text(script, encoding="utf-8")
    program = (  # zsh's _describe and compdef stubbed: print the names the script offers
        "compdef() { :; }\n"
        '_describe() { local -a items; items=("${(@P)2}"); print -l -- ${items%%:*}; }\n'
        f'eval "$(<{path})"\n'
        "_shtab_presetsync_commands; print -- --; _shtab_presetsync_tasks_commands\n"
    )
    done = subprocess.run(["zsh", "-f", "-c", program], capture_output=True, text=True, timeout=60, check=True)
    commands, tasks = done.stdout.split("--\n")
    assert commands.split() == ["apply", "call", "completion", "export", "lint", "plan", "preview", "serve", "tasks",
                                "validate"]  # fmt: skip
    assert tasks.split() == ["delete", "list", "meta", "retry", "show", "status", "submit", "top", "wait"]


def test_an_unknown_shell_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit:
        main(["completion", "fish"])
    assert exit.value.code == 1 and "invalid choice: 'fish'" in capsys.readouterr().err
