"""outbound campaigns: campaigns, their records (dialer lists), dial attempts, do-not-call

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-02 15:20:00.000000
"""

import sqlalchemy as sa
from alembic import op

from touchpoint.store.types import UTCDateTime

revision = "0016"
down_revision = "0014"
branch_labels = None
depends_on = None

Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "outbound_campaigns",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("queue", sa.String(40), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("source", sa.JSON(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("updated_at", When, nullable=False),
    )
    op.create_table(
        "outbound_records",
        sa.Column("id", Seq, primary_key=True, autoincrement=True),
        sa.Column("campaign_id", sa.String(40), nullable=False),
        sa.Column("phone", sa.String(40), nullable=False),
        sa.Column("customer_id", sa.String(40), nullable=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("source_ref", sa.String(200), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", When, nullable=True),
        sa.Column("last_attempt_at", When, nullable=True),
        sa.Column("last_disposition", sa.String(10), nullable=True),
        sa.Column("last_outcome", sa.String(40), nullable=True),
        sa.Column("closed_reason", sa.String(40), nullable=True),
        sa.Column("added_at", When, nullable=False),
        sa.UniqueConstraint("campaign_id", "phone", name="uq_outbound_records_campaign_phone"),
    )
    op.create_index(
        "ix_outbound_records_due", "outbound_records", ["campaign_id", "next_attempt_at"]
    )
    op.create_table(
        "outbound_attempts",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("campaign_id", sa.String(40), nullable=False),
        sa.Column("record_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("reason", sa.String(40), nullable=True),
        sa.Column("agent", sa.String(40), nullable=True),
        sa.Column("at", When, nullable=False),
        sa.Column("ended_at", When, nullable=True),
        sa.Column("disposition", sa.String(10), nullable=True),
        sa.Column("outcome", sa.String(40), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("callback_at", When, nullable=True),
        sa.Column("logged_at", When, nullable=True),
    )
    op.create_index(
        "ix_outbound_attempts_campaign", "outbound_attempts", ["campaign_id", "status", "ended_at"]
    )
    op.create_index("ix_outbound_attempts_record", "outbound_attempts", ["record_id"])
    op.create_table(
        "outbound_do_not_call",
        sa.Column("phone", sa.String(40), primary_key=True),
        sa.Column("added_at", When, nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("outbound_do_not_call")
    op.drop_index("ix_outbound_attempts_record", table_name="outbound_attempts")
    op.drop_index("ix_outbound_attempts_campaign", table_name="outbound_attempts")
    op.drop_table("outbound_attempts")
    op.drop_index("ix_outbound_records_due", table_name="outbound_records")
    op.drop_table("outbound_records")
    op.drop_table("outbound_campaigns")
