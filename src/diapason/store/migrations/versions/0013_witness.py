"""A witnessed audit trail: keyed entries, partners' heads kept, what partners witnessed.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-09
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Stamp = sa.String(27)


def upgrade() -> None:
    # A plain ADD COLUMN, not a batch: on SQLite a batch copies the table, and the copy
    # would lose the triggers that refuse UPDATE and DELETE on audit_log. Entries already
    # written are unkeyed (SHA-256), which is what the default says.
    op.add_column(
        "audit_log",
        sa.Column("keyed", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    with op.batch_alter_table("partners") as batch:
        batch.add_column(sa.Column("witnessed_seq", Seq))
        batch.add_column(sa.Column("witnessed_at", Stamp))
    op.create_table(
        "witnessed_heads",
        sa.Column("partner", sa.String(63), primary_key=True),
        sa.Column("seq", Seq, primary_key=True, autoincrement=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("witnessed_at", Stamp, nullable=False),
        sa.Column("via", sa.String(20), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("witnessed_heads")
    with op.batch_alter_table("partners") as batch:
        batch.drop_column("witnessed_at")
        batch.drop_column("witnessed_seq")
    op.drop_column("audit_log", "keyed")
