"""checkpoints: how far each projection (and each consumer of domain events) has read its source

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 23:30:00.000000
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from touchpoint.store.types import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "checkpoints",
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_checkpoints"),
    )
    # Before 0005 the lifecycle projection was kept current inside every ingest transaction, so
    # a data directory that has one has applied the whole log.
    conn = op.get_bind()
    has_model = conn.execute(sa.text("SELECT 1 FROM lifecycle_meta WHERE key = 'model'")).first()
    if has_model:
        last = conn.execute(sa.text("SELECT COALESCE(MAX(seq), 0) FROM interactions")).scalar()
        op.bulk_insert(
            table,
            [
                {
                    "name": "lifecycle",
                    "source": "log",
                    "position": int(last or 0),
                    "version": 1,
                    "updated_at": datetime.now(UTC),
                }
            ],
        )


def downgrade() -> None:
    op.drop_table("checkpoints")
