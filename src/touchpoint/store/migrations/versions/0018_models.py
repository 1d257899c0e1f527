"""models: predictive score models (versions, files, metrics) and each customer's latest score

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 15:40:00.000000
"""

import sqlalchemy as sa
from alembic import op

from touchpoint.store.types import UTCDateTime

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

When = UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "model_versions",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True),
        sa.Column("trained_at", When, nullable=False),
        sa.Column("at", When, nullable=False),
        sa.Column("horizon_days", sa.Integer(), nullable=False),
        sa.Column("cutoffs", sa.JSON(), nullable=False),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("versions", sa.JSON(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
    )
    op.create_table(
        "model_scores",
        sa.Column("model", sa.String(40), primary_key=True),
        sa.Column("customer_id", sa.String(40), primary_key=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("scored_at", When, nullable=False),
    )
    op.create_index("ix_model_scores_customer", "model_scores", ["customer_id"])


def downgrade() -> None:
    op.drop_index("ix_model_scores_customer", table_name="model_scores")
    op.drop_table("model_scores")
    op.drop_table("model_versions")
