"""AWS Signature Version 4 as the offline service uses it, as pure functions.

The client signs with :func:`sign`; the local service verifies with :func:`verify`. Both
build the canonical request with the same code, so they cannot drift apart.

The canonical query string is taken from the query exactly as it is written on the wire
(already percent-encoded), split on ``&`` and sorted, never decoded and re-encoded: that is
what the official SDK does, and it is why :func:`encode_query` must escape everything except
``A-Z a-z 0-9 - . _ ~``.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import posixpath
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import quote, urlsplit

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "offline"
TIMESTAMP_FORMAT = "%Y%m%dT%H%M%SZ"
# Headers the SDK never signs even when present.
UNSIGNED_HEADERS = frozenset({"user-agent", "expect", "authorization", "accept-encoding", "content-length"})


def percent_encode(value: object) -> str:
    """Percent-encode one query key or value the way the SDK does (RFC 3986 unreserved kept)."""
    if isinstance(value, bytes):
        text = value
    else:
        text = str(value).encode("utf-8")
    return quote(text, safe="-_.~")


def encode_query(pairs: Iterable[tuple[str, object]]) -> str:
    """``key=value`` pairs in the caller's order, joined by ``&``; empty values are kept."""
    return "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in pairs)


def canonical_query(query: str) -> str:
    """Sort the already-encoded ``key=value`` items of *query* as plain strings."""
    if not query:
        return ""
    items = [item.partition("=") for item in query.split("&")]
    return "&".join(f"{k}={v}" for k, _, v in sorted((k, s, v) for k, s, v in items))


@functools.lru_cache(maxsize=64)  # a client signs the same few paths over and over
def canonical_uri(path: str) -> str:
    """Remove dot and empty segments, then percent-encode keeping ``/`` and ``~``."""
    if not path:
        return "/"
    normalized = posixpath.normpath(path)
    if normalized.startswith("//"):
        normalized = "/" + normalized.lstrip("/")
    if path.endswith("/") and normalized != "/":
        normalized += "/"
    return quote(normalized, safe="/~")


def canonical_headers(headers: Sequence[tuple[str, str]], names: Sequence[str]) -> str:
    """``name:value`` lines for *names* (lower case, sorted), repeated headers joined by ``,``;
    runs of white space in a value become one space."""
    wanted = set(names)
    grouped: dict[str, list[str]] = {}
    for name, value in headers:
        lname = name.lower()
        if lname in wanted:
            grouped.setdefault(lname, []).append(" ".join(value.split()))
    return "\n".join(f"{n}:{','.join(sorted(grouped[n]))}" if n in grouped else f"{n}:" for n in names)


def canonical_request(
    method: str,
    path: str,
    query: str,
    headers: Sequence[tuple[str, str]],
    signed_names: Sequence[str],
    payload_hash: str,
) -> str:
    return "\n".join(
        [
            method.upper(),
            canonical_uri(path),
            canonical_query(query),
            canonical_headers(headers, signed_names) + "\n",
            ";".join(signed_names),
            payload_hash,
        ]
    )


def credential_scope(amz_date: str, region: str, service: str = SERVICE) -> str:
    return f"{amz_date[:8]}/{region}/{service}/aws4_request"


def string_to_sign(amz_date: str, scope: str, canonical: str) -> str:
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return "\n".join([ALGORITHM, amz_date, scope, digest])


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def signing_key(secret: str, date: str, region: str, service: str = SERVICE) -> bytes:
    """``AWS4``+secret, then the date (``YYYYMMDD``), region, service, ``aws4_request``."""
    key = _hmac(("AWS4" + secret).encode("utf-8"), date)
    key = _hmac(key, region)
    key = _hmac(key, service)
    return _hmac(key, "aws4_request")


@functools.lru_cache(maxsize=8)
def _day_key(secret: str, date: str, region: str, service: str) -> bytes:
    """:func:`signing_key`, derived once a day per account and region instead of per request."""
    return signing_key(secret, date, region, service)


def amz_date(now: datetime) -> str:
    if now.tzinfo is not None:
        now = now.astimezone(timezone.utc)
    return now.strftime(TIMESTAMP_FORMAT)


@dataclass(frozen=True)
class Signed:
    """What signing produced; the pieces are kept for debug logs and tests."""

    headers: list[tuple[str, str]]
    canonical_request: str
    string_to_sign: str
    signature: str


def signed_header_names(url: str, headers: Sequence[tuple[str, str]]) -> list[str]:
    names = {name.lower() for name, _ in headers} - UNSIGNED_HEADERS
    names.add("host")
    return sorted(names)


