"""Where the access key comes from, in the official SDK's order.

1. explicit arguments (both the access key id and the secret);
2. the environment: ``KS_ACCESS_KEY_ID`` / ``KS_SECRET_ACCESS_KEY``, with an optional token
   in ``KS_SECURITY_TOKEN`` or ``KS_SESSION_TOKEN``;
3. the shared credentials file ``~/.ks/credentials`` (``KS_SHARED_CREDENTIALS_FILE``), profile
   from ``KS_DEFAULT_PROFILE`` / ``KS_PROFILE``, default ``default``;
4. the config file ``~/.ks/config`` (``KS_CONFIG_FILE``), section ``[default]`` or ``[profile X]``;
5. kscore.cfg ``[Credentials]``: only ``$KSC_CONFIG`` when set, otherwise ``/etc/kscore.cfg``
   then ``./.kscore.cfg`` (the first that has ``ks_access_key_id`` wins).

The SDK's assume-role, legacy EC2 file and instance-metadata providers are not supported.
A secret never appears in a repr, a log line or an error message.
"""

from __future__ import annotations

import configparser
import logging
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import CredentialsError

log = logging.getLogger("presetsync.credentials")

KSC_CONFIG_ENV = "KSC_CONFIG"
ETC_KSCORE = "/etc/kscore.cfg"


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str = field(repr=False)
    token: str | None = field(default=None, repr=False)
    source: str = "explicit arguments"


@dataclass
class _Search:
    """Where we looked and what we found there, for the final error message."""

    looked: list[str] = field(default_factory=list)

    def note(self, place: str, outcome: str) -> None:
        self.looked.append(f"{place}: {outcome}")


def ksc_config_locations(environ: Mapping[str, str], cwd: Path) -> list[Path]:
    """The kscore.cfg files the SDK reads, in its order."""
    if environ.get(KSC_CONFIG_ENV):
        return [Path(environ[KSC_CONFIG_ENV])]
    return [Path(ETC_KSCORE), cwd / ".kscore.cfg"]


def _read_ini(path: Path) -> configparser.RawConfigParser | None:
    parser = configparser.RawConfigParser()
    try:
        with open(path, encoding="utf-8") as fh:
            parser.read_file(fh)
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, configparser.Error) as exc:
        raise CredentialsError(f"cannot read credentials file {path}: {exc}") from None
    return parser


def _warn_if_shared(path: Path) -> None:
    if os.name != "posix":
        return
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return
    if mode & 0o044:
        log.warning("credentials file %s is readable by other users (mode %04o); run: chmod 600 %s", path, mode, path)


def _from_section(section: Mapping[str, str], id_key: str, secret_key: str, place: str) -> Credentials | None:
    access = section.get(id_key)
    if not access:
        return None
    secret = section.get(secret_key)
    if not secret:
        raise CredentialsError(f"{place} sets {id_key} but not {secret_key}")
    token = section.get("ks_security_token") or section.get("ks_session_token")
    return Credentials(access, secret, token or None, place)


def resolve_credentials(
    access_key_id: str | None = None,
    secret_access_key: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    home: Path | None = None,
) -> Credentials:
    """Walk the chain and return the first credentials found, or raise CredentialsError."""
    environ = os.environ if environ is None else environ
    cwd = Path.cwd() if cwd is None else cwd
    home = Path.home() if home is None else home

    if access_key_id is not None or secret_access_key is not None:
        if not access_key_id or not secret_access_key:
            raise CredentialsError("give both an access key id and a secret access key, or neither")
        return Credentials(access_key_id, secret_access_key)

    search = _Search()
    search.note("explicit arguments", "not given")

    env_id, env_secret = environ.get("KS_ACCESS_KEY_ID"), environ.get("KS_SECRET_ACCESS_KEY")
    if env_id:
        if not env_secret:
            raise CredentialsError("KS_ACCESS_KEY_ID is set but KS_SECRET_ACCESS_KEY is not")
        token = environ.get("KS_SECURITY_TOKEN") or environ.get("KS_SESSION_TOKEN") or None
        return Credentials(env_id, env_secret, token, "environment (KS_ACCESS_KEY_ID)")
    search.note("environment KS_ACCESS_KEY_ID / KS_SECRET_ACCESS_KEY", "not set")

    profile = environ.get("KS_DEFAULT_PROFILE") or environ.get("KS_PROFILE") or "default"
    shared = Path(environ.get("KS_SHARED_CREDENTIALS_FILE") or home / ".ks" / "credentials").expanduser()
    found = _from_profile_file(shared, [profile], search)
    if found:
        return found

    config = Path(environ.get("KS_CONFIG_FILE") or home / ".ks" / "config").expanduser()
    sections = [profile] if profile == "default" else [f"profile {profile}"]
    found = _from_profile_file(config, sections, search)
    if found:
        return found

    for path in ksc_config_locations(environ, cwd):
        parser = _read_ini(path)
        if parser is None:
            search.note(str(path), "no such file")
            continue
        if parser.has_section("Credentials"):
            found = _from_section(
                dict(parser.items("Credentials")), "ks_access_key_id", "ks_secret_access_key", f"{path} [Credentials]"
            )
            if found:
                _warn_if_shared(path)
                return Credentials(found.access_key_id, found.secret_access_key, None, found.source)
        search.note(str(path), "no ks_access_key_id in [Credentials]")

    raise CredentialsError(
        "no credentials found. Looked at:\n  "
        + "\n  ".join(search.looked)
        + "\nSet KS_ACCESS_KEY_ID and KS_SECRET_ACCESS_KEY, or write them in .kscore.cfg under [Credentials],"
        " or use --endpoint local for the embedded local service."
    )


def _from_profile_file(path: Path, sections: list[str], search: _Search) -> Credentials | None:
    parser = _read_ini(path)
    if parser is None:
        search.note(str(path), "no such file")
        return None
    for section in sections:
        if parser.has_section(section):
            found = _from_section(
                dict(parser.items(section)), "ks_access_key_id", "ks_secret_access_key", f"{path} [{section}]"
            )
            if found:
                _warn_if_shared(path)
                return found
    search.note(str(path), f"no ks_access_key_id in [{sections[0]}]")
    return None


def find_ks_domain(environ: Mapping[str, str] | None = None, cwd: Path | None = None) -> str | None:
    """``[Domain] ks_domain`` from the first kscore.cfg that has it, as the SDK reads it."""
    environ = os.environ if environ is None else environ
    cwd = Path.cwd() if cwd is None else cwd
    for path in ksc_config_locations(environ, cwd):
        parser = _read_ini(path)
        if parser is not None and parser.has_option("Domain", "ks_domain"):
            return parser.get("Domain", "ks_domain").strip() or None
    return None
