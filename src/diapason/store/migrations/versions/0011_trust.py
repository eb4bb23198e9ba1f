"""The trust boundary: what each partner tried that was refused; receipts kept until stored.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

Stamp = sa.String(27)


def upgrade() -> None:
    with op.batch_alter_table("partners") as batch:
        batch.add_column(sa.Column("refused", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("last_refusal", sa.Text))
        batch.add_column(sa.Column("last_refusal_at", Stamp))
    op.create_table(
        "outgoing_receipts",
        sa.Column("id", sa.String(300), primary_key=True),
        sa.Column("partner", sa.String(63), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("entries", sa.Integer, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("content", sa.Text, nullable=False),
    )
    op.create_index("ix_outgoing_receipts_partner", "outgoing_receipts", ["partner"])


def downgrade() -> None:
    op.drop_table("outgoing_receipts")
    with op.batch_alter_table("partners") as batch:
        batch.drop_column("last_refusal_at")
        batch.drop_column("last_refusal")
        batch.drop_column("refused")
