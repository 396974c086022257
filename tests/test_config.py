"""presetsync.yaml: defaults, discovery, relative paths, and every problem with file:line:col."""

from __future__ import annotations

from pathlib import Path

import pytest

from presetsync.config import Config, Safety, load_config
from presetsync.errors import ConfigError, InputError

ROOT = Path(__file__).resolve().parent.parent


def _write(directory: Path, text: str, name: str = "presetsync.yaml") -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _problems(excinfo: pytest.ExceptionInfo) -> list[str]:
    return [str(p) for p in excinfo.value.problems]


def test_without_a_file_the_defaults_apply(tmp_path: Path):
    config = load_config(cwd=tmp_path)
    assert config == Config(
        path=None,
        base_dir=tmp_path,
        presets=[tmp_path / "presets"],
        safety=Safety(max_deletes=None, max_change_percent=30, min_existing=10),
    )
    assert config.manage == [] and config.protect == [] and config.prune is False and config.parallelism == 4
    assert config.endpoint is None and config.region is None and config.extra_fields == {} and config.tasks == {}


@pytest.mark.parametrize("name", ["presetsync.yaml", "presetsync.yml"])
def test_the_file_in_the_working_directory_is_found(tmp_path: Path, name: str):
    _write(tmp_path, "prune: true\n", name)
    config = load_config(cwd=tmp_path)
    assert config.path == tmp_path / name and config.prune is True


def test_both_spellings_at_once_are_refused(tmp_path: Path):
    _write(tmp_path, "prune: true\n", "presetsync.yaml")
    _write(tmp_path, "prune: false\n", "presetsync.yml")
    with pytest.raises(ConfigError, match="keep one of them"):
        load_config(cwd=tmp_path)


def test_a_named_file_that_does_not_exist_is_an_error(tmp_path: Path):
    with pytest.raises(ConfigError, match="no such configuration file"):
        load_config(tmp_path / "other.yaml")


def test_every_setting_is_read(tmp_path: Path):
    path = _write(
        tmp_path / "conf",
        """\
endpoint: https://offline.example.com/base
region: cn-shanghai-2
presets: [presets, ../shared/more.yaml, /abs/dir]
manage: ["web_*", "hls_*"]
protect: [legacy_*]
prune: true
safety: {max_deletes: 3, max_change_percent: 12.5, min_existing: 0}
parallelism: 8
extra_fields:
  avop: [VIDEO.gop, clearmeta]
  avm3u8: [AUDIO.profile]
tasks: {anything: {goes: [1, 2]}}
""",
    )
    config = load_config(path)
    assert config.endpoint == "https://offline.example.com/base"
    assert config.region == "cn-shanghai-2"
    assert config.base_dir == tmp_path / "conf"
    assert config.presets == [tmp_path / "conf" / "presets", tmp_path / "shared" / "more.yaml", Path("/abs/dir")]
    assert config.manage == ["web_*", "hls_*"] and config.protect == ["legacy_*"] and config.prune is True
    assert config.safety == Safety(max_deletes=3, max_change_percent=12.5, min_existing=0)
    assert config.parallelism == 8
    assert config.extra_fields == {"avop": ("VIDEO.gop", "clearmeta"), "avm3u8": ("AUDIO.profile",)}
    assert config.extra_fields_for("avop") == ("VIDEO.gop", "clearmeta") and config.extra_fields_for("avinfo") == ()
    assert config.tasks == {"anything": {"goes": [1, 2]}}


def test_preset_paths_are_relative_to_the_config_file_not_the_working_directory(tmp_path: Path):
    path = _write(tmp_path / "project", "presets: [presets]\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    config = load_config(Path("../project/presetsync.yaml"), cwd=elsewhere)
    assert config.presets == [tmp_path / "project" / "presets"]
    assert config.path == path


def test_an_empty_file_means_the_defaults(tmp_path: Path):
    path = _write(tmp_path, "# nothing configured yet\n")
    config = load_config(path)
    assert config.path == path and config.presets == [tmp_path / "presets"] and config.parallelism == 4


def test_unknown_keys_are_reported_with_a_suggestion_and_a_position(tmp_path: Path):
    path = _write(tmp_path, "endpoint: local\nprunee: true\nsafety:\n  max_delete: 3\n")
    with pytest.raises(ConfigError) as excinfo:
        load_config(path)
    assert _problems(excinfo) == [
        f"{path}:2:1: unknown key 'prunee'; did you mean 'prune'?",
        f"{path}:4:3: unknown key 'max_delete' in safety; did you mean 'max_deletes'?",
    ]
    assert excinfo.value.exit_code == 1 and isinstance(excinfo.value, InputError)
    assert str(excinfo.value).splitlines()[0] == "invalid configuration (2 problems):"
    assert f"{path}:2:1: unknown key 'prunee'" in str(excinfo.value)


def test_bad_types_and_values_are_all_reported_at_once(tmp_path: Path):
    path = _write(
        tmp_path,
        """\
endpoint: ftp://example.com
region: Beijing
presets: presets
manage: [1]
prune: "yes"
safety:
  max_deletes: -1
  max_change_percent: 150
parallelism: 0
extra_fields:
  avopp: [x]
  avop: [VIDEO gop]
tasks: []
""",
    )
    with pytest.raises(ConfigError) as excinfo:
        load_config(path)
    assert _problems(excinfo) == [
        f"{path}:1:11: invalid service endpoint 'ftp://example.com': use an http:// or https:// URL, or 'local'",
        f"{path}:2:9: invalid region 'Beijing': use a region name such as cn-beijing-6",
        f"{path}:3:10: 'presets' must be a list, not a string ('presets')",
        f"{path}:4:10: 'manage[0]' must be a string, not an integer (1)",
        f"{path}:5:8: 'prune' must be true or false, not a string ('yes')",
        f"{path}:7:16: 'safety.max_deletes' -1 is too small: the minimum is 0",
        f"{path}:8:23: 'safety.max_change_percent' 150 is too large: the maximum is 100",
        f"{path}:9:14: 'parallelism' 0 is too small: the minimum is 1",
        f"{path}:11:3: unknown key 'avopp' in extra_fields; did you mean 'avop'?",
        f"{path}:12:10: invalid field path 'VIDEO gop': write a dotted field path such as VIDEO.gop",
        f"{path}:13:8: 'tasks' must be a mapping, not a list",
    ]


def test_yaml_problems_in_the_config_are_reported_with_positions(tmp_path: Path):
    path = _write(tmp_path, "prune: true\nprune: false\nmanage: [a, b\n")
    with pytest.raises(ConfigError) as excinfo:
        load_config(path)
    assert len(excinfo.value.problems) == 1
    assert str(excinfo.value.problems[0]).startswith(f"{path}:4:1: YAML syntax error")


def test_duplicate_keys_in_the_config_are_reported(tmp_path: Path):
    path = _write(tmp_path, "prune: true\nprune: false\n")
    with pytest.raises(ConfigError) as excinfo:
        load_config(path)
    assert _problems(excinfo) == [
        f"{path}:2:1: duplicate key 'prune' in the same mapping (first defined at line 1); YAML keeps only one of them"
    ]


def test_a_config_that_is_not_a_mapping_is_refused(tmp_path: Path):
    path = _write(tmp_path, "- presets\n")
    with pytest.raises(ConfigError, match="must be a mapping of settings"):
        load_config(path)


def test_the_example_configuration_loads():
    config = load_config(ROOT / "examples" / "presetsync.yaml")
    assert config.endpoint == "local"
    assert config.presets == [ROOT / "examples" / "presets"]
    assert config.manage == ["*"] and config.prune is False
