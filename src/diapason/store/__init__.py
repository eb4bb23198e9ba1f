"""Persistence: one interface (``ObjectStore``), SQLite and PostgreSQL implementations,
the node's own facts (``NodeMeta``) and the read-only queries (``ReadModel``).

Above the state layer, modules import from here or from ``store.interface`` only; the
tables, engines and SQL helpers (``schema``, ``db``, ``rows``, ``sql``) are the store's
and the state layer's (docs/architecture.md).
"""

from diapason.store.db import Database, DatabaseError, open_database, open_engine
from diapason.store.dump import COPY_FILES, CopyProgress, copy_database, load_database
from diapason.store.interface import (
    Edge,
    ObjectStore,
    Page,
    PutReport,
    Query,
    StoredObject,
    Tombstone,
)
from diapason.store.node_meta import NodeMeta
from diapason.store.read_model import Brief, ReadModel, title_of
from diapason.store.sql import open_store, store_on

__all__ = [
    "COPY_FILES",
    "Brief",
    "CopyProgress",
    "Database",
    "DatabaseError",
    "Edge",
    "NodeMeta",
    "ObjectStore",
    "Page",
    "PutReport",
    "Query",
    "ReadModel",
    "StoredObject",
    "Tombstone",
    "copy_database",
    "load_database",
    "open_database",
    "open_engine",
    "open_store",
    "store_on",
    "title_of",
]
