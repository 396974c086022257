"""Accounts of the local service, and checking each request's signature.

An account is an access key id and its secret; each access key id is its own namespace of
presets and tasks. Accounts come either from a YAML file::

    accounts:
      - access_key_id: AKLTEXAMPLEAAAAAAAAAA
        secret_access_key: ExampleSecretKeyA000000000000000000000

or, without a file, from one development account that the service creates on first start
(``AKLTLOCAL`` + random hex, random secret) and keeps in its database, so a restart keeps
the same key. Signatures are checked by :func:`presetsync.api.sigv4.verify`, the same code
the client signs with.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Callable

import yaml

from ..api import sigv4
from ..api.credentials import _warn_if_shared
from ..errors import ConfigError
from .protocol import SIGNATURE_REFUSED, AppError

DEV_KEY_PREFIX = "AKLTLOCAL"
ACCESS_KEY_ID = re.compile(r"[A-Za-z0-9._-]{4,128}", re.ASCII)


def new_dev_account() -> tuple[str, str]:
    """A fresh (access key id, secret) pair for the development account."""
    return DEV_KEY_PREFIX + secrets.token_hex(8).upper(), secrets.token_urlsafe(30)


def load_accounts(path: str | Path) -> dict[str, str]:
    """Read an accounts YAML file into ``{access_key_id: secret}``.

    Raises ConfigError naming the file and the problem (never showing a secret). Warns, as
    for a credentials file, when other users can read it.
    """
    path = Path(path)
    _warn_if_shared(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"accounts file {path}: cannot read it: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"accounts file {path}: not UTF-8 text") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"accounts file {path}: not valid YAML{where}: {problem}") from None
    if not isinstance(data, dict) or "accounts" not in data:
        raise ConfigError(f"accounts file {path}: must be a mapping with an 'accounts' list")
    entries = data["accounts"]
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"accounts file {path}: 'accounts' must be a non-empty list")
    accounts: dict[str, str] = {}
    for index, entry in enumerate(entries):
        where = f"accounts file {path}: accounts[{index}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where} must be a mapping with access_key_id and secret_access_key")
        unknown = sorted(set(entry) - {"access_key_id", "secret_access_key"})
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(map(str, unknown))}")
        key, secret = entry.get("access_key_id"), entry.get("secret_access_key")
        if key is None:
            raise ConfigError(f"{where}: access_key_id is missing")
        if not isinstance(key, str) or not ACCESS_KEY_ID.fullmatch(key):
            raise ConfigError(f"{where}: access_key_id must be 4 to 128 letters, digits, '.', '_' or '-', got {key!r}")
        if secret is None:
            raise ConfigError(f"{where}: secret_access_key is missing")
        if not isinstance(secret, str) or not secret:
            raise ConfigError(f"{where}: secret_access_key must be a non-empty string (quote it in YAML)")
        if key in accounts:
            raise ConfigError(f"{where}: access_key_id {key} appears twice")
        accounts[key] = secret
    return accounts


class Authenticator:
    """Checks requests against a fixed set of accounts, at the time the clock says."""

    def __init__(self, accounts: Mapping[str, str], clock: Callable[[], datetime]):
        self._secrets = dict(accounts)
        self._clock = clock

    def authenticate(self, method: str, path: str, query: str, headers: Sequence[tuple[str, str]], body: bytes) -> str:
        """Return the access key id of a correctly signed request, or raise AppError 403."""
        try:
            auth = sigv4.verify(method, path, query, headers, body, self._secrets, now=self._clock())
        except sigv4.SignatureError as exc:
            raise AppError(SIGNATURE_REFUSED, exc.message, status=403, code=exc.code) from None
        return auth.access_key_id
