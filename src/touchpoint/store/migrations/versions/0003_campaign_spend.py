"""campaign spend

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 12:10:00.000000
"""

import sqlalchemy as sa
from alembic import op

import touchpoint.store.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaign_spend",
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("campaign", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("medium", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("imported_at", touchpoint.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "date", "campaign", "source", "medium", name=op.f("pk_campaign_spend")
        ),
    )


def downgrade() -> None:
    op.drop_table("campaign_spend")
