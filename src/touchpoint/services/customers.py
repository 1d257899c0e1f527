"""Customer 360: find customers by any identity and show profile, identities and timeline."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from touchpoint.domain.identity import SOCIAL_NETWORKS, IdentityError, identity_keys
from touchpoint.domain.moments import utc_text
from touchpoint.domain.vocabulary import CHANNELS
from touchpoint.errors import NotFound, ValidationError
from touchpoint.services.lifecycle import model_in_force
from touchpoint.store import customers, log, queue_customers
from touchpoint.store import lifecycle as lifecycle_store
from touchpoint.store import segments as segment_store
from touchpoint.store.tables import MAX_SEQ

MAX_MERGE_HOPS = 100


@dataclass(frozen=True)
class CustomerSummary:
    """One customer as a list shows them: who, how to reach them, stage and activity."""

    id: str
    name: str | None
    email: str | None
    phone: str | None
    external_id: str | None
    created_at: datetime
    updated_at: datetime
    traits: dict[str, Any]
    stage: str | None
    interaction_count: int
    first_seen_at: datetime | None
    last_seen_at: datetime | None
    revenue: float


def pseudonymised(summary: CustomerSummary) -> CustomerSummary:
    """The row without what identifies the person — name, email, phone, external id and every
    trait — keeping the pseudonymous customer id, the stage and the activity (what an analyst
    sees: aggregates and pseudonymised rows)."""
    return replace(summary, name=None, email=None, phone=None, external_id=None, traits={})


@dataclass(frozen=True)
class Identity:
    kind: str
    value: str
    first_seen_at: datetime


@dataclass(frozen=True)
class Merge:
    merge_id: int  # what `customer unmerge` takes
    customer_id: str  # the customer merged into this one
    merged_at: datetime
    cause: str  # identity (a shared key), alias, or manual
    linking_key: str | None  # the identity that showed they were the same person (None: by hand)


@dataclass(frozen=True)
class StageTransition:
    from_stage: str | None
    to_stage: str
    at: datetime
    interaction_id: str | None  # None when time passing caused it
    reason: str


@dataclass(frozen=True)
class CustomerLifecycle:
    stage: str | None
    since: datetime | None
    model: str | None
    history: tuple[StageTransition, ...]  # oldest first


@dataclass(frozen=True)
class TimelineEntry:
    """One interaction of the customer's timeline."""

    seq: int
    id: str
    customer_id: str
    occurred_at: datetime
    received_at: datetime
    channel: str
    direction: str
    type: str
    name: str | None
    source: str | None
    medium: str | None
    campaign: str | None
    keyword: str | None
    creative: str | None
    agent: str | None
    queue: str | None
    duration_s: float | None
    outcome: str | None
    revenue: float | None
    currency: str | None
    properties: dict[str, Any]


@dataclass(frozen=True)
class CustomerView(CustomerSummary):
    """The customer 360: the summary plus identities, merges, lifecycle and a timeline page."""

    requested_id: str  # differs from id when the requested customer was merged away
    identities: tuple[Identity, ...]
    merged_from: tuple[Merge, ...]
    lifecycle: CustomerLifecycle
    timeline: tuple[TimelineEntry, ...]  # newest first
    next_cursor: str | None


_TIMELINE_FIELDS = tuple(f.name for f in fields(TimelineEntry))


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
    handles: dict[str, str] | None = None,
    default_region: str = "US",
) -> list[str]:
    try:
        keys = identity_keys(
            email=email,
            phone=phone,
            external_id=external_id,
            anonymous_id=anonymous_id,
            handles=handles,
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
) -> tuple[int, list[CustomerSummary]]:
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