def sign(
    method: str,
    url: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    *,
    access_key_id: str,
    secret_access_key: str,
    region: str,
    now: datetime,
    token: str | None = None,
    service: str = SERVICE,
) -> Signed:
    """Return *headers* with ``X-Amz-Date`` (and the token), then ``Authorization``, appended.

    *headers* must not contain ``Host``: it is taken from the URL, as http.client sends it.
    """
    date = amz_date(now)
    parts = urlsplit(url)
    out = [(n, v) for n, v in headers if n.lower() not in ("x-amz-date", "authorization", "x-amz-security-token")]
    out.append(("X-Amz-Date", date))
    if token:
        out.append(("X-Amz-Security-Token", token))
    names = signed_header_names(url, out)
    canonical = canonical_request(
        method, parts.path, parts.query, [("host", parts.netloc), *out], names, hashlib.sha256(body).hexdigest()
    )
    scope = credential_scope(date, region, service)
    to_sign = string_to_sign(date, scope, canonical)
    key = _day_key(secret_access_key, date[:8], region, service)
    signature = hmac.digest(key, to_sign.encode("utf-8"), "sha256").hex()
    out.append(
        (
            "Authorization",
            f"{ALGORITHM} Credential={access_key_id}/{scope}, SignedHeaders={';'.join(names)}, Signature={signature}",
        )
    )
    return Signed(out, canonical, to_sign, signature)


# --- verification (used by the local service) -------------------------------------------


class SignatureError(Exception):
    """Why a request's signature was refused; ``code`` is a stable machine-readable name."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Authorization:
    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: list[str]
    signature: str


def parse_authorization(value: str) -> Authorization:
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise SignatureError("IncompleteSignature", f"Authorization must start with {ALGORITHM}")
    fields: dict[str, str] = {}
    for part in rest.split(","):
        key, sep, val = part.strip().partition("=")
        if sep:
            fields[key] = val
    missing = [k for k in ("Credential", "SignedHeaders", "Signature") if k not in fields]
    if missing:
        raise SignatureError("IncompleteSignature", f"Authorization lacks {', '.join(missing)}")
    scope = fields["Credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        raise SignatureError("IncompleteSignature", "Credential must be AK/YYYYMMDD/region/service/aws4_request")
    return Authorization(
        scope[0], scope[1], scope[2], scope[3], fields["SignedHeaders"].split(";"), fields["Signature"]
    )


REQUIRED_SIGNED = ("host", "x-amz-date", "x-action")


def verify(
    method: str,
    path: str,
    query: str,
    headers: Sequence[tuple[str, str]] | Mapping[str, str],
    body: bytes,
    secrets: Mapping[str, str],
    *,
    now: datetime,
    max_skew_seconds: int = 15 * 60,
    service: str = SERVICE,
    required_signed: Sequence[str] = REQUIRED_SIGNED,
) -> Authorization:
    """Check a received request's SigV4 signature; return the parsed Authorization.

    *query* is the raw query string as received; *secrets* maps access key ids to secrets.
    Raises :class:`SignatureError` naming what is wrong.
    """
    pairs = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
    lookup = {n.lower(): v for n, v in pairs}
    if "authorization" not in lookup:
        raise SignatureError("MissingAuthenticationToken", "the request is not signed: no Authorization header")
    auth = parse_authorization(lookup["authorization"])
    if auth.access_key_id not in secrets:
        raise SignatureError("InvalidAccessKeyId", f"unknown access key id {auth.access_key_id!r}")
    if auth.service != service:
        raise SignatureError("IncompleteSignature", f"credential scope service must be {service!r}")
    for name in required_signed:
        if name not in auth.signed_headers:
            raise SignatureError("IncompleteSignature", f"header {name!r} must be signed")
    for name in auth.signed_headers:
        if name not in lookup:
            raise SignatureError("IncompleteSignature", f"signed header {name!r} is missing from the request")
    date = lookup["x-amz-date"]
    try:
        sent = datetime.strptime(date, TIMESTAMP_FORMAT).replace(tzinfo=timezone.utc)
    except ValueError:
        raise SignatureError("IncompleteSignature", f"X-Amz-Date {date!r} is not YYYYMMDDTHHMMSSZ") from None
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    skew = abs((now - sent).total_seconds())
    if skew > max_skew_seconds:
        raise SignatureError(
            "RequestExpired",
            f"X-Amz-Date {date} is {int(skew)} s away from the server time (limit {max_skew_seconds} s)",
        )
    if auth.date != date[:8]:
        raise SignatureError("SignatureDoesNotMatch", "credential scope date differs from X-Amz-Date")
    canonical = canonical_request(method, path, query, pairs, auth.signed_headers, hashlib.sha256(body).hexdigest())
    to_sign = string_to_sign(date, credential_scope(date, auth.region, auth.service), canonical)
    key = signing_key(secrets[auth.access_key_id], auth.date, auth.region, auth.service)
    expected = hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, auth.signature):
        raise SignatureError(
            "SignatureDoesNotMatch",
            "the signature does not match: wrong secret, or the request was changed after signing",
        )
    return auth
