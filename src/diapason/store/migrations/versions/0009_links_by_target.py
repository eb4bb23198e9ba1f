"""Key markings and references by what is looked up, in one B-tree each.

``object_markings`` becomes ``(marking_ref, object_seq)`` and ``edges`` becomes
``(target_id, source_seq, property)``: the primary key now serves the two lookups (objects
carrying a marking, objects referring to an id) that a second index served, and that index
is gone. Rows stay when their version is replaced (reads keep current versions), so no
lookup by version is needed; a bulk import writes one B-tree entry per row instead of two
(docs/store.md).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
StixId = sa.String(300)


def _rebuild(name: str, columns: list[sa.Column[Any]], names: str, copy: str) -> None:
    """Replace table ``name`` by one with ``columns`` (WITHOUT ROWID on SQLite), filled by
    the ``copy`` SELECT of columns ``names``."""
    op.create_table(f"{name}_new", *columns, sqlite_with_rowid=False)
    op.execute(f"INSERT INTO {name}_new ({names}) {copy}")
    op.drop_table(name)
    op.rename_table(f"{name}_new", name)


def upgrade() -> None:
    op.drop_index("ix_edges_target", "edges")
    _rebuild(
        "edges",
        [
            sa.Column("target_id", StixId, primary_key=True),
            sa.Column("source_seq", Seq, primary_key=True, autoincrement=False),
            sa.Column("property", sa.String(300), primary_key=True),
        ],
        "target_id, source_seq, property",
        "SELECT target_id, source_seq, property FROM edges",
    )
    op.drop_index("ix_object_markings_marking", "object_markings")
    _rebuild(
        "object_markings",
        [
            sa.Column("marking_ref", StixId, primary_key=True),
            sa.Column("object_seq", Seq, primary_key=True, autoincrement=False),
        ],
        "marking_ref, object_seq",
        "SELECT marking_ref, object_seq FROM object_markings",
    )


def downgrade() -> None:
    # Revision 0008 keeps rows for current versions only.
    _rebuild(
        "edges",
        [
            sa.Column("source_seq", Seq, primary_key=True, autoincrement=False),
            sa.Column("property", sa.String(300), primary_key=True),
            sa.Column("target_id", StixId, nullable=False),
        ],
        "source_seq, property, target_id",
        "SELECT e.source_seq, e.property, e.target_id FROM edges e "
        "JOIN objects o ON o.seq = e.source_seq AND o.is_current",
    )
    op.create_index("ix_edges_target", "edges", ["target_id"])
    _rebuild(
        "object_markings",
        [
            sa.Column("object_seq", Seq, primary_key=True, autoincrement=False),
            sa.Column("marking_ref", StixId, primary_key=True),
        ],
        "object_seq, marking_ref",
        "SELECT m.object_seq, m.marking_ref FROM object_markings m "
        "JOIN objects o ON o.seq = m.object_seq AND o.is_current",
    )
    op.create_index("ix_object_markings_marking", "object_markings", ["marking_ref", "object_seq"])