def find_one(conn: Connection, query: str, *, default_region: str) -> str:
    """The customer a person means by `query`: a customer id (cus_…), an email, phone, social
    handle (`instagram:kimberly_b`), external id or anonymous id, guessed from its shape, or
    else a name (`Kimberly Brooks`, any case). A name several customers share is refused with
    their ids, to pick one."""
    if query.startswith("cus_"):
        return query
    for guess in _guesses(query):
        try:
            keys = lookup_keys(default_region=default_region, **guess)
        except ValidationError:
            continue
        _total, found = find_customers(conn, keys, limit=1)
        if found:
            return found[0].id
    named = customers.ids_named(conn, query, limit=NAMESAKES_SHOWN + 1)
    if len(named) == 1:
        return named[0]
    if named:
        listed = ", ".join(
            f"{s.id} ({s.email or s.phone or 'no email'})"
            for s in (summary(conn, cid) for cid in named[:NAMESAKES_SHOWN])
        )
        more = " and more" if len(named) > NAMESAKES_SHOWN else ""
        raise ValidationError(
            f"several customers are named {query!r}: {listed}{more}; pick one by id"
        )
    raise NotFound(f"no customer known by {query!r}")


NAMESAKES_SHOWN = 5


def _guesses(query: str) -> list[dict[str, Any]]:
    if "@" in query and not query.startswith("@"):
        return [{"email": query}]
    network, colon, handle = query.partition(":")
    if colon and network.lower() in SOCIAL_NETWORKS:
        return [{"handles": {network.lower(): handle}}, {"external_id": query}]
    if query.lstrip("+").translate(str.maketrans("", "", " -()")).isdigit():
        return [{"phone": query}, {"external_id": query}]
    return [{"external_id": query}, {"anonymous_id": query}]


def check_stage(conn: Connection, stage: str) -> None:
    """A stage of the model in force, or a ValidationError listing them."""
    names = model_in_force(conn).all_stages
    if stage not in names:
        raise ValidationError(
            f"unknown stage {stage!r}; the model in force has: {', '.join(names)}"
        )


def summary(conn: Connection, customer_id: str) -> CustomerSummary:
    return CustomerSummary(**_summary_fields(conn, customer_id))


def _summary_fields(conn: Connection, customer_id: str) -> dict[str, Any]:
    row = customers.get(conn, customer_id)
    if row is None:
        raise NotFound(f"no customer {customer_id!r}")
    ids = customers.identities_of(conn, customer_id)
    traits = row["traits"] or {}
    stats = log.customer_stats(conn, customer_id)
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
        "interaction_count": int(stats["interaction_count"]),
        "first_seen_at": stats["first_seen_at"],
        "last_seen_at": stats["last_seen_at"],
        "revenue": float(stats["revenue"]),
    }


@dataclass(frozen=True)
class TimelineFilter:
    """Which of a customer's interactions a timeline shows: a channel, a type, those that
    occurred since a moment (None: any)."""

    channel: str | None = None
    interaction_type: str | None = None
    since: datetime | None = None

    def __post_init__(self) -> None:
        if self.channel is not None and self.channel not in CHANNELS:
            raise ValidationError(
                f"channel: unknown channel {self.channel!r}; allowed: {', '.join(CHANNELS)}"
            )


def timeline_page(
    conn: Connection,
    customer_id: str,
    *,
    limit: int = 50,
    cursor: str | None = None,
    shown: TimelineFilter | None = None,
) -> tuple[tuple[TimelineEntry, ...], str | None]:
    """One page of the timeline of a current customer id, newest first, and the cursor of the
    next (None: the last page)."""
    shown = shown or TimelineFilter()
    rows = log.timeline(
        conn,
        customer_id,
        limit=limit + 1,
        before=_decode_cursor(cursor),
        channel=shown.channel,
        interaction_type=shown.interaction_type,
        since=shown.since,
    )
    page = tuple(_timeline_entry(row) for row in rows[:limit])
    return page, _encode_cursor(page[-1]) if len(rows) > limit and page else None


def customer_view(
    conn: Connection,
    customer_id: str,
    *,
    limit: int = 50,
    cursor: str | None = None,
    shown: TimelineFilter | None = None,
) -> CustomerView:
    """Profile, identities, merges and one page of the timeline, newest first."""
    cid = current_id(conn, customer_id)
    page, next_cursor = timeline_page(conn, cid, limit=limit, cursor=cursor, shown=shown)
    return CustomerView(
        **_summary_fields(conn, cid),
        requested_id=customer_id,
        identities=tuple(
            Identity(i["kind"], i["key"].partition(":")[2], i["first_seen_at"])
            for i in customers.identities_of(conn, cid)
        ),
        merged_from=tuple(
            Merge(m["seq"], m["merged_id"], m["merged_at"], m["cause"], m["linking_key"])
            for m in customers.merges_into(conn, cid)
        ),
        lifecycle=lifecycle_of(conn, cid),
        timeline=page,
        next_cursor=next_cursor,
    )


