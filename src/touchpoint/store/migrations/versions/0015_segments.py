"""segments: saved rules, their members, and every entry and exit

Revision ID: 0015
Revises: 0016
Create Date: 2026-12-02 15:15:00.000000
"""

import sqlalchemy as sa
from alembic import op

from touchpoint.store.types import UTCDateTime

revision = "0015"
down_revision = "0016"
branch_labels = None
depends_on = None

Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "segments",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("rule_text", sa.Text(), nullable=True),
        sa.Column("rule", sa.JSON(), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.Column("created_by", sa.Text(), nullable=True),
        sa.Column("evaluated_at", When, nullable=True),
        sa.Column("next_due", When, nullable=True),
        sa.Column("stage_seq", sa.BigInteger(), nullable=False, server_default="0"),
    )
    op.create_table(
        "segment_members",
        sa.Column("segment_id", sa.String(40), primary_key=True),
        sa.Column("customer_id", sa.String(40), primary_key=True),
        sa.Column("entered_at", When, nullable=False),
    )
    op.create_index("ix_segment_members_customer", "segment_members", ["customer_id"])
    op.create_table(
        "segment_changes",
        sa.Column("seq", Seq, primary_key=True),
        sa.Column("segment_id", sa.String(40), nullable=False),
        sa.Column("customer_id", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("at", When, nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("cause", sa.String(20), nullable=False),
        sa.Column("key", sa.String(300), nullable=False, unique=True),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_segment_changes_segment", "segment_changes", ["segment_id", "at"])
    op.create_index("ix_segment_changes_customer", "segment_changes", ["customer_id", "segment_id"])


def downgrade() -> None:
    for table in ("segment_changes", "segment_members", "segments"):
        op.drop_table(table)
