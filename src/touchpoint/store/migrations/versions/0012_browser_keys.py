"""api_keys.origins: the web origins a browser key may be used from

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 10:40:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A JSON list of origins (domain.origins); NULL for every key that is not a browser key.
    op.add_column("api_keys", sa.Column("origins", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("origins")
