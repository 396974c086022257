"""The credentials chain, in the official SDK's order, with real files in temporary dirs."""

from __future__ import annotations

import logging
import os

import pytest

from presetsync.api.credentials import find_ks_domain, resolve_credentials
from presetsync.errors import CredentialsError


@pytest.fixture
def place(tmp_path, monkeypatch):
    """An isolated world: an empty environment, a home, a working directory, no /etc file."""
    import presetsync.api.credentials as credentials

    monkeypatch.setattr(credentials, "ETC_KSCORE", str(tmp_path / "etc" / "kscore.cfg"))
    home, cwd = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    cwd.mkdir()
    return {"environ": {}, "home": home, "cwd": cwd}


def write(path, text, mode=0o600):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    os.chmod(path, mode)
    return path


def ksc_cfg(key, secret="ExampleSecretFromCfg", domain=None):
    text = f"[Credentials]\nks_access_key_id={key}\nks_secret_access_key={secret}\n"
    if domain:
        text += f"[Domain]\nks_domain={domain}\n"
    return text


def test_explicit_arguments_win_over_everything(place):
    place["environ"].update(KS_ACCESS_KEY_ID="AKLTEXAMPLEENV", KS_SECRET_ACCESS_KEY="env-secret")
    write(place["cwd"] / ".kscore.cfg", ksc_cfg("AKLTEXAMPLECFG"))
    creds = resolve_credentials("AKLTEXAMPLEARG", "arg-secret", **place)
    assert (creds.access_key_id, creds.secret_access_key, creds.source) == (
        "AKLTEXAMPLEARG",
        "arg-secret",
        "explicit arguments",
    )


def test_half_explicit_arguments_are_an_error(place):
    with pytest.raises(CredentialsError, match="both"):
        resolve_credentials("AKLTEXAMPLEARG", None, **place)


def test_environment_beats_config_files_and_carries_a_token(place):
    place["environ"].update(
        KS_ACCESS_KEY_ID="AKLTEXAMPLEENV", KS_SECRET_ACCESS_KEY="env-secret", KS_SESSION_TOKEN="tok"
    )
    write(place["cwd"] / ".kscore.cfg", ksc_cfg("AKLTEXAMPLECFG"))
    creds = resolve_credentials(**place)
    assert (creds.access_key_id, creds.token) == ("AKLTEXAMPLEENV", "tok")
    assert "environment" in creds.source


def test_security_token_is_preferred_to_session_token(place):
    place["environ"].update(
        KS_ACCESS_KEY_ID="AKLTEXAMPLEENV", KS_SECRET_ACCESS_KEY="s", KS_SECURITY_TOKEN="sec", KS_SESSION_TOKEN="ses"
    )
    assert resolve_credentials(**place).token == "sec"


def test_env_key_without_secret_is_an_error(place):
    place["environ"]["KS_ACCESS_KEY_ID"] = "AKLTEXAMPLEENV"
    with pytest.raises(CredentialsError, match="KS_SECRET_ACCESS_KEY is not"):
        resolve_credentials(**place)


def test_ksc_config_env_is_the_only_kscore_file_read(place, tmp_path):
    chosen = write(tmp_path / "elsewhere.cfg", ksc_cfg("AKLTEXAMPLECHOSEN"))
    write(place["cwd"] / ".kscore.cfg", ksc_cfg("AKLTEXAMPLECWD"))
    place["environ"]["KSC_CONFIG"] = str(chosen)
    creds = resolve_credentials(**place)
    assert creds.access_key_id == "AKLTEXAMPLECHOSEN"
    assert str(chosen) in creds.source


def test_dot_kscore_cfg_in_the_working_directory(place):
    write(place["cwd"] / ".kscore.cfg", ksc_cfg("AKLTEXAMPLECWD", "per%cent"))
    creds = resolve_credentials(**place)
    assert creds.access_key_id == "AKLTEXAMPLECWD"
    assert creds.secret_access_key == "per%cent", "values are read raw, with no % interpolation"


