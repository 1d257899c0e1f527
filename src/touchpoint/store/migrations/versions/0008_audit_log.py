"""audit_log: an append-only trail of who read or changed what, and when

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 06:05:00.000000
"""

import sqlalchemy as sa
from alembic import op

from touchpoint.store.types import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_subject", "audit_log", ["subject", "seq"])


def downgrade() -> None:
    op.drop_table("audit_log")
