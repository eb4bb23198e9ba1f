"""Drop ``objects.content_hash``: a version sent again is compared with the stored content.

The hash served one purpose: telling a repeat of a stored version (unchanged) from a
different content under the same ``(id, modified)`` (refused). The write now reads the
stored content of just those versions and compares it exactly, so every import stops
hashing every object, and every version row is 64 bytes shorter (CHANGELOG.md, 2026-11-30).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from __future__ import annotations

import hashlib

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

CHUNK = 1000


def upgrade() -> None:
    # Native on PostgreSQL and on SQLite since 3.35 (the column is in no index).
    op.execute("ALTER TABLE objects DROP COLUMN content_hash")


def downgrade() -> None:
    # Revision 0009 keeps the SHA-256 of the canonical content, never null.
    op.execute("ALTER TABLE objects ADD COLUMN content_hash VARCHAR(64) NOT NULL DEFAULT ''")
    connection = op.get_bind()
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    last = -1
    # In seq order, CHUNK versions at a time: a store may not fit in memory, and a chunk of
    # the largest objects allowed (1 MiB by default) stays about a gigabyte.
    while True:
        rows = connection.exec_driver_sql(
            f"SELECT seq, content FROM objects WHERE seq > {mark} ORDER BY seq LIMIT {CHUNK}",
            (last,),
        ).all()
        if not rows:
            break
        connection.exec_driver_sql(
            f"UPDATE objects SET content_hash = {mark} WHERE seq = {mark}",
            [(hashlib.sha256(content.encode()).hexdigest(), seq) for seq, content in rows],
        )
        last = rows[-1][0]
    if connection.dialect.name == "postgresql":
        op.execute("ALTER TABLE objects ALTER COLUMN content_hash DROP DEFAULT")
