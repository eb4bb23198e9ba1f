"""Federation: node facts, partners, release decisions, consents, named RED recipients.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Stamp = sa.String(27)
StixId = sa.String(300)


def upgrade() -> None:
    op.create_table(
        "node_meta",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "partners",
        sa.Column("name", sa.String(63), primary_key=True),
        sa.Column("url", sa.String(500), nullable=False),
        sa.Column("token", sa.String(200), nullable=False),
        sa.Column("account", sa.String(100), nullable=False),
        sa.Column("identity_id", StixId),
        sa.Column("outbox", sa.String(36), nullable=False),
        sa.Column("remote_collection", sa.String(500)),
        sa.Column("watermark", Stamp),
        sa.Column("last_sync_at", Stamp),
        sa.Column("last_error", sa.Text),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", Stamp),
        sa.Column("created_at", Stamp, nullable=False),
    )
    op.create_table(
        "release_decisions",
        sa.Column("partner", sa.String(63), primary_key=True),
        sa.Column("object_id", StixId, primary_key=True),
        sa.Column("modified", Stamp, primary_key=True),
        sa.Column("decided_at", Stamp, nullable=False),
        sa.Column("released", sa.Boolean, nullable=False),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
    )
    op.create_index("ix_release_decisions_object", "release_decisions", ["object_id"])
    op.create_table(
        "consents",
        sa.Column("object_id", StixId, primary_key=True),
        sa.Column("originator", StixId, primary_key=True),
        sa.Column("partner", sa.String(63), primary_key=True),
        sa.Column("recorded_at", Stamp, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
    )
    op.create_table(
        "red_recipients",
        sa.Column("object_id", StixId, primary_key=True),
        sa.Column("partner", sa.String(63), primary_key=True),
        sa.Column("recorded_at", Stamp, nullable=False),
    )
    counters = sa.table("counters", sa.column("name", sa.String), sa.column("value", Seq))
    op.bulk_insert(counters, [{"name": "policy", "value": 0}])


def downgrade() -> None:
    for table in ("red_recipients", "consents", "release_decisions", "partners", "node_meta"):
        op.drop_table(table)
    op.execute("DELETE FROM counters WHERE name = 'policy'")
