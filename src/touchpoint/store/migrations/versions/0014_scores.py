"""scores: rule-based scores per customer and model, their breakdown and threshold crossings

Revision ID: 0014
Revises: 0018
Create Date: 2026-12-02 15:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

from touchpoint.store.types import UTCDateTime

revision = "0014"
down_revision = "0018"
branch_labels = None
depends_on = None

Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "customer_scores",
        sa.Column("customer_id", sa.String(40), primary_key=True),
        sa.Column("model", sa.String(40), primary_key=True),
        sa.Column("points", sa.Float(), nullable=False),
        sa.Column("reference_at", When, nullable=True),
        sa.Column("half_life_s", sa.Float(), nullable=True),
        sa.Column("last_activity_at", When, nullable=True),
        sa.Column("due_at", When, nullable=True),
        sa.Column("updated_at", When, nullable=False),
    )
    op.create_index("ix_customer_scores_model", "customer_scores", ["model", "customer_id"])
    op.create_index("ix_customer_scores_due_at", "customer_scores", ["due_at"])
    op.create_table(
        "score_points",
        sa.Column("seq", Seq, primary_key=True),
        sa.Column("customer_id", sa.String(40), nullable=False),
        sa.Column("model", sa.String(40), nullable=False),
        sa.Column("rule", sa.String(40), nullable=False),
        sa.Column("interaction_id", sa.String(200), nullable=True),
        sa.Column("at", When, nullable=False),
        sa.Column("points", sa.Float(), nullable=False),
    )
    op.create_index("ix_score_points_customer", "score_points", ["customer_id", "model", "at"])
    op.create_table(
        "score_crossings",
        sa.Column("seq", Seq, primary_key=True),
        sa.Column("customer_id", sa.String(40), nullable=False),
        sa.Column("model", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("at", When, nullable=False),
        sa.Column("interaction_id", sa.String(200), nullable=True),
        sa.Column("key", sa.String(300), nullable=False, unique=True),
        sa.Column("recorded_at", When, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_score_crossings_customer", "score_crossings", ["customer_id", "seq"])
    op.create_table(
        "score_meta",
        sa.Column("key", sa.String(40), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    for table in ("score_meta", "score_crossings", "score_points", "customer_scores"):
        op.drop_table(table)
