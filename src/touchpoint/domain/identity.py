"""Identity keys: normalise emails, phones, ids and handles into `kind:value` strings, and the
rules every identity decision shares: how strong each kind is, what an alias links, and the merge
limits.

A customer is known by any number of identity keys; two events sharing a key are the same person,
unless merge protection (`merge_limits`) says the shared key cannot prove it. A placeholder a
sender puts where an identity is missing (`undefined`, `null`, `test@test.com`: `JunkIdentifiers`)
is no key at all: it never links or merges anyone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import DOT_ATOM_TEXT, EMAIL_MAX_LENGTH

# Every kind of key, strongest first: an event belongs to the customer its strongest key names
# (your own user id says more than a shared inbox, a shared inbox more than a cookie). A
# `previous_id` key records a Segment alias: "the person once known as this id" (see
# `alias_partners`).
IDENTITY_KINDS = ("external_id", "email", "phone", "handle", "anonymous_id", "previous_id")
ALIAS_KIND = "previous_id"
# The kinds merge limits may name (an alias record is not evidence, it is an explicit link).
LIMITABLE_KINDS = IDENTITY_KINDS[:-1]
# Default merge protection: a customer holds at most one external id unless merged explicitly
# (an alias or a merge by hand), so a shared email or phone never glues two signed-up users.
DEFAULT_MERGE_LIMITS: Mapping[str, int] = MappingProxyType({"external_id": 1})
# Kinds whose new keys may complete a pending alias: an alias can name either.
_ALIASED_KINDS = ("external_id", "anonymous_id")
_STRENGTH = {kind: rank for rank, kind in enumerate(IDENTITY_KINDS)}
SOCIAL_NETWORKS = ("twitter", "facebook", "instagram", "linkedin", "tiktok", "whatsapp", "youtube")


class IdentityError(ValueError):
    """A value that cannot be turned into an identity key."""


@dataclass(frozen=True, slots=True)
class IdentityKey:
    kind: str
    value: str

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.value}"

    @classmethod
    def parse(cls, key: str) -> IdentityKey:
        kind, _, value = key.partition(":")
        return cls(kind, value)


@lru_cache(maxsize=200_000)
def normalize_email(raw: str) -> str:
    text = raw.strip()
    local, _, domain = text.partition("@")
    if text.isascii() and len(text) <= EMAIL_MAX_LENGTH and DOT_ATOM_TEXT.match(local):
        known = _plain_email_domain(domain)
        if known is not None:
            return f"{local}@{known}".lower()
    try:
        info = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise IdentityError(f"not a valid email address: {raw!r} ({exc})") from exc
    return info.normalized.lower()


@lru_cache(maxsize=10_000)
def _plain_email_domain(domain: str) -> str | None:
    """The normalised domain when email_validator accepts it and it stays plain ASCII of the same
    length, else None. Validating a domain does not depend on the part before the @, so for an ASCII
    dot-atom local part (always valid) no longer than the overall limit, `local@domain` is valid
    exactly when `x@domain` is, with the same normalised domain: each new address costs a regex
    match instead of a full email_validator run (~40 µs, most of it in the domain's IDNA checks).
    """
    try:
        info = validate_email("x@" + domain, check_deliverability=False)
    except EmailNotValidError:
        return None
    plain = info.domain == info.ascii_domain and len(info.domain) == len(domain)
    return info.domain if plain else None


def normalize_phone(raw: str, default_region: str = "US") -> str:
    """The number in E.164, with its extension as RFC 3966 writes it (`+16465550100;ext=123`):
    two extensions of one switchboard are two people, and the bare number a third."""
    return _phone(raw, default_region)[0]


@lru_cache(maxsize=200_000)
def _phone(raw: str, default_region: str) -> tuple[str, str]:
    """The key's value (`normalize_phone`) and the national number's digits."""
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as exc:
        raise IdentityError(f"not a phone number: {raw!r} ({exc})") from exc
    if not phonenumbers.is_possible_number(number):
        raise IdentityError(f"not a possible phone number: {raw!r}")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    value = f"{e164};ext={number.extension}" if number.extension else e164
    return value, e164[1 + len(str(number.country_code)) :]


def normalize_handle(network: str, raw: str) -> str:
    network = network.strip().lower()
    if network not in SOCIAL_NETWORKS:
        raise IdentityError(
            f"unknown social network {network!r}; allowed: {', '.join(SOCIAL_NETWORKS)}"
        )
    handle = raw.strip().lstrip("@").lower()
    if not handle:
        raise IdentityError(f"empty {network} handle")
    return f"{network}:{handle}"


def identity_keys(
    *,
    email: str | None = None,
    phone: str | None = None,
    external_id: str | None = None,
    anonymous_id: str | None = None,
    handles: dict[str, str] | None = None,
    default_region: str = "US",
) -> list[IdentityKey]:
    """All identity keys an event carries, normalised; raises IdentityError on a bad value."""
    keys = identity_key_strings(
        email=email,
        phone=phone,
        external_id=external_id,
        anonymous_id=anonymous_id,
        handles=handles,
        default_region=default_region,
    )
    return [IdentityKey.parse(key) for key in keys]


def identity_key_strings(
    *,
    email: str | None = None,
    phone: str | None = None,
    external_id: str | None = None,
    anonymous_id: str | None = None,
    handles: dict[str, str] | None = None,
    default_region: str = "US",
) -> list[str]:
    """`identity_keys` as `kind:value` strings."""
    return key_strings(email, phone, external_id, anonymous_id, handles, default_region)


def key_strings(
    email: str | None,
    phone: str | None,
    external_id: str | None,
    anonymous_id: str | None,
    handles: dict[str, str] | None,
    default_region: str,
) -> list[str]:
    """`identity_key_strings` with positional arguments (no placeholder is refused)."""
    return usable_keys(email, phone, external_id, anonymous_id, handles, default_region, NO_JUNK)[0]


def usable_keys(
    email: str | None,
    phone: str | None,
    external_id: str | None,
    anonymous_id: str | None,
    handles: dict[str, str] | None,
    default_region: str,
    junk: JunkIdentifiers,
) -> tuple[list[str], list[tuple[str, str]]]:
    """The event's identity keys, normalised (IdentityError on a bad value), and the placeholders
    `junk` names, left out: (field, value as sent). For the ingest hot path. A value is checked
    before it is judged a placeholder: `"email": "null"` is no email address and is refused as
    before, `"email": "test@test.com"` is one and is left out."""
    keys: list[str] = []
    dropped: list[tuple[str, str]] = []
    is_junk = junk.is_junk
    if external_id:
        if is_junk("external_id", external_id):
            dropped.append(("external_id", external_id))
        else:
            keys.append("external_id:" + external_id.strip())
    if email:
        address = normalize_email(email)
        if is_junk("email", email, address):
            dropped.append(("email", email))
        else:
            keys.append("email:" + address)
    if phone:
        value = _usable_phone(phone, default_region, junk)
        if value is None:
            dropped.append(("phone", phone))
        else:
            keys.append("phone:" + value)
    if handles:
        for network, handle in handles.items():
            key = normalize_handle(network, handle)
            if is_junk("handle", handle.strip().lstrip("@")):
                dropped.append((f"handles.{network}", handle))
            else:
                keys.append("handle:" + key)
    if anonymous_id:
        if is_junk("anonymous_id", anonymous_id):
            dropped.append(("anonymous_id", anonymous_id))
        else:
            keys.append("anonymous_id:" + anonymous_id.strip())
    return keys, dropped


def _usable_phone(raw: str, default_region: str, junk: JunkIdentifiers) -> str | None:
    """The phone's key value, or None for a placeholder once parsed: a national number of one
    digit repeated (`000-000-0000`, `+1 111 111 1111`), or one `junk` names by its digits."""
    value, national = _phone(raw, default_region)
    if junk and (len(set(national)) == 1 or junk.is_junk("phone", raw, national, value)):
        return None
    return value


# --- placeholders ------------------------------------------------------------------------------

# What senders put where an identity is missing: a serialised nothing from JavaScript or a
# template (`undefined`, `null`, `NaN`, `[object Object]`), a form's filler (`n/a`, `-`,
# `test@test.com`, `noemail@…`), a default id (`0`, `anonymous`). Compared as sent, trimmed,
# in any case; an entry `kind:value` names one kind only, and `*` stands for any text. Kept to
# values no real person has: a wrong entry would keep a person's events apart for good.
DEFAULT_JUNK_IDENTIFIERS: tuple[str, ...] = (
    "undefined",
    "null",
    "nil",
    "none",
    "nan",
    "0",
    "-",
    "n/a",
    "unknown",
    "anonymous",
    "[object object]",
    "test@test.com",
    "example@example.com",
    "test@example.com",
    "email@example.com",
    "user@example.com",
    "noemail@*",
    "no-email@*",
    "nomail@*",
    "none@*",
    "null@*",
    "undefined@*",
    "phone:1234567890",
)
# The kinds an entry may name (`email:test@test.com`); a previous_id is judged as either id.
JUNK_KINDS = ("external_id", "email", "phone", "handle", "anonymous_id")


class JunkIdentifiers:
    """Placeholder values that are never an identity. False when there are none (and then a
    phone of one repeated digit is a key like any other)."""

    __slots__ = ("entries", "_any", "_kinds", "_patterns")

    def __init__(self, entries: Iterable[str] = DEFAULT_JUNK_IDENTIFIERS) -> None:
        self.entries = tuple(check_junk_entries(entries))
        self._any: set[str] = set()
        self._kinds: dict[str, set[str]] = {kind: set() for kind in JUNK_KINDS}
        wild: dict[str | None, list[str]] = {}
        for entry in self.entries:
            kind, value = _junk_entry(entry)
            if "*" in value:
                pattern = ".*".join(re.escape(part) for part in value.split("*"))
                wild.setdefault(kind, []).append(pattern)
            else:
                (self._any if kind is None else self._kinds[kind]).add(value)
        self._patterns = {
            kind: re.compile("|".join(parts), re.DOTALL) for kind, parts in wild.items()
        }

    def __bool__(self) -> bool:
        return bool(self.entries)

    def is_junk(self, kind: str, *values: str) -> bool:
        """Whether any of these spellings of one value of `kind` is a placeholder."""
        mine = self._kinds.get(kind, ())
        for raw in values:
            text = raw.strip().casefold()
            if text in self._any or text in mine:
                return True
            for owner in (None, kind):
                pattern = self._patterns.get(owner)
                if pattern is not None and pattern.fullmatch(text):
                    return True
        return False

    def is_junk_id(self, value: str) -> bool:
        """Whether an alias's previous id is a placeholder: it may be either kind of id."""
        return self.is_junk("external_id", value) or self.is_junk("anonymous_id", value)


def _junk_entry(entry: str) -> tuple[str | None, str]:
    """(the kind an entry names, or None for any; its value, folded)."""
    head, colon, rest = entry.partition(":")
    if colon and head.strip().lower() in JUNK_KINDS:
        return head.strip().lower(), rest.strip().casefold()
    return None, entry.strip().casefold()


def check_junk_entries(entries: Iterable[str]) -> list[str]:
    """Placeholder entries as given, or IdentityError naming the bad one: text with a value
    (`*` alone would make every identity a placeholder)."""
    checked = []
    for entry in entries:
        if not isinstance(entry, str):
            raise IdentityError(f"a junk identifier must be text; got {entry!r}")
        _kind, value = _junk_entry(entry)
        if not value.replace("*", "").strip():
            raise IdentityError(f"junk identifier {entry!r} names no value")
        checked.append(entry)
    return checked


NO_JUNK = JunkIdentifiers(())


# --- rules over keys -------------------------------------------------------------------------


def kind_of(key: str) -> str:
    """The kind of a `kind:value` key."""
    return key.partition(":")[0]


def strength(key: str) -> int:
    """The rank of a key's kind in IDENTITY_KINDS (0 = strongest); unknown kinds rank last."""
    return _STRENGTH.get(kind_of(key), len(IDENTITY_KINDS))


def strongest(keys: Iterable[str]) -> str | None:
    """The strongest of these keys (ties within a kind: the first in text order), or None."""
    return min(keys, key=_strength_order, default=None)


def _strength_order(key: str) -> tuple[int, str]:
    return strength(key), key


def alias_key(previous_id: str) -> str:
    """The key an alias call records for its `previousId`."""
    return f"{ALIAS_KIND}:{previous_id.strip()}"


def alias_partners(key: str) -> tuple[str, ...]:
    """The keys an alias edge ties to `key`. Segment's `previousId` may be an earlier user id or
    an anonymous id, and a sender cannot say which, so `previous_id:P` links `external_id:P` and
    `anonymous_id:P`, whichever exist, whenever they appear (before or after the alias)."""
    kind, _, value = key.partition(":")
    if kind == ALIAS_KIND:
        return tuple(f"{aliased}:{value}" for aliased in _ALIASED_KINDS)
    if kind in _ALIASED_KINDS:
        return (f"{ALIAS_KIND}:{value}",)
    return ()


def check_merge_limits(limits: Mapping[str, int]) -> dict[str, int]:
    """Merge limits as given, or IdentityError naming the bad entry: each a limitable kind
    mapped to a whole number of keys, at least 1."""
    checked: dict[str, int] = {}
    for kind, limit in limits.items():
        if kind not in LIMITABLE_KINDS:
            raise IdentityError(
                f"merge limit for unknown identity kind {kind!r}; "
                f"kinds: {', '.join(LIMITABLE_KINDS)}"
            )
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise IdentityError(
                f"merge limit for {kind} must be a whole number >= 1; got {limit!r}"
            )
        checked[kind] = limit
    return checked
