"""Sign-in throttling: failed password sign-ins per account name and per client address.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

Stamp = sa.String(27)


def upgrade() -> None:
    op.create_table(
        "signin_failures",
        sa.Column("scope", sa.String(10), primary_key=True),
        sa.Column("subject", sa.String(100), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("last_failure_at", Stamp, nullable=False),
        sa.Column("not_before", Stamp, nullable=False),
        sa.Column("locked_until", Stamp),
    )
    op.create_index("ix_signin_failures_last", "signin_failures", ["last_failure_at"])


def downgrade() -> None:
    op.drop_table("signin_failures")
