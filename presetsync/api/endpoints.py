"""Region names and the endpoint URL, resolved as the official SDK resolves them.

The SDK sends every region to ``offline.api.ksyun.com`` (the region only goes into the
signature), over http for cn-beijing-6 whatever use_ssl says, and over https elsewhere when
asked. A ``[Domain] ks_domain`` in kscore.cfg turns the host into ``offline.<ks_domain>``.
Unlike the SDK, a region that does not match the pattern is refused instead of being turned
into a host name that does not exist.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

from ..errors import ConfigError

DEFAULT_REGION = "cn-beijing-6"
DEFAULT_HOST = "offline.api.ksyun.com"
REGION_PATTERN = re.compile(r"[a-z]{2,5}-[A-Za-z0-9_]+-[0-9]+", re.ASCII)
# Regions whose endpoint entry lists only http: use_ssl is ignored there, as by the SDK.
HTTP_ONLY_REGIONS = frozenset({"cn-beijing-6"})


def _ascii_spelling(text: str) -> str:
    out = []
    for ch in unicodedata.normalize("NFKC", text):
        if unicodedata.category(ch) == "Pd" or ch in "\u2212\u2043\ufe63":
            out.append("-")
        elif not ch.isspace():
            out.append(ch)
    return "".join(out).lower()


def check_region(region: str) -> str:
    """Return *region* if it is a plain ASCII region name; otherwise a ConfigError that says why."""
    if REGION_PATTERN.fullmatch(region):
        return region
    odd = [f"{ch!r} (U+{ord(ch):04X} {unicodedata.name(ch, 'unnamed')})" for ch in region if not ch.isascii()]
    suggestion = _ascii_spelling(region)
    if odd:
        message = f"region {region!r} contains look-alike characters: {', '.join(dict.fromkeys(odd))}"
        if REGION_PATTERN.fullmatch(suggestion):
            message += f"; write it in ASCII: {suggestion}"
        raise ConfigError(message)
    message = f"region {region!r} is not a region name like {DEFAULT_REGION} (two to five letters, a name, a number)"
    if suggestion != region and REGION_PATTERN.fullmatch(suggestion):
        message += f"; did you mean {suggestion}?"
    raise ConfigError(message)


def normalize_endpoint(url: str) -> str:
    """Check an endpoint URL and return it as ``scheme://host[:port]/path/`` as it goes on the wire."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"endpoint {url!r} must be an http:// or https:// URL with a host name, or 'local'")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ConfigError(f"endpoint {url!r} must not contain a query, a fragment or credentials")
    try:
        port = parts.port
    except ValueError:
        raise ConfigError(f"endpoint {url!r} has an invalid port") from None
    host = parts.hostname
    if ":" in host:
        host = f"[{host}]"
    default_port = 443 if parts.scheme == "https" else 80
    netloc = host if port in (None, default_port) else f"{host}:{port}"
    path = parts.path or "/"
    if not path.endswith("/"):
        path += "/"
    return f"{parts.scheme}://{netloc}{path}"


def resolve_endpoint(
    region: str, use_ssl: bool = False, endpoint: str | None = None, ks_domain: str | None = None
) -> str:
    """The base URL requests go to. An explicit *endpoint* wins, then ``ks_domain``, then the default."""
    if endpoint:
        return normalize_endpoint(endpoint)
    if ks_domain:
        return normalize_endpoint(f"{'https' if use_ssl else 'http'}://offline.{ks_domain}")
    secure = use_ssl and region not in HTTP_ONLY_REGIONS
    return f"{'https' if secure else 'http'}://{DEFAULT_HOST}/"
