"""identity: interactions keep their identity keys; merges say their cause and can be undone
(unmerges); blocked implicit merges are conflicts

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

from touchpoint.store.types import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL for the rows already stored: their keys were not kept (see legacy_moved).
    op.add_column("interactions", sa.Column("identity_keys", sa.JSON(), nullable=True))
    with op.batch_alter_table("merges") as batch:
        batch.alter_column("interaction_id", existing_type=sa.String(200), nullable=True)
        batch.alter_column("linking_key", existing_type=sa.String(400), nullable=True)
        batch.add_column(
            sa.Column("cause", sa.String(20), nullable=False, server_default="identity")
        )
        batch.add_column(sa.Column("log_position", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("survivor_traits", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("merged_traits", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("legacy_moved", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("undone_at", UTCDateTime(), nullable=True))

    seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "unmerges",
        sa.Column("seq", seq, autoincrement=True, nullable=False),
        sa.Column("merge_seq", sa.BigInteger(), nullable=False),
        sa.Column("survivor_id", sa.String(40), nullable=False),
        sa.Column("merged_id", sa.String(40), nullable=False),
        sa.Column("restored_ids", sa.JSON(), nullable=False),
        sa.Column("moved_keys", sa.JSON(), nullable=False),
        sa.Column("moved_interactions", sa.Integer(), nullable=False),
        sa.Column("undone_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_unmerges"),
        sqlite_autoincrement=True,
    )
    for column in ("merge_seq", "survivor_id", "merged_id"):
        op.create_index(f"ix_unmerges_{column}", "unmerges", [column])

    op.create_table(
        "identity_conflicts",
        sa.Column("seq", seq, autoincrement=True, nullable=False),
        sa.Column("customer_id", sa.String(40), nullable=False),
        sa.Column("other_id", sa.String(40), nullable=False),
        sa.Column("key", sa.String(400), nullable=False),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.Column("interaction_id", sa.String(200), nullable=False),
        sa.Column("first_at", UTCDateTime(), nullable=False),
        sa.Column("last_at", UTCDateTime(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("dismissed_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("seq", name="pk_identity_conflicts"),
        sa.UniqueConstraint(
            "customer_id", "other_id", "key", name="uq_identity_conflicts_customer_id"
        ),
    )
    for column in ("customer_id", "other_id"):
        op.create_index(f"ix_identity_conflicts_{column}", "identity_conflicts", [column])


def downgrade() -> None:
    op.drop_table("identity_conflicts")
    op.drop_table("unmerges")
    with op.batch_alter_table("merges") as batch:
        for column in (
            "undone_at",
            "legacy_moved",
            "merged_traits",
            "survivor_traits",
            "log_position",
            "cause",
        ):
            batch.drop_column(column)
    with op.batch_alter_table("interactions") as batch:
        batch.drop_column("identity_keys")