def test_etc_kscore_cfg_beats_the_working_directory(place, tmp_path):
    write(tmp_path / "etc" / "kscore.cfg", ksc_cfg("AKLTEXAMPLEETC"))
    write(place["cwd"] / ".kscore.cfg", ksc_cfg("AKLTEXAMPLECWD"))
    assert resolve_credentials(**place).access_key_id == "AKLTEXAMPLEETC"


def test_shared_credentials_file_and_profiles(place):
    write(
        place["home"] / ".ks" / "credentials",
        "[default]\nks_access_key_id=AKLTEXAMPLEDEF\nks_secret_access_key=d\n"
        "[ci]\nks_access_key_id=AKLTEXAMPLECI\nks_secret_access_key=c\nks_security_token=t\n",
    )
    write(place["cwd"] / ".kscore.cfg", ksc_cfg("AKLTEXAMPLECWD"))
    assert resolve_credentials(**place).access_key_id == "AKLTEXAMPLEDEF"
    place["environ"]["KS_PROFILE"] = "ci"
    creds = resolve_credentials(**place)
    assert (creds.access_key_id, creds.token) == ("AKLTEXAMPLECI", "t")


def test_config_file_profile_section(place):
    write(place["home"] / ".ks" / "config", "[profile ci]\nks_access_key_id=AKLTEXAMPLECONF\nks_secret_access_key=c\n")
    place["environ"]["KS_DEFAULT_PROFILE"] = "ci"
    assert resolve_credentials(**place).access_key_id == "AKLTEXAMPLECONF"


def test_cfg_with_key_but_no_secret_is_an_error(place):
    write(place["cwd"] / ".kscore.cfg", "[Credentials]\nks_access_key_id=AKLTEXAMPLECWD\n")
    with pytest.raises(CredentialsError, match="ks_secret_access_key"):
        resolve_credentials(**place)


def test_nothing_found_names_every_place_looked_at(place):
    write(place["cwd"] / ".kscore.cfg", "[Domain]\nks_domain=example.test\n")
    with pytest.raises(CredentialsError) as info:
        resolve_credentials(**place)
    message = str(info.value)
    for fragment in [
        "explicit arguments",
        "KS_ACCESS_KEY_ID",
        str(place["home"] / ".ks" / "credentials"),
        str(place["home"] / ".ks" / "config"),
        "etc/kscore.cfg: no such file",
        str(place["cwd"] / ".kscore.cfg") + ": no ks_access_key_id",
    ]:
        assert fragment in message


def test_a_credentials_file_readable_by_others_gives_a_warning(place, caplog):
    path = write(place["cwd"] / ".kscore.cfg", ksc_cfg("AKLTEXAMPLECWD", "TopSecretValue"), mode=0o644)
    with caplog.at_level(logging.WARNING, logger="presetsync.credentials"):
        resolve_credentials(**place)
    assert f"{path} is readable by other users (mode 0644)" in caplog.text
    assert "chmod 600" in caplog.text
    assert "TopSecretValue" not in caplog.text
    caplog.clear()
    os.chmod(path, 0o600)
    with caplog.at_level(logging.WARNING, logger="presetsync.credentials"):
        resolve_credentials(**place)
    assert caplog.text == ""


def test_secret_never_appears_in_repr(place):
    creds = resolve_credentials("AKLTEXAMPLEARG", "TopSecretValue", **place)
    assert "TopSecretValue" not in repr(creds)
    assert "AKLTEXAMPLEARG" in repr(creds)


def test_ks_domain_is_read_from_the_kscore_cfg(place):
    write(place["cwd"] / ".kscore.cfg", ksc_cfg("AKLTEXAMPLECWD", domain="internal.example.test"))
    assert find_ks_domain(place["environ"], place["cwd"]) == "internal.example.test"
