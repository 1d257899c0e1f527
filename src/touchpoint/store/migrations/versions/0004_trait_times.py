"""customers.trait_times: when each trait's value was said, so late events cannot overwrite newer ones

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 13:40:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL for profiles written before: their traits count as older than any new event's.
    op.add_column("customers", sa.Column("trait_times", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("trait_times")
