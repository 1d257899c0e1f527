"""contact center: configurations applied, agents' states, contacts and their routing events

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 10:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

from touchpoint.store.types import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "cc_config",
        sa.Column("version", Seq, primary_key=True),
        sa.Column("applied_at", When, nullable=False),
        sa.Column("applied_by", sa.Text(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "cc_agents",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("state_since", When, nullable=False),
        sa.Column("wrap_until", When, nullable=True),
        sa.Column("idle_since", When, nullable=False),
        sa.Column("handled_day", sa.String(10), nullable=True),
        sa.Column("handled_today", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_table(
        "cc_contacts",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("external_ref", sa.String(200), nullable=True, unique=True),
        sa.Column("queue", sa.String(40), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("language", sa.String(20), nullable=True),
        sa.Column("customer_id", sa.String(40), nullable=True),
        sa.Column("identity", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.Column("joined_at", When, nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("team", sa.String(40), nullable=True),
        sa.Column("team_until", When, nullable=True),
        sa.Column("preferred_agent", sa.String(40), nullable=True),
        sa.Column("prefer_until", When, nullable=True),
        sa.Column("not_before", When, nullable=True),
        sa.Column("agent", sa.String(40), nullable=True),
        sa.Column("lease_until", When, nullable=True),
        sa.Column("assigned_at", When, nullable=True),
        sa.Column("ended_at", When, nullable=True),
        sa.Column("outcome", sa.String(40), nullable=True),
        sa.Column("rules", sa.JSON(), nullable=True),
        sa.Column("decision", sa.JSON(), nullable=True),
        sa.Column("logged_at", When, nullable=True),
        sa.Column("callback_requested_at", When, nullable=True),
        sa.Column("transfers", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_index("ix_cc_contacts_status", "cc_contacts", ["status", "queue"])
    op.create_index("ix_cc_contacts_agent", "cc_contacts", ["agent", "status"])
    op.create_index("ix_cc_contacts_customer", "cc_contacts", ["customer_id", "ended_at"])
    op.create_table(
        "cc_queue_memory",
        sa.Column("queue", sa.String(40), primary_key=True),
        sa.Column("last_chosen", sa.String(40), nullable=True),
    )
    op.create_table(
        "cc_events",
        sa.Column("seq", Seq, primary_key=True),
        sa.Column("at", When, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("contact_id", sa.String(40), nullable=True),
        sa.Column("agent_id", sa.String(40), nullable=True),
        sa.Column("queue", sa.String(40), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_cc_events_contact", "cc_events", ["contact_id", "seq"])


def downgrade() -> None:
    for table in ("cc_events", "cc_queue_memory", "cc_contacts", "cc_agents", "cc_config"):
        op.drop_table(table)
