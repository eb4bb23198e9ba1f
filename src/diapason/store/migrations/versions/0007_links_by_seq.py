"""Key markings and references by the version's ``objects.seq`` instead of its STIX id.

Only current versions have rows in these tables, so each old ``(object id, …)`` row maps to
one ``seq``. A seq grows with every write: new rows append at the end of each B-tree rather
than at a random place, and an integer key is a third of an id's size (CHANGELOG.md).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
StixId = sa.String(300)


def _rebuild(
    name: str,
    columns: list[sa.Column[Any]],
    copy: str,
    index: str,
    indexed: list[str],
    *,
    with_rowid: bool = False,
) -> None:
    """Replace table ``name`` by one with ``columns``, filled by the ``copy`` SELECT."""
    op.create_table(f"{name}_new", *columns, sqlite_with_rowid=with_rowid)
    op.execute(f"INSERT INTO {name}_new {copy} ON CONFLICT DO NOTHING")
    op.drop_table(name)
    op.rename_table(f"{name}_new", name)
    op.create_index(index, name, indexed)


def upgrade() -> None:
    _rebuild(
        "edges",
        [
            sa.Column("source_seq", Seq, primary_key=True, autoincrement=False),
            sa.Column("property", sa.String(300), primary_key=True),
            sa.Column("target_id", StixId, nullable=False),
        ],
        "SELECT o.seq, e.property, e.target_id FROM edges e "
        "JOIN objects o ON o.id = e.source_id AND o.is_current",
        "ix_edges_target",
        ["target_id"],
    )
    _rebuild(
        "object_markings",
        [
            sa.Column("object_seq", Seq, primary_key=True, autoincrement=False),
            sa.Column("marking_ref", StixId, primary_key=True),
        ],
        "SELECT o.seq, m.marking_ref FROM object_markings m "
        "JOIN objects o ON o.id = m.object_id AND o.is_current",
        "ix_object_markings_marking",
        ["marking_ref", "object_seq"],
    )


def downgrade() -> None:
    _rebuild(
        "edges",
        [
            sa.Column("source_id", StixId, primary_key=True),
            sa.Column("property", sa.String(300), primary_key=True),
            sa.Column("target_id", StixId, primary_key=True),
        ],
        "SELECT o.id, e.property, e.target_id FROM edges e JOIN objects o ON o.seq = e.source_seq",
        "ix_edges_target",
        ["target_id"],
        with_rowid=True,
    )
    _rebuild(
        "object_markings",
        [
            sa.Column("object_id", StixId, primary_key=True),
            sa.Column("marking_ref", StixId, primary_key=True),
        ],
        "SELECT o.id, m.marking_ref FROM object_markings m JOIN objects o ON o.seq = m.object_seq",
        "ix_object_markings_marking",
        ["marking_ref"],
        with_rowid=True,
    )
