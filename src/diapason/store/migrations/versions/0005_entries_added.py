"""Index collection entries by date added, for added_after.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_entries_collection_added", "collection_entries", ["collection_id", "date_added"]
    )


def downgrade() -> None:
    op.drop_index("ix_entries_collection_added", "collection_entries")
