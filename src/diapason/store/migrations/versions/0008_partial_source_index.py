"""Index provenance only where there is one: versions received from a partner.

A node's own imports carry no ``source``; indexing them anyway cost every local write one
more B-tree insert for a lookup (``source = 'partner:NAME'``) that never finds them.
Both databases use a partial index for ``source = …`` (a comparison implies NOT NULL).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_objects_source_seq", "objects")
    op.create_index(
        "ix_objects_source_seq",
        "objects",
        ["source", "seq"],
        sqlite_where=sa.text("source IS NOT NULL"),
        postgresql_where=sa.text("source IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_objects_source_seq", "objects")
    op.create_index("ix_objects_source_seq", "objects", ["source", "seq"])
