"""interactions: an index of (type, occurred_at), so the loyalty job's incremental runs find the
rows whose moment falls in a few minutes (purchases leaving the 12 months' spend, awards whose
points expire, rows stored ahead of their moment) without reading the whole log (issue 14)

Revision ID: 0028
Revises: 0026
Create Date: 2026-12-03 17:00:00.000000
"""

from alembic import op

revision = "0028"
down_revision = "0026"
branch_labels = None
depends_on = None

NAME = "ix_interactions_type_occurred"


def upgrade() -> None:
    op.create_index(NAME, "interactions", ["type", "occurred_at"])


def downgrade() -> None:
    op.drop_index(NAME, table_name="interactions")
