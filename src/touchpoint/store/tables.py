"""The tables of the system of record (SQLAlchemy Core). Alembic migrations mirror this file."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from touchpoint.store.types import UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only makes INTEGER PRIMARY KEY an alias of the rowid (fast, ordered); PG gets BIGINT.
SeqType = BigInteger().with_variant(Integer, "sqlite")
MAX_SEQ = 2**63 - 1  # the largest value a SeqType (64-bit) column holds

customers = Table(
    "customers",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("traits", JSON, nullable=False, default=dict),
    # {trait: when the interaction that set its value occurred (UTC, ISO text)}; NULL = before 0004
    Column("trait_times", JSON, nullable=True),
    Column("merged_into", String(40), nullable=True, index=True),
)

identities = Table(
    "identities",
    metadata,
    Column("key", String(400), primary_key=True),  # "kind:value", e.g. "email:ann@example.com"
    Column("kind", String(20), nullable=False),
    Column("customer_id", String(40), ForeignKey("customers.id"), nullable=False, index=True),
    Column("first_seen_at", UTCDateTime, nullable=False),
)

interactions = Table(
    "interactions",
    metadata,
    Column("seq", SeqType, primary_key=True, autoincrement=True),
    Column("id", String(200), nullable=False, unique=True),  # idempotency key
    Column("customer_id", String(40), ForeignKey("customers.id"), nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("channel", String(20), nullable=False),
    Column("direction", String(10), nullable=False),
    Column("type", String(40), nullable=False),
    Column("name", String(200)),  # the source's own event name, e.g. Segment's "Order Completed"
    Column("source", String(200)),
    Column("medium", String(200)),
    Column("campaign", String(200)),
    Column("keyword", String(200)),
    Column("creative", String(200)),
    Column("agent", String(200)),
    Column("queue", String(200)),
    Column("duration_s", Float),
    Column("outcome", String(200)),
    Column("revenue", Float),
    Column("currency", String(3)),
    Column("properties", JSON, nullable=False, default=dict),
    # The identity keys the interaction carried (normalised `kind:value`), so the log alone says
    # who it came from: an unmerge re-points it by them. NULL for rows stored before 0006.
    Column("identity_keys", JSON),
    # A customer's interactions by time; type, direction and queue ride along so that counting
    # a batch's customers' behaviours for the segments (store.segment_rules) reads the index
    # alone, touching the table only for a property (category, wait) of a row that needs one.
    Index(
        "ix_interactions_customer_occurred",
        "customer_id",
        "occurred_at",
        "type",
        "direction",
        "queue",
    ),
    # Rows of a type by moment: the loyalty job's incremental runs find the purchases leaving the
    # 12 months' spend, the awards whose points expire and the rows stored ahead of their moment
    # that came due, without reading the whole log (0028).
    Index("ix_interactions_type_occurred", "type", "occurred_at"),
)

merges = Table(
    "merges",
    metadata,
    Column("seq", SeqType, primary_key=True, autoincrement=True),
    Column("survivor_id", String(40), nullable=False, index=True),
    Column("merged_id", String(40), nullable=False, index=True),
    Column("merged_at", UTCDateTime, nullable=False),
    Column("interaction_id", String(200)),  # the event that tied them (NULL: a merge by hand)
    Column("linking_key", String(400)),  # the key that did (NULL: a merge by hand)
    Column("moved_keys", JSON, nullable=False),  # identities moved: enough to reverse the merge
    # "identity" (a shared key), "alias" (Segment alias: explicit) or "manual" (by hand)
    Column("cause", String(20), nullable=False, server_default="identity"),
    # What an unmerge needs (NULL before 0006, when such merges cannot be undone exactly): the
    # log's last seq before the merge, both profiles as they were, and the merged customer's
    # interactions stored without their identity keys (before 0006), which the merge moved.
    Column("log_position", BigInteger),
    Column("survivor_traits", JSON),  # [traits, trait_times] of the survivor then
    Column("merged_traits", JSON),  # [traits, trait_times] of the merged customer then
    Column("legacy_moved", JSON),  # [seq, ...]
    Column("undone_at", UTCDateTime),  # set by an unmerge: the merge no longer holds
)

# Undone merges, in order: append-only like the log, so a reader (the analytics copy) can follow
# them by seq. Both ids are "kept apart": an implicit link between them is a conflict.
unmerges = Table(
    "unmerges",
    metadata,
    Column("seq", SeqType, primary_key=True, autoincrement=True),
    Column("merge_seq", BigInteger, nullable=False, index=True),
    Column("survivor_id", String(40), nullable=False, index=True),  # who kept the rest
    Column("merged_id", String(40), nullable=False, index=True),  # who came back
    Column("restored_ids", JSON, nullable=False),  # merged_id and the customers merged into it
    Column("moved_keys", JSON, nullable=False),  # identities that went back to merged_id
    Column("moved_interactions", Integer, nullable=False),  # how many went back
    Column("undone_at", UTCDateTime, nullable=False),
    sqlite_autoincrement=True,
)

# Implicit merges that merge protection blocked: one row per (customer, other, key), counting
# the events that hit it. Open until dismissed or until the two are merged (then `merged` on read).
identity_conflicts = Table(
    "identity_conflicts",
    metadata,
    Column("seq", SeqType, primary_key=True, autoincrement=True),
    Column("customer_id", String(40), nullable=False, index=True),  # where the events landed
    Column("other_id", String(40), nullable=False, index=True),  # who kept the contested key
    Column("key", String(400), nullable=False),
    Column("reason", String(40), nullable=False),  # "limit:<kind>" or "unmerged"
    Column("interaction_id", String(200), nullable=False),  # the first event blocked
    Column("first_at", UTCDateTime, nullable=False),
    Column("last_at", UTCDateTime, nullable=False),
    Column("events", Integer, nullable=False),
    Column("dismissed_at", UTCDateTime),  # someone said: different people, keep them apart
    UniqueConstraint("customer_id", "other_id", "key"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("scope", String(10), nullable=False),
    Column("name", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
    Column("expires_at", UTCDateTime),  # refused from then on; NULL: never expires
    Column("last_used_at", UTCDateTime),  # updated at most once a minute per key
    Column("created_by", Text),  # "cli:<os user>" or the admin key that made it
    Column("replaced_by", String(40)),  # the key a rotation made in its place
    Column("origins", JSON),  # a browser key's allowed web origins (domain.origins); else NULL
    Column("identity_secret", Text),  # a browser key's HMAC secret for signed identifies
)

# External ids first claimed by an unsigned browser identify, and the customer they went to:
# such an id may be claimed again unsigned; any other known one only by a signed identify.
browser_claims = Table(
    "browser_claims",
    metadata,
    Column("key", String(400), primary_key=True),  # "external_id:<userId>"
    Column("customer_id", String(40), nullable=False),
    Column("claimed_at", UTCDateTime, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("role", String(10), nullable=False),  # domain.access.USER_ROLES
    Column("password_hash", Text, nullable=False),  # argon2id, never the password
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", Text),  # "cli:<os user>" or the admin who made the user
    Column("password_changed_at", UTCDateTime, nullable=False),
    Column("last_login_at", UTCDateTime),  # updated at most once a minute per user
    Column("disabled_at", UTCDateTime),  # refused from then on
)

# --- Lifecycle projection (rebuildable from the log; see lifecycle/) ---

stage_transitions = Table(
    "stage_transitions",
    metadata,
    Column("seq", SeqType, primary_key=True, autoincrement=True),
    Column("customer_id", String(40), nullable=False),
    Column("from_stage", String(40)),  # NULL for a customer's first stage
    Column("to_stage", String(40), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("interaction_id", String(200)),  # NULL for time-based moves (inactivity)
    Column("reason", String(200), nullable=False),
    Index("ix_stage_transitions_customer_at", "customer_id", "at"),
    Index("ix_stage_transitions_at", "at"),
    # never reuse a seq after a refold deletes rows: the analytics copy's high-water mark relies on it
    sqlite_autoincrement=True,
)

customer_stages = Table(
    "customer_stages",
    metadata,
    Column("customer_id", String(40), primary_key=True),
    Column("stage", String(40), nullable=False),
    Column("since", UTCDateTime, nullable=False),
    Column("model", String(200), nullable=False),  # name@version of the model that placed them
    Column("last_at", UTCDateTime, nullable=False),  # newest interaction folded in ...
    Column("last_id", String(200), nullable=False),  # ... and its id: the (at, id) fold position
    Column("state", JSON, nullable=False),  # the fold's counters, to continue incrementally
    Column("due_at", UTCDateTime),  # when an inactivity overlay next falls due (for the tick)
    Index("ix_customer_stages_stage", "stage"),
    Index("ix_customer_stages_due_at", "due_at"),
)

lifecycle_meta = Table(
    "lifecycle_meta",
    metadata,
    Column("key", String(40), primary_key=True),  # 'model', 'clock', 'generation'
    Column("value", Text, nullable=False),
)

# --- Checkpoints of projections and event consumers (see projections/) ---

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("name", String(80), primary_key=True),  # a projection ("lifecycle") or a consumer
    Column(
        "source", String(40), nullable=False
    ),  # what `position` counts: "log" or an event stream
    Column("position", BigInteger, nullable=False),  # the last seq of `source` applied (0: none)
    Column("version", Integer, nullable=False),  # the projection's schema version when written
    Column("updated_at", UTCDateTime, nullable=False),
)

# --- Campaign spend (imported from CSV; see analytics/spend.py) ---

campaign_spend = Table(
    "campaign_spend",
    metadata,
    # One row per (date, campaign, source, medium): re-importing a day replaces it. source and
    # medium are '' when the file leaves them blank (a primary key column cannot be NULL).
    Column("date", Date, primary_key=True),
    Column("campaign", String(200), primary_key=True),
    Column("source", String(200), primary_key=True),
    Column("medium", String(200), primary_key=True),
    Column("channel", String(20), nullable=False),
    Column("amount", Float, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("imported_at", UTCDateTime, nullable=False),
)

# --- Audit trail (append-only: who read or changed what, and when) ---

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", SeqType, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False, index=True),
    Column("actor", Text, nullable=False),  # cli:<os user>, or an API key id
    Column("action", String(40), nullable=False),  # domain.vocabulary.AUDIT_ACTIONS
    Column("subject", Text),  # a customer id, merge id, key id …
    Column("detail", JSON),  # what else the entry says (never a secret)
    Index("ix_audit_log_subject", "subject", "seq"),
    sqlite_autoincrement=True,
)

# --- Privacy (services/privacy.py) ---

# Identities of erased people, as SHA-256 of the normalised key (domain.privacy.identity_hash),
# never the key: an event that carries one is dropped at ingest instead of re-creating the person.
suppressed_identities = Table(
    "suppressed_identities",
    metadata,
    Column("key_hash", String(64), primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("suppressed_at", UTCDateTime, nullable=False),
)

# Consent changes as history, never overwritten: a projection of the log (projections/consent.py).
consent_history = Table(
    "consent_history",
    metadata,
    Column("seq", SeqType, primary_key=True, autoincrement=True),
    Column("customer_id", String(40), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("purpose", String(100), nullable=False),
    Column("status", String(20), nullable=False),  # domain.consent.CONSENT_STATUSES
    Column("source", String(200), nullable=False, unique=True),  # the interaction's id
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Index("ix_consent_history_customer_occurred", "customer_id", "occurred_at"),
    # the change in force for (customer, channel, purpose) in its order, status included: the
    # segments' consent conditions for a batch's customers read the index alone (no sort)
    Index(
        "ix_consent_history_in_force",
        "customer_id",
        "channel",
        "purpose",
        "occurred_at",
        "recorded_at",
        "source",
        "status",
    ),
)

# --- Contact center (routing state; contact_center/ owns it, the log gets each contact's end) ---

cc_config = Table(
    "cc_config",
    metadata,
    Column("version", SeqType, primary_key=True, autoincrement=True),
    Column("applied_at", UTCDateTime, nullable=False),
    Column("applied_by", Text, nullable=False),
    Column("document", JSON, nullable=False),  # the validated configuration, as JSON
    sqlite_autoincrement=True,
)

cc_agents = Table(
    "cc_agents",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("state", String(12), nullable=False),  # domain.routing.AGENT_STATES
    Column("reason", Text),  # why not ready
    Column("state_since", UTCDateTime, nullable=False),
    Column("wrap_until", UTCDateTime),
    Column("idle_since", UTCDateTime, nullable=False),  # longest-idle-agent's clock
    Column("handled_day", String(10)),  # the UTC day handled_today counts
    Column("handled_today", Integer, nullable=False, server_default="0"),
)

cc_contacts = Table(
    "cc_contacts",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("external_ref", String(200), unique=True),  # the front end's call id: idempotency
    Column("queue", String(40), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("language", String(20)),
    Column("customer_id", String(40)),  # who it is, if known when offered
    Column("identity", JSON, nullable=False),  # as offered: the log's interaction names them
    Column("status", String(10), nullable=False),  # domain.routing.CONTACT_STATES
    Column("created_at", UTCDateTime, nullable=False),
    Column("joined_at", UTCDateTime, nullable=False),  # place in line, kept through transfers
    Column("priority", Integer, nullable=False, server_default="0"),  # rules' boost
    Column("team", String(40)),
    Column("team_until", UTCDateTime),
    Column("preferred_agent", String(40)),
    Column("prefer_until", UTCDateTime),
    Column("not_before", UTCDateTime),  # a callback at a chosen time
    Column("agent", String(40)),  # reserved for, or assigned to
    Column("lease_until", UTCDateTime),  # a reservation not accepted by then expires
    Column("assigned_at", UTCDateTime),
    Column("ended_at", UTCDateTime),
    Column("outcome", String(40)),
    Column("rules", JSON),  # routing rules that applied
    Column("decision", JSON),  # the last routing decision: strategy, candidates, reason
    Column("logged_at", UTCDateTime),  # when its interaction reached the log
    Column("callback_requested_at", UTCDateTime),  # the customer asked to be called back
    Column("transfers", Integer, nullable=False, server_default="0"),
    Column("preferred_by", Text),  # the rule (or "transfer") that named preferred_agent
    Column("hold_s", Float),  # seconds on hold, as the front end reported on completing
    Column("wrapup_s", Float),  # the wrap-up the agent went into after it
    Index("ix_cc_contacts_status", "status", "queue"),
    Index("ix_cc_contacts_agent", "agent", "status"),
    Index("ix_cc_contacts_customer", "customer_id", "ended_at"),
    Index("ix_cc_contacts_ended", "ended_at"),
)

cc_queue_memory = Table(
    "cc_queue_memory",
    metadata,
    Column("queue", String(40), primary_key=True),
    Column("last_chosen", String(40)),  # round-robin's memory (Asterisk rrmemory)
)

cc_events = Table(
    "cc_events",
    metadata,
    Column("seq", SeqType, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("kind", String(20), nullable=False),  # offered, reserved, accepted, expired, …
    Column("contact_id", String(40)),
    Column("agent_id", String(40)),
    Column("queue", String(40)),
    Column("detail", JSON),
    Index("ix_cc_events_contact", "contact_id", "seq"),
    sqlite_autoincrement=True,
)

# --- Tickets (cases) and their SLA clocks (services/tickets.py; domain.tickets, domain.sla) ---

tickets = Table(
    "tickets",
    metadata,
    Column("id", String(40), primary_key=True),  # tkt_<16 hex>
    Column("external_ref", String(200), unique=True),  # a source's own ticket id (ticket_id)
    Column("subject", Text, nullable=False),
    Column("status", String(10), nullable=False),  # domain.tickets.STATUSES
    Column("priority", String(10), nullable=False),  # domain.tickets.PRIORITIES
    Column("queue", String(40)),  # a queue of the contact center's configuration
    Column("channel", String(20), nullable=False),  # where the issue came in
    Column("owner", String(40)),  # an agent of the configuration
    Column("customer_id", String(40)),
    Column("identity", JSON, nullable=False),  # who raised it: the log's interactions name them
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),  # the last change: changes never go back
    Column("first_solved_at", UTCDateTime),  # first-contact resolution counts from here
    Column("solved_at", UTCDateTime),
    Column("closed_at", UTCDateTime),
    Column("reopen_count", Integer, nullable=False, server_default="0"),
    Column("replies", Integer, nullable=False, server_default="0"),
    Index("ix_tickets_status", "status", "queue"),
    Index("ix_tickets_owner", "owner", "status"),
    Index("ix_tickets_customer", "customer_id"),
)

# One row per ticket and clock: its current cycle (domain.sla.Clock); `fire_at` is the next
# moment it warns or breaches, which the scheduler sleeps until.
ticket_clocks = Table(
    "ticket_clocks",
    metadata,
    Column("ticket_id", String(40), primary_key=True),
    Column("clock", String(20), primary_key=True),  # domain.sla.CLOCKS
    Column("cycle", Integer, nullable=False),
    Column("target_s", Float, nullable=False),
    Column("warn_at", Float),
    Column("started_at", UTCDateTime, nullable=False),
    Column("consumed_s", Float, nullable=False),
    Column("running_since", UTCDateTime),
    Column("stopped_at", UTCDateTime),
    Column("warned_at", UTCDateTime),
    Column("breached_at", UTCDateTime),
    Column("fire_at", UTCDateTime),
    Index("ix_ticket_clocks_fire_at", "fire_at"),
)

# Interactions of the log that belong to a ticket (its ticket_id property, or the ones it wrote).
ticket_links = Table(
    "ticket_links",
    metadata,
    Column("ticket_id", String(40), primary_key=True),
    Column("interaction_id", String(200), primary_key=True),
    Column("seq", BigInteger),  # its place in the log, once there
    Column("direction", String(10), nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Index("ix_ticket_links_interaction", "interaction_id"),
)

# Every change of a ticket, in order: the `tickets` domain-event stream (projections/events.py).
# `key` names the change (a breach: ticket, clock, cycle), so it is recorded once.
ticket_events = Table(
    "ticket_events",
    metadata,
    Column("seq", SeqType, primary_key=True, autoincrement=True),
    Column("ticket_id", String(40), nullable=False),
    Column("customer_id", String(40)),
    Column("kind", String(30), nullable=False),  # ticket_opened, ticket_breached, …
    Column("at", UTCDateTime, nullable=False),  # when it happened (a breach: its deadline)
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("actor", Text),
    Column("clock", String(20)),
    Column("cycle", Integer),
    Column("detail", JSON),
    Column("key", String(300), nullable=False, unique=True),
    Column("log_item", JSON),  # the interaction this change writes to the log (NULL: none)
    Column("logged_at", UTCDateTime),  # when it reached the log
    Index("ix_ticket_events_ticket", "ticket_id", "seq"),
    sqlite_autoincrement=True,
)

# --- Predictive scores (analytics/models.py, services/models.py) ---

# One row per trained model: its file (joblib, in the data directory) and the SHA-256 checked
# before the file is loaded, how it was trained and how it did against the baselines.
model_versions = Table(
    "model_versions",
    metadata,
    Column("name", String(40), primary_key=True),  # domain.predictions.TARGETS
    Column("version", Integer, primary_key=True),
    Column("trained_at", UTCDateTime, nullable=False),
    Column("at", UTCDateTime, nullable=False),  # "now" of the training
    Column("horizon_days", Integer, nullable=False),
    Column("cutoffs", JSON, nullable=False),  # training cut-offs, then the test cut-off
    Column("features", JSON, nullable=False),
    Column("metrics", JSON, nullable=False),  # the model's and the baselines' evaluations
    Column("versions", JSON, nullable=False),  # touchpoint, scikit-learn, numpy, python
    Column("path", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
)

# Each customer's latest prediction per model (a new scoring run replaces the model's rows).
model_scores = Table(
    "model_scores",
    metadata,
    Column("model", String(40), primary_key=True),
    Column("customer_id", String(40), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("probability", Float, nullable=False),
    Column("reasons", JSON, nullable=False),  # [{"group": …, "effect": ±probability}, …]
    Column("scored_at", UTCDateTime, nullable=False),  # the moment the features were read as of
    Index("ix_model_scores_customer", "customer_id"),
)

# --- Segments: saved rules and their live membership (a projection; projections/segments.py) ---

segments = Table(
    "segments",
    metadata,
    Column("id", String(40), primary_key=True),  # seg_<12 hex>
    Column("name", String(100), nullable=False, unique=True),
    Column("rule_text", Text),  # the rule as written in the language (NULL: given as JSON)
    Column("rule", JSON, nullable=False),  # its JSON form (domain.segments.rule_to_json)
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", Text),
    Column("evaluated_at", UTCDateTime),  # the membership's clock: everyone is evaluated as of it
    Column("next_due", UTCDateTime),  # when a rolling window next changes what it holds
    Column("stage_seq", BigInteger, nullable=False, server_default="0"),  # stage moves seen
)

segment_members = Table(
    "segment_members",
    metadata,
    Column("segment_id", String(40), primary_key=True),
    Column("customer_id", String(40), primary_key=True),
    Column("entered_at", UTCDateTime, nullable=False),
    Index("ix_segment_members_customer", "customer_id"),
)

# Every entry and exit, in order: the `segments` domain-event stream (projections/events.py).
# `key` names the change (segment, customer, the how-many-th entry), so it is recorded once.
segment_changes = Table(
    "segment_changes",
    metadata,
    Column("seq", SeqType, primary_key=True, autoincrement=True),
    Column("segment_id", String(40), nullable=False),
    Column("customer_id", String(40), nullable=False),
    Column("kind", String(20), nullable=False),  # segment_entered, segment_left
    Column("at", UTCDateTime, nullable=False),  # the evaluation's moment
    Column("ordinal", Integer, nullable=False),  # the customer's how-many-th entry (1, 2, …)
    Column("cause", String(20), nullable=False),  # ingest, tick, replay, refold, merge
    Column("key", String(300), nullable=False, unique=True),
    Index("ix_segment_changes_segment", "segment_id", "at"),
    Index("ix_segment_changes_customer", "customer_id", "segment_id"),
    sqlite_autoincrement=True,
)

# --- Rule-based scores (a projection of the log; projections/scores.py, domain/scores.py) ---

# One row per customer with an interaction and score model. `points` is the score at
# `reference_at` (the last award); the score at t is points x 2^-(t - reference_at)/half_life_s
# (store.scores.decayed_scores computes it; no decay when half_life_s is NULL).
customer_scores = Table(
    "customer_scores",
    metadata,
    Column("customer_id", String(40), primary_key=True),
    Column("model", String(40), primary_key=True),
    Column("points", Float, nullable=False),
    Column("reference_at", UTCDateTime),  # NULL: no award yet (points is 0)
    Column("half_life_s", Float),
    Column("last_activity_at", UTCDateTime),  # inactivity rules count from here
    Column("due_at", UTCDateTime),  # when time alone next changes it (inactivity, a crossing)
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_customer_scores_model", "model", "customer_id"),
    Index("ix_customer_scores_due_at", "due_at"),
)

# The breakdown: every award (after its rule's caps), as given at `at`, before decay.
score_points = Table(
    "score_points",
    metadata,
    Column("seq", SeqType, primary_key=True, autoincrement=True),
    Column("customer_id", String(40), nullable=False),
    Column("model", String(40), nullable=False),
    Column("rule", String(40), nullable=False),
    Column("interaction_id", String(200)),  # NULL: time passing (an inactivity rule)
    Column("at", UTCDateTime, nullable=False),
    Column("points", Float, nullable=False),
    Index("ix_score_points_customer", "customer_id", "model", "at"),
)

# Threshold crossings: the `scores` domain-event stream (projections/events.py). A refold keeps
# the rows whose key it finds again, so a crossing is recorded (and read) once.
score_crossings = Table(
    "score_crossings",
    metadata,
    Column("seq", SeqType, primary_key=True, autoincrement=True),
    Column("customer_id", String(40), nullable=False),
    Column("model", String(40), nullable=False),
    Column("kind", String(30), nullable=False),  # score_rose_above, score_fell_below
    Column("threshold", Float, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("interaction_id", String(200)),  # NULL: decay or inactivity
    Column("key", String(300), nullable=False, unique=True),
    Column("recorded_at", UTCDateTime, nullable=False),
    Index("ix_score_crossings_customer", "customer_id", "seq"),
    sqlite_autoincrement=True,
)

# 'models': the score file in force (its text), 'clock': the last tick's moment.
score_meta = Table(
    "score_meta",
    metadata,
    Column("key", String(40), primary_key=True),
    Column("value", Text, nullable=False),
)

# --- Outbound campaigns: dialer lists, dial attempts, do-not-call (contact_center/outbound.py) ---

outbound_campaigns = Table(
    "outbound_campaigns",
    metadata,
    Column("id", String(40), primary_key=True),  # cmp_<16 hex>
    Column("name", String(200), nullable=False, unique=True),
    Column("queue", String(40), nullable=False),  # whose agents make the calls
    Column("status", String(10), nullable=False),  # active, paused
    Column("source", JSON, nullable=False),  # what the list was built from: {"kind": …, …}
    Column("settings", JSON, nullable=False),  # domain.outbound.CampaignSettings.document()
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# One row per number to call in a campaign: its attempts, when it may next be called, how the
# last call ended; `closed_reason` set once nothing more is to be tried (a final outcome, no
# attempt left, or a refusal that lasts: do-not-call, consent, suppressed).
outbound_records = Table(
    "outbound_records",
    metadata,
    Column("id", SeqType, primary_key=True, autoincrement=True),
    Column("campaign_id", String(40), nullable=False),
    Column("phone", String(40), nullable=False),  # E.164
    Column("customer_id", String(40)),  # when known as the list was built
    Column("name", Text),
    Column("source_ref", String(200)),  # the cart interaction, the CSV line …
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UTCDateTime),  # NULL: closed, or a call in progress
    Column("last_attempt_at", UTCDateTime),
    Column("last_disposition", String(10)),
    Column("last_outcome", String(40)),
    Column("closed_reason", String(40)),
    Column("added_at", UTCDateTime, nullable=False),
    UniqueConstraint("campaign_id", "phone", name="uq_outbound_records_campaign_phone"),
    Index("ix_outbound_records_due", "campaign_id", "next_attempt_at"),
)

# Every record handed out (a dial) or refused at dial time (never dialled), with its reason.
outbound_attempts = Table(
    "outbound_attempts",
    metadata,
    Column("id", String(40), primary_key=True),  # att_<16 hex>
    Column("campaign_id", String(40), nullable=False),
    Column("record_id", BigInteger, nullable=False),
    Column("status", String(10), nullable=False),  # refused, dialling, ended
    Column("reason", String(40)),  # a refusal's: domain.outbound.REFUSAL_REASONS
    Column("agent", String(40)),
    Column("at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime),
    Column("disposition", String(10)),  # domain.outbound.DISPOSITIONS
    Column("outcome", String(40)),
    Column("duration_s", Float),
    Column("callback_at", UTCDateTime),
    Column("logged_at", UTCDateTime),  # when its call reached the interaction log
    Index("ix_outbound_attempts_campaign", "campaign_id", "status", "ended_at"),
    Index("ix_outbound_attempts_record", "record_id"),
)

# Numbers never to call (a DNC disposition puts the number here), whatever the campaign.
outbound_do_not_call = Table(
    "outbound_do_not_call",
    metadata,
    Column("phone", String(40), primary_key=True),  # E.164
    Column("added_at", UTCDateTime, nullable=False),
    Column("source", String(200), nullable=False),  # the attempt that said so, or who added it
)

# --- Automation: playbook runs and their steps (automation/runs.py, store/automation.py) ---

# One run per (playbook, customer, occurrence): `key` is that triple, so a trigger seen twice
# (a refold re-emitting a stage change, a catch-up read again) starts one run.
playbook_runs = Table(
    "playbook_runs",
    metadata,
    Column("id", String(40), primary_key=True),  # run_<16 hex of the key>
    Column("key", String(400), nullable=False, unique=True),
    Column("playbook", String(60), nullable=False),
    Column("customer_id", String(40), nullable=False),
    Column("occurrence", String(300), nullable=False),
    Column("trigger_id", String(300), nullable=False),  # the interaction, or the event's key
    Column("trigger_at", UTCDateTime, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("status", String(20), nullable=False),  # active, done, stopped, cancelled, failed
    Column("reason", Text),
    Index("ix_playbook_runs_customer", "playbook", "customer_id"),
)

_UNLOGGED = "log_item IS NOT NULL AND logged_at IS NULL"  # ix_playbook_steps_unlogged
# One row per step a run reached: `key` is (run, step) so it is created and acted on once; a
# worker claims a due row with a lease (`claimed_until`), and a row whose lease passed is
# claimed again. `log_item` is the interaction the step writes to the log (sent, suppressed),
# stored with the outcome in the same transaction and flushed once (`logged_at`).
playbook_steps = Table(
    "playbook_steps",
    metadata,
    Column("seq", SeqType, primary_key=True, autoincrement=True),
    Column("key", String(420), nullable=False, unique=True),
    Column("run_id", String(40), nullable=False),
    Column("step", Integer, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("status", String(20), nullable=False),  # pending, claimed, done, stopped, failed
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("claimed_until", UTCDateTime),
    Column("finished_at", UTCDateTime),
    Column("outcome", JSON),  # what it did: sent, suppressed (and why), why it stopped
    Column("log_item", JSON),
    Column("logged_at", UTCDateTime),
    Index("ix_playbook_steps_due", "status", "due_at"),
    Index("ix_playbook_steps_run", "run_id", "step"),
    # The steps whose interaction is not yet in the log: a few rows, read every pass (0026).
    Index(
        "ix_playbook_steps_unlogged",
        "seq",
        sqlite_where=text(_UNLOGGED),
        postgresql_where=text(_UNLOGGED),
    ),
    sqlite_autoincrement=True,
)

# Which playbooks run: a row says active or paused (a shipped playbook without one is paused,
# a file in the data directory's playbooks/ without one is active).
playbook_states = Table(
    "playbook_states",
    metadata,
    Column("name", String(60), primary_key=True),
    Column("state", String(10), nullable=False),  # active, paused
    Column("changed_at", UTCDateTime, nullable=False),
    Column("changed_by", Text),
)
