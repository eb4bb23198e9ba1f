"""Initial schema: objects, markings, edges, full-text index, tombstones, audit, accounts.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Stamp = sa.String(27)
StixId = sa.String(300)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table(
        "objects",
        sa.Column("seq", Seq, primary_key=True, autoincrement=False),
        sa.Column("id", StixId, nullable=False),
        sa.Column("modified", Stamp, nullable=False),
        sa.Column("type", sa.String(250), nullable=False),
        sa.Column("spec_version", sa.String(10)),
        sa.Column("created", Stamp),
        sa.Column("created_by_ref", StixId),
        sa.Column("revoked", sa.Boolean, nullable=False),
        sa.Column("is_current", sa.Boolean, nullable=False),
        sa.Column("date_added", Stamp, nullable=False),
        sa.Column("source", sa.String(200)),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.UniqueConstraint("id", "modified", name="uq_objects_version"),
    )
    op.create_index("ix_objects_current_type", "objects", ["type", "seq"])
    op.create_index("ix_objects_created_by", "objects", ["created_by_ref"])
    op.create_index("ix_objects_modified", "objects", ["modified"])
    op.create_index("ix_objects_date_added", "objects", ["date_added"])
    counters = op.create_table(
        "counters",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("value", Seq, nullable=False),
    )
    op.bulk_insert(counters, [{"name": "objects", "value": 0}, {"name": "audit", "value": 0}])
    op.create_table(
        "object_markings",
        sa.Column("object_id", StixId, primary_key=True),
        sa.Column("marking_ref", StixId, primary_key=True),
    )
    op.create_index("ix_object_markings_marking", "object_markings", ["marking_ref"])
    op.create_table(
        "edges",
        sa.Column("source_id", StixId, primary_key=True),
        sa.Column("property", sa.String(300), primary_key=True),
        sa.Column("target_id", StixId, primary_key=True),
    )
    op.create_index("ix_edges_target", "edges", ["target_id"])
    op.create_table(
        "tombstones",
        sa.Column("seq", Seq, primary_key=True, autoincrement=True),
        sa.Column("object_id", StixId, nullable=False),
        sa.Column("type", sa.String(250), nullable=False),
        sa.Column("deleted_at", Stamp, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
    )
    op.create_index("ix_tombstones_object_id", "tombstones", ["object_id"])
    op.create_table(
        "audit_log",
        sa.Column("seq", Seq, primary_key=True, autoincrement=False),
        sa.Column("at", Stamp, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("object_ids", sa.Text, nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "users",
        sa.Column("id", Seq, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(100), nullable=False, unique=True),
        sa.Column("role", sa.String(30), nullable=False),
        sa.Column("password_hash", sa.String(200)),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", Seq, primary_key=True, autoincrement=True),
        sa.Column("user_id", Seq, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("revoked_at", Stamp),
        sa.Column("last_used_at", Stamp),
    )
    if dialect == "sqlite":
        # Rows are keyed by the objects.seq of the current version (rowid).
        op.execute(
            "CREATE VIRTUAL TABLE object_fts USING fts5("
            "body, tokenize = 'unicode61 remove_diacritics 2')"
        )
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
            )
    else:
        op.execute(
            "CREATE TABLE object_fts ("
            "seq BIGINT PRIMARY KEY, body TEXT NOT NULL, "
            "tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', body)) STORED)"
        )
        op.execute("CREATE INDEX ix_object_fts_tsv ON object_fts USING GIN (tsv)")
        op.execute(
            "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
        )


def downgrade() -> None:
    raise NotImplementedError("the initial schema is not downgraded; restore a backup instead")
