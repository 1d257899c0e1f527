"""Identity keys: normalise emails, phones, ids and handles into `kind:value` strings, and the
rules every identity decision shares: how strong each kind is, what an alias links, and the merge
limits.

A customer is known by any number of identity keys; two events sharing a key are the same person,
unless merge protection (`merge_limits`) says the shared key cannot prove it.
"""

from __future__ import annotations

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


@lru_cache(maxsize=200_000)
def normalize_phone(raw: str, default_region: str = "US") -> str:
    """The number in E.164, with its extension as RFC 3966 writes it (`+16465550100;ext=123`):
    two extensions of one switchboard are two people, and the bare number a third."""
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as exc:
        raise IdentityError(f"not a phone number: {raw!r} ({exc})") from exc
    if not phonenumbers.is_possible_number(number):
        raise IdentityError(f"not a possible phone number: {raw!r}")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return f"{e164};ext={number.extension}" if number.extension else e164


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
    """`identity_key_strings` with positional arguments, for the ingest hot path."""
    keys: list[str] = []
    if external_id:
        keys.append("external_id:" + external_id.strip())
    if email:
        keys.append("email:" + normalize_email(email))
    if phone:
        keys.append("phone:" + normalize_phone(phone, default_region))
    if handles:
        for network, handle in handles.items():
            keys.append("handle:" + normalize_handle(network, handle))
    if anonymous_id:
        keys.append("anonymous_id:" + anonymous_id.strip())
    return keys


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
