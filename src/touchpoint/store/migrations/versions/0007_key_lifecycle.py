"""api_keys: expiry, last use and who created a key (keys list | revoke | rotate)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 05:50:00.000000
"""

import sqlalchemy as sa
from alembic import op

from touchpoint.store.types import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Keys made before: no expiry, never seen used, creator unknown.
    op.add_column("api_keys", sa.Column("expires_at", UTCDateTime(timezone=True), nullable=True))
    op.add_column("api_keys", sa.Column("last_used_at", UTCDateTime(timezone=True), nullable=True))
    op.add_column("api_keys", sa.Column("created_by", sa.Text(), nullable=True))
    op.add_column("api_keys", sa.Column("replaced_by", sa.String(40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        for column in ("replaced_by", "created_by", "last_used_at", "expires_at"):
            batch.drop_column(column)
