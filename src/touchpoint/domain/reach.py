"""Reach channels: where a web visit came from when the sender did not tag it, worked out from
its referrer and landing page by an editable table (see `ingest/reach_channels.toml`), in the
spirit of GA4's default channel grouping. UTM parameters always win; a visit with no referrer,
or from the site itself, is direct (no attribution: reports already call it "(direct)").

Pure: the table arrives as TOML text; nothing here reads files.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

# medium → the channel group a report shows (GA4's names). The mediums are GA's conventions.
CHANNEL_GROUPS: Mapping[str, str] = {
    "cpc": "Paid Search",
    "paid_social": "Paid Social",
    "organic": "Organic Search",
    "social": "Organic Social",
    "email": "Email",
    "referral": "Referral",
}
DIRECT = "Direct"
REFERRAL = "referral"
MAX_VALUE = 200  # characters of a search keyword or post id kept (attribution is short text)
UTM_FIELDS: Mapping[str, str] = {  # landing-page parameter → attribution field
    "utm_source": "source",
    "utm_medium": "medium",
    "utm_campaign": "campaign",
    "utm_term": "keyword",
    "utm_content": "creative",
}
_SOURCE_KEYS = ("medium", "hosts", "keyword", "post")
_CLICK_KEYS = ("source", "medium")
_TOP_KEYS = ("sources", "click_ids", "site")


class ReachTableError(ValueError):
    """A reach table that cannot be used; the message names the file, the entry and its line."""


@dataclass(frozen=True, slots=True)
class SourceRule:
    """One known referrer: its hosts, the medium it brings, where its keyword and post id are."""

    name: str
    medium: str
    hosts: tuple[str, ...]
    keyword: tuple[str, ...] = ()  # query parameters holding the search words, first found wins
    post: re.Pattern[str] | None = None  # over path?query; its first matched group is the post id


@dataclass(frozen=True, slots=True)
class ClickRule:
    source: str
    medium: str


@dataclass(frozen=True)
class ReachTable:
    sources: Mapping[str, SourceRule] = field(default_factory=dict)
    click_ids: Mapping[str, ClickRule] = field(default_factory=dict)
    own_domains: tuple[str, ...] = ()

    def merged(self, other: ReachTable) -> ReachTable:
        """This table with `other`'s entries added or overriding (a user's file over the shipped)."""
        return ReachTable(
            {**self.sources, **other.sources},
            {**self.click_ids, **other.click_ids},
            tuple(dict.fromkeys(self.own_domains + other.own_domains)),
        )


@dataclass(frozen=True, slots=True)
class Reach:
    """Attribution worked out for one visit; `channel` is the group a report shows."""

    source: str
    medium: str
    channel: str
    campaign: str | None = None
    keyword: str | None = None
    creative: str | None = None  # utm_content, else the social post id

    def attribution(self) -> dict[str, str]:
        found = {
            "source": self.source,
            "medium": self.medium,
            "campaign": self.campaign,
            "keyword": self.keyword,
            "creative": self.creative,
        }
        return {k: v[:MAX_VALUE] for k, v in found.items() if v}


def channel_group(medium: str | None) -> str:
    """The channel group of a medium: no medium is Direct; ppc and paid* are Paid Search (GA4's
    rule); any other unknown medium is Other."""
    if not medium:
        return DIRECT
    folded = medium.strip().casefold()
    if folded in CHANNEL_GROUPS:
        return CHANNEL_GROUPS[folded]
    if folded in ("ppc", "paidsearch") or folded.startswith("paid"):
        return CHANNEL_GROUPS["cpc"]
    return "Other"


# --- working out one visit ---------------------------------------------------------------------


def reach_of(referrer: str | None, url: str | None, table: ReachTable) -> Reach | None:
    """The visit's reach: UTM tags on the landing page, else a click id, else the referrer by the
    table; None for direct (no referrer, the site's own domain, or a referrer that is no URL)."""
    query = _query(url)
    tagged = {ours: query[theirs] for theirs, ours in UTM_FIELDS.items() if query.get(theirs)}
    if tagged:
        medium = tagged.get("medium", "")
        return Reach(
            source=tagged.get("source", "(not set)"),
            medium=medium,
            channel=channel_group(medium),
            campaign=tagged.get("campaign"),
            keyword=tagged.get("keyword"),
            creative=tagged.get("creative"),
        )
    for param, click in table.click_ids.items():
        if query.get(param):
            return Reach(click.source, click.medium, channel_group(click.medium))
    return _from_referrer(referrer, url, table)


def _from_referrer(referrer: str | None, url: str | None, table: ReachTable) -> Reach | None:
    if not referrer or not referrer.strip():
        return None
    parts = urlsplit(referrer.strip())
    host = (parts.hostname or "").casefold().rstrip(".")
    if not host or parts.scheme not in ("http", "https", "android-app"):
        return None
    own = _own_domains(url, table)
    if any(_same_site(host, site) for site in own):
        return None
    rule = _rule_for(host, table)
    if rule is None:
        source = host.removeprefix("www.")
        return Reach(source, REFERRAL, channel_group(REFERRAL))
    query = parse_qs(parts.query)
    keyword = next((query[p][0].strip() for p in rule.keyword if query.get(p, [""])[0]), None)
    post = None
    if rule.post is not None:
        found = rule.post.search(parts.path + ("?" + parts.query if parts.query else ""))
        post = next((g for g in found.groups() if g), None) if found else None
    return Reach(
        rule.name, rule.medium, channel_group(rule.medium), keyword=keyword or None, creative=post
    )


def _query(url: str | None) -> dict[str, str]:
    if not url:
        return {}
    return {k: v[0].strip() for k, v in parse_qs(urlsplit(url.strip()).query).items() if v}


def _own_domains(url: str | None, table: ReachTable) -> tuple[str, ...]:
    host = (urlsplit(url.strip()).hostname or "") if url else ""
    landing = (host.casefold().removeprefix("www."),) if host else ()
    return landing + table.own_domains


def _same_site(host: str, site: str) -> bool:
    site = site.casefold().removeprefix("www.")
    bare = host.removeprefix("www.")
    return bare == site or bare.endswith("." + site)


def _rule_for(host: str, table: ReachTable) -> SourceRule | None:
    """The rule whose host pattern matches most specifically (mail.google.com over google.*)."""
    best: tuple[int, SourceRule] | None = None
    for rule in table.sources.values():
        for pattern in rule.hosts:
            if _host_matches(host, pattern):
                weight = pattern.count(".") - pattern.count("*")
                if best is None or weight > best[0]:
                    best = (weight, rule)
    return best[1] if best else None


def _host_matches(host: str, pattern: str) -> bool:
    """`google.*` is google under any suffix (google.com, google.co.uk) and its subdomains;
    `t.co` is t.co and its subdomains."""
    if pattern.endswith(".*"):
        stem = pattern[:-2]
        labels = host.split(".")
        for i in range(len(labels)):
            if ".".join(labels[i : i + stem.count(".") + 1]) == stem:
                rest = labels[i + stem.count(".") + 1 :]
                return 1 <= len(rest) <= 2
        return False
    return host == pattern or host.endswith("." + pattern)


# --- the table --------------------------------------------------------------------------------


def parse_reach_table(text: str, where: str) -> ReachTable:
    """A reach table from TOML text; ReachTableError naming `where`, the entry and its line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ReachTableError(f"{where}: not valid TOML: {exc}") from None
    unknown = sorted(set(data) - set(_TOP_KEYS))
    if unknown:
        raise ReachTableError(
            f"{where}: unknown top-level key(s) {', '.join(unknown)}; allowed: "
            + ", ".join(_TOP_KEYS)
        )
    sources = {
        name: _source(name, entry, where, text)
        for name, entry in _table(data, "sources", where).items()
    }
    clicks = {
        name: _click(name, entry, where, text)
        for name, entry in _table(data, "click_ids", where).items()
    }
    site = _table(data, "site", where)
    own = site.get("own_domains", [])
    if not isinstance(own, list) or not all(isinstance(d, str) and d.strip() for d in own):
        raise ReachTableError(f"{where}: site.own_domains must be a list of domain names")
    return ReachTable(sources, clicks, tuple(d.strip().casefold() for d in own))


def _table(data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ReachTableError(f"{where}: `{key}` must be a table")
    return value


def _problem(kind: str, name: str, what: str, where: str, text: str) -> ReachTableError:
    line = _line_of(text, f"{kind}.{name}") or _line_of(text, name)
    at = f" (line {line})" if line else ""
    return ReachTableError(f"{where}: {kind}.{name}{at}: {what}")


def _source(name: str, entry: Any, where: str, text: str) -> SourceRule:
    def problem(what: str) -> ReachTableError:
        return _problem("sources", name, what, where, text)

    if not isinstance(entry, dict):
        raise problem('must be a table such as { medium = "organic", hosts = ["bing.com"] }')
    unknown = sorted(set(entry) - set(_SOURCE_KEYS))
    if unknown:
        raise problem(f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(_SOURCE_KEYS)}")
    medium = entry.get("medium")
    if not isinstance(medium, str) or not medium.strip():
        raise problem('missing `medium`, e.g. medium = "organic"')
    hosts = entry.get("hosts")
    if not isinstance(hosts, list) or not hosts or not all(_good_host(h) for h in hosts):
        raise problem('`hosts` must be a list of host names such as ["bing.com", "google.*"]')
    keyword = entry.get("keyword", [])
    if isinstance(keyword, str):
        keyword = [keyword]
    if not isinstance(keyword, list) or not all(isinstance(k, str) for k in keyword):
        raise problem("`keyword` must be a query parameter name or a list of them")
    post = entry.get("post")
    pattern = None
    if post is not None:
        try:
            pattern = re.compile(post) if isinstance(post, str) else None
        except re.error as exc:
            raise problem(f"`post` is not a regular expression: {exc}") from None
        if pattern is None or pattern.groups < 1:
            raise problem("`post` must be a regular expression with one group (the post id)")
    return SourceRule(
        name,
        medium.strip(),
        tuple(h.strip().casefold() for h in hosts),
        tuple(keyword),
        pattern,
    )


def _click(name: str, entry: Any, where: str, text: str) -> ClickRule:
    if not isinstance(entry, dict) or set(entry) != set(_CLICK_KEYS):
        raise _problem(
            "click_ids", name, 'must be { source = "google", medium = "cpc" }', where, text
        )
    if not all(isinstance(entry[k], str) and entry[k].strip() for k in _CLICK_KEYS):
        raise _problem("click_ids", name, "source and medium must be non-empty text", where, text)
    return ClickRule(entry["source"].strip(), entry["medium"].strip())


def _good_host(host: Any) -> bool:
    return isinstance(host, str) and bool(re.fullmatch(r"[a-z0-9.\-]+(\.\*)?", host.strip()))


def _line_of(text: str, needle: str) -> int | None:
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("[") and needle in stripped:
            return number
    return None
