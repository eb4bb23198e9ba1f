"""Alembic environment: always run with a connection handed over by ``diapason.store.db``.

The caller (``db.migrate``) holds the transaction, so migrations run inside it and a
failure leaves the schema as it was.
"""

from __future__ import annotations

from alembic import context

from diapason.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata)
context.run_migrations()
