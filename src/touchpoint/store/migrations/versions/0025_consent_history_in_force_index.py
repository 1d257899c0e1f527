"""consent_history: an index holding the consent in force's whole order (customer, channel,
purpose, occurred_at, recorded_at, source) and its status, so a segment's `consent email` for a
batch's customers is one covering index seek each, no sort (docs/decisions.md, issue 13)

Revision ID: 0025
Revises: 0021
Create Date: 2026-12-03 00:05:00.000000
"""

from alembic import op

revision = "0025"
down_revision = "0021"
branch_labels = None
depends_on = None

NAME = "ix_consent_history_in_force"
COLUMNS = ["customer_id", "channel", "purpose", "occurred_at", "recorded_at", "source", "status"]


def upgrade() -> None:
    op.create_index(NAME, "consent_history", COLUMNS)


def downgrade() -> None:
    op.drop_index(NAME, table_name="consent_history")
