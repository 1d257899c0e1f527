"""How a browser key's origins are written and matched (domain.origins)."""

from __future__ import annotations

import pytest

from touchpoint.domain.origins import normalise_origin, origin_allowed


@pytest.mark.parametrize(
    ("text", "origin"),
    [
        ("https://Shop.Example.com", "https://shop.example.com"),
        ("https://shop.example.com/", "https://shop.example.com"),
        ("https://shop.example.com:443", "https://shop.example.com"),
        ("http://localhost:80", "http://localhost"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://[::1]:3000", "http://[::1]:3000"),
        ("https://*.example.com", "https://*.example.com"),
        ("  https://xn--bcher-kva.example  ", "https://xn--bcher-kva.example"),
    ],
)
def test_an_origin_is_written_as_browsers_send_it(text: str, origin: str) -> None:
    assert normalise_origin(text) == origin


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("shop.example.com", "not an origin"),
        ("https://shop.example.com/checkout", "not an origin"),
        ("https://shop.example.com?x=1", "not an origin"),
        ("https://ann@shop.example.com", "not an origin"),
        ("ftp://shop.example.com", "scheme is http or https"),
        ("https://*.com", "wildcard"),
        ("https://shop.*.com", "not a host name"),
        ("https://*", "wildcard"),
        ("https://-shop.example.com", "not a host name"),
        ("https://shop.example.com:0", "port"),
        ("https://shop.example.com:70000", "port"),
        ("*", "not an origin"),
    ],
)
def test_what_is_no_origin_is_refused_naming_the_rule(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        normalise_origin(text)


def test_a_page_matches_its_exact_origin_or_a_wildcard_s_subdomains() -> None:
    patterns = ["https://shop.example.com", "http://localhost:8080", "https://*.example.org"]
    allowed = [
        "https://shop.example.com",
        "https://SHOP.example.com:443",
        "http://localhost:8080",
        "https://www.example.org",
        "https://a.b.example.org",
    ]
    refused = [
        None,
        "",
        "null",
        "http://shop.example.com",
        "https://shop.example.com:8443",
        "https://www.shop.example.com",
        "http://localhost",
        "https://example.org",
        "https://evilexample.org",
        "http://www.example.org",
        "https://*.example.org",  # a browser never sends a pattern
        "https://shop.example.com/path",
    ]
    assert [o for o in allowed if origin_allowed(o, patterns)] == allowed
    assert [o for o in refused if origin_allowed(o, patterns)] == []
