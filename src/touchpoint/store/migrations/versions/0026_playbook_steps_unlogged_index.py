"""playbook_steps: a partial index of the steps whose interaction is not yet in the log, so each
automation pass finds them without reading every step ever recorded (issue 14)

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-03 00:10:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

NAME = "ix_playbook_steps_unlogged"
UNLOGGED = sa.text("log_item IS NOT NULL AND logged_at IS NULL")


def upgrade() -> None:
    op.create_index(
        NAME, "playbook_steps", ["seq"], sqlite_where=UNLOGGED, postgresql_where=UNLOGGED
    )


def downgrade() -> None:
    op.drop_index(NAME, table_name="playbook_steps")
