"""automation: playbook runs, their steps (idempotency key, due time, lease) and paused states

Revision ID: 0019
Revises: 0015
Create Date: 2026-12-02 16:10:00.000000
"""

import sqlalchemy as sa
from alembic import op

from touchpoint.store.types import UTCDateTime

revision = "0019"
down_revision = "0015"
branch_labels = None
depends_on = None

Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "playbook_runs",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("key", sa.String(400), nullable=False, unique=True),
        sa.Column("playbook", sa.String(60), nullable=False),
        sa.Column("customer_id", sa.String(40), nullable=False),
        sa.Column("occurrence", sa.String(300), nullable=False),
        sa.Column("trigger_id", sa.String(300), nullable=False),
        sa.Column("trigger_at", When, nullable=False),
        sa.Column("started_at", When, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
    )
    op.create_index("ix_playbook_runs_customer", "playbook_runs", ["playbook", "customer_id"])
    op.create_table(
        "playbook_steps",
        sa.Column("seq", Seq, primary_key=True),
        sa.Column("key", sa.String(420), nullable=False, unique=True),
        sa.Column("run_id", sa.String(40), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("due_at", When, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("claimed_until", When, nullable=True),
        sa.Column("finished_at", When, nullable=True),
        sa.Column("outcome", sa.JSON(), nullable=True),
        sa.Column("log_item", sa.JSON(), nullable=True),
        sa.Column("logged_at", When, nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_playbook_steps_due", "playbook_steps", ["status", "due_at"])
    op.create_index("ix_playbook_steps_run", "playbook_steps", ["run_id", "step"])
    op.create_table(
        "playbook_states",
        sa.Column("name", sa.String(60), primary_key=True),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("changed_at", When, nullable=False),
        sa.Column("changed_by", sa.Text(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("playbook_states")
    op.drop_index("ix_playbook_steps_run", table_name="playbook_steps")
    op.drop_index("ix_playbook_steps_due", table_name="playbook_steps")
    op.drop_table("playbook_steps")
    op.drop_index("ix_playbook_runs_customer", table_name="playbook_runs")
    op.drop_table("playbook_runs")