@dataclass(frozen=True)
class SegmentMembership:
    segment_id: str
    name: str
    since: datetime  # when the customer entered it (this time)


def segments_of(conn: Connection, customer_id: str) -> list[SegmentMembership]:
    """The segments a customer is in now, by name, with when they entered each."""
    return [
        SegmentMembership(row["id"], row["name"], row["entered_at"])
        for row in segment_store.memberships_of(conn, current_id(conn, customer_id))
    ]


# --- an agent's customers -----------------------------------------------------------------------


def of_queues(conn: Connection, customer_id: str, queues: Collection[str]) -> bool:
    """Whether a customer (a current id) is a customer of these contact-center queues: they (or
    a customer merged into them) have a contact, a callback, a ticket or an interaction of the
    log in one of them. An agent sees the customers of their queues only (domain.access)."""
    return queue_customers.serves(conn, customer_id, queues)


def reachable_id(conn: Connection, customer_id: str, queues: Collection[str] | None) -> str:
    """The current id of a customer the caller may open: anyone (`queues` None), or a customer
    of `queues`; any other is refused as an unknown one is, so an agent learns nothing of
    customers beyond their queues."""
    cid = current_id(conn, customer_id)
    if queues is not None and not of_queues(conn, cid, queues):
        raise NotFound(f"no customer {customer_id!r}")
    return cid


def find_in_queues(
    conn: Connection,
    queues: Collection[str],
    *,
    stage: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[int, list[CustomerSummary]]:
    """The customers of these queues (and, if given, now in `stage`), oldest first."""
    if stage is not None:
        check_stage(conn, stage)
    total, page = queue_customers.ids_of_queues(
        conn, queues, stage=stage, limit=limit, offset=offset
    )
    return total, [summary(conn, cid) for cid in page]


def _timeline_entry(row: dict[str, Any]) -> TimelineEntry:
    values = {name: row[name] for name in _TIMELINE_FIELDS}
    return TimelineEntry(**{**values, "properties": values["properties"] or {}})


def lifecycle_of(conn: Connection, customer_id: str) -> CustomerLifecycle:
    """Current stage (with since and model) and the full stage history, oldest first."""
    current = lifecycle_store.current_stage(conn, customer_id) or {}
    return CustomerLifecycle(
        stage=current.get("stage"),
        since=current.get("since"),
        model=current.get("model"),
        history=tuple(
            StageTransition(
                from_stage=t["from_stage"],
                to_stage=t["to_stage"],
                at=t["at"],
                interaction_id=t["interaction_id"],
                reason=t["reason"],
            )
            for t in lifecycle_store.history(conn, customer_id)
        ),
    )


def _encode_cursor(entry: TimelineEntry) -> str:
    return f"{utc_text(entry.occurred_at)}~{entry.seq}"


def _decode_cursor(cursor: str | None) -> tuple[datetime, int] | None:
    if not cursor:
        return None
    at_text, _, seq_text = cursor.rpartition("~")
    try:
        at, seq = datetime.fromisoformat(at_text), int(seq_text)
        if at.tzinfo is None or not 0 <= seq <= MAX_SEQ:
            raise ValueError
        at = at.astimezone(UTC)
    except (ValueError, OverflowError):
        raise ValidationError(f"bad timeline cursor {cursor!r}; use next_cursor as given") from None
    return at, seq


def _latest(identities: list[dict[str, Any]], kind: str) -> str | None:
    values = [i["key"].partition(":")[2] for i in identities if i["kind"] == kind]
    return values[-1] if values else None


def _full_name(traits: dict[str, Any]) -> str | None:
    parts = [str(traits[k]) for k in ("first_name", "last_name") if traits.get(k)]
    return " ".join(parts) or None
