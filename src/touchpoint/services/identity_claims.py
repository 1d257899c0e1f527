"""Identity verification for browser keys: a web page may not claim a `userId` (external id)
that belongs to a customer a server identified, unless the site's server signed it.

A browser key is public, so anyone can send `identify("victim's id")` with it. The site's server
signs the id it puts in its page — `user_hash = HMAC-SHA256(identity secret, userId)` as hex, the
scheme of Intercom's identity verification — and the page sends it as `context.user_hash`. A
message from a browser key whose userId is already known and was not first claimed by an
unsigned browser identify (so a server key, or a signed identify, tied it to its customer) is
linked only when signed; otherwise it is stored as the visitor's anonymous activity (its
anonymousId), with the claimed id kept as `properties.unverified_user_id`, and never merged into
that customer (docs/decisions.md: why store rather than refuse). A new userId needs no signature.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from touchpoint.domain.access import BROWSER_SCOPE
from touchpoint.ingest.report import IngestReport, ItemResult
from touchpoint.services import recording
from touchpoint.services.access import Principal
from touchpoint.store import identity_claims as store
from touchpoint.store import keys as key_store
from touchpoint.store.engine import read_connection, write_transaction

if TYPE_CHECKING:
    from touchpoint.runtime import Touchpoint

USER_HASH_FIELD = "user_hash"  # context.user_hash: the signature a page sends
_CLAIMED_BY_LINK = ("external_id", "email", "phone")  # what would tie the visitor to someone

Item = tuple[int, "dict[str, Any] | ItemResult"]


def user_hash(secret: str, user_id: str) -> str:
    """The signature of `user_id` a site's server computes with the browser key's secret."""
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def signature_of(message: dict[str, Any]) -> str | None:
    """The `context.user_hash` a Segment message carries, if any."""
    context = message.get("context")
    value = context.get(USER_HASH_FIELD) if isinstance(context, dict) else None
    return value if isinstance(value, str) else None


@dataclass
class _Screen:
    items: list[Item]
    new_claims: set[str] = field(default_factory=set)


def record_messages(
    tp: Touchpoint,
    principal: Principal,
    items: Iterable[Item],
    signatures: dict[int, str | None],
    *,
    keep_results: bool = True,
) -> IngestReport:
    """Record Segment messages (position, interaction or its rejection) sent by `principal`,
    holding a browser key's unsigned claims on known userIds to the rule above; `signatures`:
    each position's `context.user_hash`."""
    batch = list(items)
    if principal.kind == "key" and principal.role == BROWSER_SCOPE:
        screen = _screened(tp, principal.id, batch, signatures)
        report = recording.record(
            tp, screen.items, actor=principal.actor, keep_results=keep_results
        )
        if screen.new_claims:
            with write_transaction(tp.engine) as conn:
                store.note_browser_claims(conn, screen.new_claims, datetime.now(UTC))
        return report
    report = recording.record(tp, batch, actor=principal.actor, keep_results=keep_results)
    _release(tp, batch)
    return report


def _external_key(user_id: Any) -> str | None:
    """The identity key a userId claims; None for none, or for text that is not valid Unicode
    (a lone surrogate: validation refuses that message, and no query may carry it)."""
    if not isinstance(user_id, str) or not user_id.strip():
        return None
    try:
        user_id.encode()
    except UnicodeEncodeError:
        return None
    return "external_id:" + user_id.strip()


def _screened(
    tp: Touchpoint, key_id: str, batch: list[Item], signatures: dict[int, str | None]
) -> _Screen:
    claims: dict[int, str] = {}  # position -> key of an unsigned claim
    aliases: dict[int, str] = {}  # position -> key an alias's previousId may name
    with read_connection(tp.engine) as conn:
        secret: str | None = None
        for position, raw in batch:
            if not isinstance(raw, dict):
                continue
            user_id = raw.get("customer", {}).get("external_id")
            key = _external_key(user_id)
            if key is not None:
                if secret is None:
                    secret = key_store.identity_secret(conn, key_id) or ""
                if not _signed(secret, user_id, signatures.get(position)):
                    claims[position] = key
            previous = (
                raw.get("properties", {}).get("previous_id") if raw["type"] == "alias" else None
            )
            if (found := _external_key(previous)) is not None:
                aliases[position] = found
        owned = store.owned_elsewhere(conn, set(claims.values()) | set(aliases.values()))
        known = store.known(conn, set(claims.values()))
    screen = _Screen([])
    for position, raw in batch:
        if isinstance(raw, dict) and aliases.get(position) in owned:
            raw = ItemResult(position, "rejected", raw.get("id"), reason=_ALIAS_REFUSED)
        elif isinstance(raw, dict) and claims.get(position) in owned:
            raw = _anonymous(position, raw)
        elif isinstance(raw, dict) and position in claims and claims[position] not in known:
            screen.new_claims.add(claims[position])
        screen.items.append((position, raw))
    return screen


_ALIAS_REFUSED = "previousId: names a customer a server identified; a browser key may not alias it"


def _signed(secret: str, user_id: str, signature: str | None) -> bool:
    if not secret or not signature:
        return False
    return hmac.compare_digest(user_hash(secret, user_id), signature.strip().lower())


def _anonymous(position: int, raw: dict[str, Any]) -> dict[str, Any] | ItemResult:
    """`raw` as the visitor's own anonymous activity: no identity that would tie it to anyone
    but its anonymousId, the claimed id kept for the record."""
    customer = dict(raw["customer"])
    user_id = customer["external_id"]
    for kind in _CLAIMED_BY_LINK:
        customer.pop(kind, None)
    if not customer.get("anonymous_id"):
        return ItemResult(
            position,
            "rejected",
            raw.get("id"),
            reason="userId: belongs to a customer a server identified; a browser key needs "
            f"the identify signed (context.{USER_HASH_FIELD}) or an anonymousId",
        )
    properties = {**raw.get("properties", {}), "unverified_user_id": user_id}
    return {**raw, "customer": customer, "properties": properties}


def _release(tp: Touchpoint, batch: list[Item]) -> None:
    """A server's message names these userIds: an unsigned browser identify no longer claims
    them (one read, and a write only when one was browser-claimed)."""
    keys = {
        key
        for _, raw in batch
        if isinstance(raw, dict)
        and (key := _external_key(raw.get("customer", {}).get("external_id")))
    }
    if not keys:
        return
    with read_connection(tp.engine) as conn:
        marked = store.claimed(conn, keys)
    if marked:
        with write_transaction(tp.engine) as conn:
            store.release(conn, marked)
