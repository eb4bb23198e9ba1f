"""Receipts: partners acknowledge what they stored; where to send our receipts.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

Stamp = sa.String(27)
StixId = sa.String(300)


def upgrade() -> None:
    with op.batch_alter_table("partners") as batch:
        batch.add_column(sa.Column("remote_inbox", sa.String(500)))
    op.create_table(
        "deliveries",
        sa.Column("partner", sa.String(63), primary_key=True),
        sa.Column("object_id", StixId, primary_key=True),
        sa.Column("modified", Stamp, primary_key=True),
        sa.Column("stored_at", Stamp, nullable=False),
        sa.Column("acknowledged_at", Stamp, nullable=False),
        sa.Column("receipt_id", StixId, nullable=False),
    )
    op.create_index("ix_deliveries_object", "deliveries", ["object_id"])


def downgrade() -> None:
    op.drop_table("deliveries")
    with op.batch_alter_table("partners") as batch:
        batch.drop_column("remote_inbox")
