"""Region names and endpoints resolve as the official SDK resolves them, minus its traps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from presetsync.api import Credentials, OfflineClient
from presetsync.api.endpoints import check_region, normalize_endpoint, resolve_endpoint
from presetsync.errors import ConfigError

OBSERVED = json.loads((Path(__file__).parent / "fixtures" / "sdk-vectors.json").read_text())[
    "endpoint_resolution_observed"
]


@pytest.mark.parametrize("label", [k for k in OBSERVED if "badregion" not in k])
def test_endpoint_resolution_matches_what_the_sdk_did(label):
    region, _, rest = label.partition(" ")
    use_ssl = "use_ssl=True" in rest
    ks_domain = "internal.example.test" if "ks_domain" in rest else None
    expected = OBSERVED[label]["endpoint"]
    assert resolve_endpoint(region, use_ssl, None, ks_domain) == expected + "/"


def test_the_usage_documents_unicode_hyphens_get_a_clear_error():
    with pytest.raises(ConfigError) as info:
        check_region("cn\u2010beijing\u20106")
    message = str(info.value)
    assert "U+2010 HYPHEN" in message
    assert "write it in ASCII: cn-beijing-6" in message


@pytest.mark.parametrize(
    ("region", "suggestion"),
    [
        ("cn\u2013beijing\u20136", "cn-beijing-6"),
        ("\uff43\uff4e-beijing-6", "cn-beijing-6"),
        ("cn-beijing-\uff16", "cn-beijing-6"),
    ],
)
def test_other_look_alikes_are_refused_with_the_ascii_spelling(region, suggestion):
    with pytest.raises(ConfigError, match=f"write it in ASCII: {suggestion}"):
        check_region(region)


@pytest.mark.parametrize("region", ["badregion", "cn-beijing", "CN-BEIJING-6", "cn_beijing_6", ""])
def test_regions_off_the_pattern_are_refused(region):
    with pytest.raises(ConfigError, match="is not a region name"):
        check_region(region)


def test_an_uppercase_region_gets_a_suggestion():
    with pytest.raises(ConfigError, match="did you mean cn-beijing-6"):
        check_region("CN-BEIJING-6")


def test_the_client_refuses_a_bad_region_before_anything_else():
    with pytest.raises(ConfigError):
        OfflineClient("cn\u2010beijing\u20106", credentials=Credentials("AKLTEXAMPLE", "x"))


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000/"),
        ("http://proxy.example.test:80/offline", "http://proxy.example.test/offline/"),
        ("https://Offline.Example.Test:443/", "https://offline.example.test/"),
        ("http://[::1]:9000/", "http://[::1]:9000/"),
    ],
)
def test_endpoint_urls_are_normalised_to_what_goes_on_the_wire(given, expected):
    assert normalize_endpoint(given) == expected


@pytest.mark.parametrize("bad", ["ftp://x/", "localhost:8000", "http://", "http://h/?a=1", "http://u:p@h/"])
def test_bad_endpoint_urls_are_refused(bad):
    with pytest.raises(ConfigError):
        normalize_endpoint(bad)
