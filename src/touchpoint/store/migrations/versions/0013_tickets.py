"""tickets: cases with their SLA clocks, linked interactions and change events

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 10:45:00.000000
"""

import sqlalchemy as sa
from alembic import op

from touchpoint.store.types import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "tickets",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("external_ref", sa.String(200), nullable=True, unique=True),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("priority", sa.String(10), nullable=False),
        sa.Column("queue", sa.String(40), nullable=True),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("owner", sa.String(40), nullable=True),
        sa.Column("customer_id", sa.String(40), nullable=True),
        sa.Column("identity", sa.JSON(), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.Column("updated_at", When, nullable=False),
        sa.Column("first_solved_at", When, nullable=True),
        sa.Column("solved_at", When, nullable=True),
        sa.Column("closed_at", When, nullable=True),
        sa.Column("reopen_count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("replies", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_index("ix_tickets_status", "tickets", ["status", "queue"])
    op.create_index("ix_tickets_owner", "tickets", ["owner", "status"])
    op.create_index("ix_tickets_customer", "tickets", ["customer_id"])
    op.create_table(
        "ticket_clocks",
        sa.Column("ticket_id", sa.String(40), primary_key=True),
        sa.Column("clock", sa.String(20), primary_key=True),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("target_s", sa.Float(), nullable=False),
        sa.Column("warn_at", sa.Float(), nullable=True),
        sa.Column("started_at", When, nullable=False),
        sa.Column("consumed_s", sa.Float(), nullable=False),
        sa.Column("running_since", When, nullable=True),
        sa.Column("stopped_at", When, nullable=True),
        sa.Column("warned_at", When, nullable=True),
        sa.Column("breached_at", When, nullable=True),
        sa.Column("fire_at", When, nullable=True),
    )
    op.create_index("ix_ticket_clocks_fire_at", "ticket_clocks", ["fire_at"])
    op.create_table(
        "ticket_links",
        sa.Column("ticket_id", sa.String(40), primary_key=True),
        sa.Column("interaction_id", sa.String(200), primary_key=True),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("direction", sa.String(10), nullable=False),
        sa.Column("occurred_at", When, nullable=False),
    )
    op.create_index("ix_ticket_links_interaction", "ticket_links", ["interaction_id"])
    op.create_table(
        "ticket_events",
        sa.Column("seq", Seq, primary_key=True),
        sa.Column("ticket_id", sa.String(40), nullable=False),
        sa.Column("customer_id", sa.String(40), nullable=True),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("at", When, nullable=False),
        sa.Column("recorded_at", When, nullable=False),
        sa.Column("actor", sa.Text(), nullable=True),
        sa.Column("clock", sa.String(20), nullable=True),
        sa.Column("cycle", sa.Integer(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.Column("key", sa.String(300), nullable=False, unique=True),
        sa.Column("log_item", sa.JSON(), nullable=True),
        sa.Column("logged_at", When, nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_ticket_events_ticket", "ticket_events", ["ticket_id", "seq"])


def downgrade() -> None:
    for table in ("ticket_events", "ticket_links", "ticket_clocks", "tickets"):
        op.drop_table(table)
