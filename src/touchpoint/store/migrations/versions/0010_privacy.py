"""suppressed_identities (hashes of erased people's identities) and consent_history

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 10:05:00.000000
"""

import sqlalchemy as sa
from alembic import op

from touchpoint.store.types import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "suppressed_identities",
        sa.Column("key_hash", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("suppressed_at", UTCDateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "consent_history",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("customer_id", sa.String(40), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("purpose", sa.String(100), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("occurred_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", UTCDateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("source", name="uq_consent_history_source"),
    )
    op.create_index(
        "ix_consent_history_customer_occurred", "consent_history", ["customer_id", "occurred_at"]
    )


def downgrade() -> None:
    op.drop_table("consent_history")
    op.drop_table("suppressed_identities")
