"""cc_contacts: who named the preferred agent, hold and wrap-up seconds, an index on ended_at

Revision ID: 0017
Revises: 0013
Create Date: 2026-12-02 15:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The rule (or "transfer") that named preferred_agent: a routing decision's reason says it.
    op.add_column("cc_contacts", sa.Column("preferred_by", sa.Text(), nullable=True))
    # What the log's interaction carries for handle time: hold (the front end's figure on
    # completing) and the wrap-up the agent went into; NULL where nothing was recorded.
    op.add_column("cc_contacts", sa.Column("hold_s", sa.Float(), nullable=True))
    op.add_column("cc_contacts", sa.Column("wrapup_s", sa.Float(), nullable=True))
    # The wallboard's figures today read the contacts ended since midnight.
    op.create_index("ix_cc_contacts_ended", "cc_contacts", ["ended_at"])


def downgrade() -> None:
    op.drop_index("ix_cc_contacts_ended", table_name="cc_contacts")
    with op.batch_alter_table("cc_contacts") as batch:
        batch.drop_column("wrapup_s")
        batch.drop_column("hold_s")
        batch.drop_column("preferred_by")
