"""TLS between nodes: how each partner's certificate is checked, plain http allowed or not,
and the client certificate an account is bound to.

Partners added before keep ``insecure`` false: one reached over plain http outside loopback
is refused by the sync agent until its operator moves it to https or says ``--insecure``.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-14
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("partners") as batch:
        batch.add_column(sa.Column("ca_certificates", sa.Text))
        batch.add_column(sa.Column("fingerprint", sa.String(64)))
        batch.add_column(
            sa.Column("insecure", sa.Boolean, nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("certificate", sa.String(64)))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("certificate")
    with op.batch_alter_table("partners") as batch:
        batch.drop_column("insecure")
        batch.drop_column("fingerprint")
        batch.drop_column("ca_certificates")
