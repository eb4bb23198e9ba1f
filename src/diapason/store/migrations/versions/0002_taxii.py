"""TAXII 2.1: API roots, collections, access grants, collection entries, add statuses.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Stamp = sa.String(27)
StixId = sa.String(300)


def upgrade() -> None:
    op.create_table(
        "api_roots",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("max_content_length", sa.BigInteger, nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
    )
    op.create_table(
        "collections",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("api_root", sa.String(64), sa.ForeignKey("api_roots.name"), nullable=False),
        sa.Column("alias", sa.String(100)),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("created_at", Stamp, nullable=False),
        sa.UniqueConstraint("api_root", "alias", name="uq_collections_alias"),
    )
    op.create_table(
        "collection_access",
        sa.Column(
            "collection_id", sa.String(36), sa.ForeignKey("collections.id"), primary_key=True
        ),
        sa.Column("username", sa.String(100), primary_key=True),
        sa.Column("can_read", sa.Boolean, nullable=False),
        sa.Column("can_write", sa.Boolean, nullable=False),
    )
    op.create_table(
        "collection_entries",
        sa.Column("seq", Seq, primary_key=True, autoincrement=False),
        sa.Column("collection_id", sa.String(36), nullable=False),
        sa.Column("object_id", StixId, nullable=False),
        sa.Column("modified", Stamp, nullable=False),
        sa.Column("object_seq", Seq, nullable=False),
        sa.Column("date_added", Stamp, nullable=False),
        sa.Column("is_first", sa.Boolean, nullable=False),
        sa.Column("is_latest", sa.Boolean, nullable=False),
        sa.UniqueConstraint("collection_id", "object_id", "modified", name="uq_entries_version"),
    )
    op.create_index("ix_entries_collection_seq", "collection_entries", ["collection_id", "seq"])
    op.create_index("ix_entries_object", "collection_entries", ["object_id"])
    op.create_table(
        "taxii_statuses",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("api_root", sa.String(64), nullable=False),
        sa.Column("collection_id", sa.String(36), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("request_timestamp", Stamp, nullable=False),
        sa.Column("total_count", sa.Integer, nullable=False),
        sa.Column("success_count", sa.Integer, nullable=False),
        sa.Column("failure_count", sa.Integer, nullable=False),
        sa.Column("pending_count", sa.Integer, nullable=False),
        sa.Column("details", sa.Text, nullable=False),
    )
    counters = sa.table("counters", sa.column("name", sa.String), sa.column("value", Seq))
    op.bulk_insert(counters, [{"name": "entries", "value": 0}])


def downgrade() -> None:
    for table in (
        "taxii_statuses",
        "collection_entries",
        "collection_access",
        "collections",
        "api_roots",
    ):
        op.drop_table(table)
    op.execute("DELETE FROM counters WHERE name = 'entries'")
