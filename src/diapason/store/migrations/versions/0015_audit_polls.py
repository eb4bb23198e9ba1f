"""Empty polls by partners counted per hour, summed up in one audit entry when it closes.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

Stamp = sa.String(27)


def upgrade() -> None:
    op.create_table(
        "audit_polls",
        sa.Column("actor", sa.String(200), primary_key=True),
        sa.Column("hour", sa.String(13), primary_key=True),
        sa.Column("collection_id", sa.String(36), primary_key=True),
        sa.Column("endpoint", sa.String(20), primary_key=True),
        sa.Column("polls", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("first_at", Stamp, nullable=False),
        sa.Column("last_at", Stamp, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("audit_polls")
