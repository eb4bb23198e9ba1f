"""Index object versions by provenance, for the web dashboard's "latest received from
each partner" (without it, a partner that sent nothing costs a scan of every version).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_objects_source_seq", "objects", ["source", "seq"])


def downgrade() -> None:
    op.drop_index("ix_objects_source_seq", "objects")
