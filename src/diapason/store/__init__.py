"""Persistence: one interface (``ObjectStore``), SQLite and PostgreSQL implementations."""

from diapason.store.db import DatabaseError, open_engine
from diapason.store.interface import (
    Edge,
    ObjectStore,
    Page,
    PutReport,
    Query,
    StoredObject,
    Tombstone,
)
from diapason.store.sql import open_store

__all__ = [
    "DatabaseError",
    "Edge",
    "ObjectStore",
    "Page",
    "PutReport",
    "Query",
    "StoredObject",
    "Tombstone",
    "open_engine",
    "open_store",
]
