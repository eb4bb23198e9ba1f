"""Where each partner's STIX identity came from: given by the operator, carried by a
pairing code, learned from the partner's TAXII discovery, or given and confirmed by it.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("partners") as batch:
        batch.add_column(sa.Column("identity_source", sa.String(10)))
    # What the operator typed before this revision was the operator's word, not checked.
    op.execute("UPDATE partners SET identity_source = 'operator' WHERE identity_id IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("partners") as batch:
        batch.drop_column("identity_source")
