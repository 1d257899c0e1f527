"""Customer 360: find customers by any identity and show profile, identities and timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from touchpoint.domain.identity import IdentityError, identity_keys
from touchpoint.domain.moments import utc_text
from touchpoint.errors import NotFound, ValidationError
from touchpoint.services.lifecycle import model_in_force
from touchpoint.store import customers, log
from touchpoint.store import lifecycle as lifecycle_store

MAX_MERGE_HOPS = 100


def current_id(conn: Connection, customer_id: str) -> str:
    """Follow merges: a merged-away id answers with the customer it became."""
    for _ in range(MAX_MERGE_HOPS):
        row = customers.get(conn, customer_id)
        if row is None:
            raise NotFound(f"no customer {customer_id!r}")
        if row["merged_into"] is None:
            return customer_id
        customer_id = row["merged_into"]
    raise NotFound(f"merge chain too long at {customer_id!r}")


def lookup_keys(
    *,
    email: str | None = None,
    phone: str | None = None,
    external_id: str | None = None,
    anonymous_id: str | None = None,
    default_region: str = "US",
) -> list[str]:
    try:
        keys = identity_keys(
            email=email,
            phone=phone,
            external_id=external_id,
            anonymous_id=anonymous_id,
            default_region=default_region,
        )
    except IdentityError as exc:
        raise ValidationError(str(exc)) from None
    return [k.key for k in keys]


def find_customers(
    conn: Connection,
    keys: list[str],
    *,
    stage: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[int, list[dict[str, Any]]]:
    """Customers holding every given identity key and, if given, now in `stage` (all customers
    when neither is given; with only a stage, those who entered it most recently first)."""
    if stage is not None:
        check_stage(conn, stage)
    if keys:
        owners = {customers.find_by_key(conn, key) for key in keys}
        ids = [] if None in owners or len(owners) != 1 else [str(owners.pop())]
        if ids and stage is not None:
            current = lifecycle_store.current_stage(conn, ids[0])
            ids = ids if current and current["stage"] == stage else []
        total, page = len(ids), ids[offset : offset + limit]
    elif stage is not None:
        total, page = customers.ids_in_stage(conn, stage, limit=limit, offset=offset)
    else:
        total, page = customers.list_ids(conn, limit=limit, offset=offset)
    return total, [summary(conn, cid) for cid in page]


def check_stage(conn: Connection, stage: str) -> None:
    """A stage of the model in force, or a ValidationError listing them."""
    names = model_in_force(conn).all_stages
    if stage not in names:
        raise ValidationError(
            f"unknown stage {stage!r}; the model in force has: {', '.join(names)}"
        )


def summary(conn: Connection, customer_id: str) -> dict[str, Any]:
    row = customers.get(conn, customer_id)
    if row is None:
        raise NotFound(f"no customer {customer_id!r}")
    ids = customers.identities_of(conn, customer_id)
    traits = row["traits"] or {}
    return {
        "id": customer_id,
        "name": traits.get("name") or _full_name(traits),
        "email": _latest(ids, "email"),
        "phone": _latest(ids, "phone"),
        "external_id": _latest(ids, "external_id"),
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "traits": traits,
        "stage": (lifecycle_store.current_stage(conn, customer_id) or {}).get("stage"),
        **log.customer_stats(conn, customer_id),
    }


def customer_view(
    conn: Connection, customer_id: str, *, limit: int = 50, cursor: str | None = None
) -> dict[str, Any]:
    """Profile, identities, merges and one page of the timeline, newest first."""
    cid = current_id(conn, customer_id)
    page = log.timeline(conn, cid, limit=limit + 1, before=_decode_cursor(cursor))
    more = len(page) > limit
    page = page[:limit]
    return {
        **summary(conn, cid),
        "requested_id": customer_id,
        "identities": [
            {
                "kind": i["kind"],
                "value": i["key"].partition(":")[2],
                "first_seen_at": i["first_seen_at"],
            }
            for i in customers.identities_of(conn, cid)
        ],
        "merged_from": [
            {
                "customer_id": m["merged_id"],
                "merged_at": m["merged_at"],
                "linking_key": m["linking_key"],
            }
            for m in customers.merges_into(conn, cid)
        ],
        "lifecycle": lifecycle_of(conn, cid),
        "timeline": page,
        "next_cursor": _encode_cursor(page[-1]) if more and page else None,
    }


def lifecycle_of(conn: Connection, customer_id: str) -> dict[str, Any]:
    """Current stage (with since and model) and the full stage history, oldest first."""
    current = lifecycle_store.current_stage(conn, customer_id) or {
        "stage": None,
        "since": None,
        "model": None,
    }
    return {**current, "history": lifecycle_store.history(conn, customer_id)}


def _encode_cursor(row: dict[str, Any]) -> str:
    return f"{utc_text(row['occurred_at'])}~{row['seq']}"


def _decode_cursor(cursor: str | None) -> tuple[datetime, int] | None:
    if not cursor:
        return None
    at, _, seq = cursor.rpartition("~")
    try:
        return datetime.fromisoformat(at), int(seq)
    except ValueError:
        raise ValidationError(f"bad timeline cursor {cursor!r}; use next_cursor as given") from None


def _latest(identities: list[dict[str, Any]], kind: str) -> str | None:
    values = [i["key"].partition(":")[2] for i in identities if i["kind"] == kind]
    return values[-1] if values else None


def _full_name(traits: dict[str, Any]) -> str | None:
    parts = [str(traits[k]) for k in ("first_name", "last_name") if traits.get(k)]
    return " ".join(parts) or None
