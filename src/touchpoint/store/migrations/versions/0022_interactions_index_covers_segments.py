"""interactions: the (customer, occurred_at) index also holds type, direction and queue, so the
segments' counts of a batch's customers read the index alone (docs/decisions.md, issue 13)

Revision ID: 0022
Revises: 0019
Create Date: 2026-12-02 19:45:00.000000
"""

from alembic import op

revision = "0022"
down_revision = "0019"
branch_labels = None
depends_on = None

NAME = "ix_interactions_customer_occurred"


def upgrade() -> None:
    op.drop_index(NAME, table_name="interactions")
    op.create_index(
        NAME, "interactions", ["customer_id", "occurred_at", "type", "direction", "queue"]
    )


def downgrade() -> None:
    op.drop_index(NAME, table_name="interactions")
    op.create_index(NAME, "interactions", ["customer_id", "occurred_at"])
