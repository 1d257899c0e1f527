"""Web origins a browser key may be used from: how an allowed origin is written, and whether a
page's origin (the browser's `Origin` header) is on a key's list.

An origin is `scheme://host[:port]`, as browsers send it: `http` or `https`, a host in lower
case, the port only when it is not the scheme's default. A pattern is such an origin, or one
whose host starts with `*.` — `https://*.example.com` allows every subdomain of example.com
(`https://shop.example.com`, `https://a.b.example.com`) over https on the default port, never
`https://example.com` itself, another scheme or another port.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_DEFAULT_PORTS = {"http": 80, "https": 443}
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_HOST = re.compile(rf"^(?:\*\.)?{_LABEL}(?:\.{_LABEL})*$|^\[[0-9a-f:.]+\]$")
_ORIGIN = re.compile(
    r"^(?P<scheme>[a-z][a-z0-9+.-]*)://(?P<host>[^/:?#@]+|\[[^\]]+\])(?::(?P<port>\d{1,5}))?$"
)


def normalise_origin(text: str) -> str:
    """The origin (or pattern) `text` names, as browsers write it; ValueError, naming the rule,
    when it is not one (a path, a query, user info, another scheme, a bare host)."""
    candidate = text.strip().lower().rstrip("/")
    found = _ORIGIN.match(candidate)
    if found is None:
        raise ValueError(
            f"{text!r} is not an origin: write scheme://host[:port] "
            "(https://shop.example.com, http://localhost:8080), no path"
        )
    scheme, host, port = found["scheme"], found["host"], found["port"]
    if scheme not in _DEFAULT_PORTS:
        raise ValueError(f"{text!r}: an origin's scheme is http or https")
    if not _HOST.match(host) or host.startswith("*.") and host.count(".") < 2:
        raise ValueError(
            f"{text!r}: not a host name; a wildcard is '*.' before a domain of two labels or "
            "more (https://*.example.com)"
        )
    if port is not None:
        number = int(port)
        if not 0 < number < 65536:
            raise ValueError(f"{text!r}: the port must be 1-65535")
        if number == _DEFAULT_PORTS[scheme]:
            port = None
        else:
            port = str(number)
    return f"{scheme}://{host}" + (f":{port}" if port else "")


def origin_allowed(origin: str | None, patterns: Iterable[str]) -> bool:
    """Whether a page at `origin` (the `Origin` header as sent) may use a key allowing
    `patterns` (normalised). No origin, `null` (a sandboxed or privacy-stripped page) and
    anything that is not an origin are never allowed."""
    if not origin:
        return False
    try:
        page = normalise_origin(origin)
    except ValueError:
        return False
    if "*" in page:
        return False  # a browser never sends a wildcard
    scheme, _, rest = page.partition("://")
    for pattern in patterns:
        if pattern == page:
            return True
        if "://*." in pattern:
            p_scheme, _, p_rest = pattern.partition("://*.")
            if p_scheme == scheme and rest.endswith("." + p_rest):
                return True
    return False
