"""Browser identity verification: api_keys.identity_secret (a browser key's HMAC secret for
signed identifies) and browser_claims (external ids a browser key claimed unsigned)

Revision ID: 0021
Revises: 0022
Create Date: 2026-12-02 20:20:00.000000
"""

import sqlalchemy as sa
from alembic import op

from touchpoint.store.types import UTCDateTime

revision = "0021"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Kept as sent (an HMAC needs the secret itself, not a hash); NULL for every server key.
    op.add_column("api_keys", sa.Column("identity_secret", sa.Text(), nullable=True))
    op.create_table(
        "browser_claims",
        sa.Column("key", sa.String(400), primary_key=True),
        sa.Column("customer_id", sa.String(40), nullable=False),
        sa.Column("claimed_at", UTCDateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("browser_claims")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("identity_secret")
