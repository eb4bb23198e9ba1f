"""The one schema both databases share (SQLAlchemy Core tables).

Timestamps are stored as fixed-width RFC 3339 text (``YYYY-MM-DDTHH:MM:SS.ffffffZ``): they
sort correctly as text on both databases and round-trip exactly to STIX. Full-text search
is the one dialect-specific part: an FTS5 virtual table on SQLite, a table with a generated
``tsvector`` column and a GIN index on PostgreSQL (see the first migration).
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Stamp = sa.String(27)
StixId = sa.String(300)

objects = sa.Table(
    "objects",
    metadata,
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
    sa.Column("content", sa.Text, nullable=False),
    sa.UniqueConstraint("id", "modified", name="uq_objects_version"),
)

# Monotonic counters. Allocating ``seq`` values by updating a row (not with a database
# sequence) holds a row lock to commit, so on PostgreSQL ``seq`` order is commit order and a
# keyset reader never skips a row committed late.
counters = sa.Table(
    "counters",
    metadata,
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("value", Seq, nullable=False),
)

# The markings and references of each version written as current, keyed by what is looked
# up: the marking (a query by marking) or the referenced id (what refers to an object), then
# the version's ``objects.seq``. One B-tree each, WITHOUT ROWID on SQLite (the primary key is
# the table). A replaced version keeps its rows, as it keeps its full-text row: every read
# joins ``objects`` and keeps current versions only, so no lookup by version is needed until
# the object is deleted, and then each version's content names its rows (docs/store.md).
object_markings = sa.Table(
    "object_markings",
    metadata,
    sa.Column("marking_ref", StixId, primary_key=True),
    sa.Column("object_seq", Seq, primary_key=True, autoincrement=False),
    sqlite_with_rowid=False,
)

edges = sa.Table(
    "edges",
    metadata,
    sa.Column("target_id", StixId, primary_key=True),
    sa.Column("source_seq", Seq, primary_key=True, autoincrement=False),
    sa.Column("property", sa.String(300), primary_key=True),
    sqlite_with_rowid=False,
)

tombstones = sa.Table(
    "tombstones",
    metadata,
    sa.Column("seq", Seq, primary_key=True, autoincrement=True),
    sa.Column("object_id", StixId, nullable=False, index=True),
    sa.Column("type", sa.String(250), nullable=False),
    sa.Column("deleted_at", Stamp, nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("seq", Seq, primary_key=True, autoincrement=False),
    sa.Column("at", Stamp, nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("object_ids", sa.Text, nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("details", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    # The hash is an HMAC under the node's audit key (false: SHA-256, an entry written
    # before the node had a key; audit/log.py).
    sa.Column("keyed", sa.Boolean, nullable=False, server_default=sa.false()),
)

# Empty polls by partners, counted per partner, hour, collection and endpoint until the
# hour closes; then one ``poll_summary`` audit entry per partner and hour replaces them
# (audit/log.py, ``AuditLog.record_poll``).
audit_polls = sa.Table(
    "audit_polls",
    metadata,
    sa.Column("actor", sa.String(200), primary_key=True),
    sa.Column("hour", sa.String(13), primary_key=True),
    sa.Column("collection_id", sa.String(36), primary_key=True),
    sa.Column("endpoint", sa.String(20), primary_key=True),
    sa.Column("polls", Seq, nullable=False),
    sa.Column("first_at", Stamp, nullable=False),
    sa.Column("last_at", Stamp, nullable=False),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", Seq, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(100), nullable=False, unique=True),
    sa.Column("role", sa.String(30), nullable=False),
    sa.Column("password_hash", sa.String(200)),
    sa.Column("disabled", sa.Boolean, nullable=False),
    sa.Column("created_at", Stamp, nullable=False),
    # The SHA-256 fingerprint of the client certificate this account's requests must come
    # over (a partner node's), if it is bound to one.
    sa.Column("certificate", sa.String(64)),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", Seq, primary_key=True, autoincrement=True),
    sa.Column("user_id", Seq, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("prefix", sa.String(16), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("revoked_at", Stamp),
    sa.Column("last_used_at", Stamp),
)

# Failed sign-ins by password (accounts.SignInThrottle): one row per account name tried
# (existing or not) and per client address, kept while it delays or locks attempts and
# forgotten a while after its last failure. The name or address is the key.
signin_failures = sa.Table(
    "signin_failures",
    metadata,
    sa.Column("scope", sa.String(10), primary_key=True),
    sa.Column("subject", sa.String(100), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("last_failure_at", Stamp, nullable=False),
    sa.Column("not_before", Stamp, nullable=False),
    sa.Column("locked_until", Stamp),
)
sa.Index("ix_signin_failures_last", signin_failures.c.last_failure_at)
# The dashboard's audit entries per hour (store/read_model.py: a range of the last hours).
sa.Index("ix_audit_log_at", audit_log.c.at)

sa.Index("ix_objects_current_type", objects.c.type, objects.c.seq)
sa.Index("ix_objects_created_by", objects.c.created_by_ref)
sa.Index("ix_objects_modified", objects.c.modified)
sa.Index("ix_objects_date_added", objects.c.date_added)
# The web dashboard: the newest versions received from a partner (source "partner:NAME").
# Partial: a node's own imports (no source) are never looked up by it.
sa.Index(
    "ix_objects_source_seq",
    objects.c.source,
    objects.c.seq,
    sqlite_where=objects.c.source.is_not(None),
    postgresql_where=objects.c.source.is_not(None),
)

# -- TAXII 2.1: API roots, collections, who may use them, what they hold, add statuses ----

api_roots = sa.Table(
    "api_roots",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("max_content_length", sa.BigInteger, nullable=False),
    sa.Column("created_at", Stamp, nullable=False),
)

collections = sa.Table(
    "collections",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("api_root", sa.String(64), sa.ForeignKey("api_roots.name"), nullable=False),
    sa.Column("alias", sa.String(100)),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("created_at", Stamp, nullable=False),
    sa.UniqueConstraint("api_root", "alias", name="uq_collections_alias"),
)

collection_access = sa.Table(
    "collection_access",
    metadata,
    sa.Column("collection_id", sa.String(36), sa.ForeignKey("collections.id"), primary_key=True),
    sa.Column("username", sa.String(100), primary_key=True),
    sa.Column("can_read", sa.Boolean, nullable=False),
    sa.Column("can_write", sa.Boolean, nullable=False),
)

# One row per object version in a collection. ``seq`` (counter "entries") orders a
# collection by date added and is the keyset of TAXII paging. ``is_first``/``is_latest`` mark
# the oldest and newest version of each object within the collection (match[version]).
collection_entries = sa.Table(
    "collection_entries",
    metadata,
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

taxii_statuses = sa.Table(
    "taxii_statuses",
    metadata,
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

sa.Index("ix_entries_collection_seq", collection_entries.c.collection_id, collection_entries.c.seq)
sa.Index("ix_entries_object", collection_entries.c.object_id)
sa.Index(
    "ix_entries_collection_added",
    collection_entries.c.collection_id,
    collection_entries.c.date_added,
)

# -- Exchange: this node's facts, partners, release decisions, consents ---------------

node_meta = sa.Table(
    "node_meta",
    metadata,
    sa.Column("key", sa.String(100), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

partners = sa.Table(
    "partners",
    metadata,
    sa.Column("name", sa.String(63), primary_key=True),
    sa.Column("url", sa.String(500), nullable=False),
    sa.Column("token", sa.String(200), nullable=False),
    sa.Column("account", sa.String(100), nullable=False),
    sa.Column("identity_id", StixId),
    # Where identity_id came from (exchange/partners.py, IDENTITY_SOURCES): "operator",
    # "code" (a pairing code), "learned" (the partner's TAXII discovery), "confirmed" (given,
    # and the partner's discovery states the same).
    sa.Column("identity_source", sa.String(10)),
    sa.Column("outbox", sa.String(36), nullable=False),
    sa.Column("remote_collection", sa.String(500)),
    sa.Column("remote_inbox", sa.String(500)),
    sa.Column("watermark", Stamp),
    sa.Column("last_sync_at", Stamp),
    sa.Column("last_error", sa.Text),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", Stamp),
    sa.Column("created_at", Stamp, nullable=False),
    # What this partner sent that the trust rules refused (domain/trust.py): how many
    # versions, and the last one (which object, which rule, why).
    sa.Column("refused", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_refusal", sa.Text),
    sa.Column("last_refusal_at", Stamp),
    # How this node checks the partner's certificate: its CA certificates (PEM), and/or the
    # pinned SHA-256 fingerprint of the certificate itself; neither: the system's CAs.
    # ``insecure``: the operator allowed plain http outside loopback.
    sa.Column("ca_certificates", sa.Text),
    sa.Column("fingerprint", sa.String(64)),
    sa.Column("insecure", sa.Boolean, nullable=False, server_default=sa.false()),
    # The last head of this node's audit trail the partner said it keeps (a witness).
    sa.Column("witnessed_seq", Seq),
    sa.Column("witnessed_at", Stamp),
)

release_decisions = sa.Table(
    "release_decisions",
    metadata,
    sa.Column("partner", sa.String(63), primary_key=True),
    sa.Column("object_id", StixId, primary_key=True),
    sa.Column("modified", Stamp, primary_key=True),
    sa.Column("decided_at", Stamp, nullable=False),
    sa.Column("released", sa.Boolean, nullable=False),
    sa.Column("code", sa.String(40), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
)

consents = sa.Table(
    "consents",
    metadata,
    sa.Column("object_id", StixId, primary_key=True),
    sa.Column("originator", StixId, primary_key=True),
    sa.Column("partner", sa.String(63), primary_key=True),
    sa.Column("recorded_at", Stamp, nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
)

red_recipients = sa.Table(
    "red_recipients",
    metadata,
    sa.Column("object_id", StixId, primary_key=True),
    sa.Column("partner", sa.String(63), primary_key=True),
    sa.Column("recorded_at", Stamp, nullable=False),
)

sa.Index("ix_release_decisions_object", release_decisions.c.object_id)

# What partners acknowledged storing (from their x-diapason-receipt objects).
deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("partner", sa.String(63), primary_key=True),
    sa.Column("object_id", StixId, primary_key=True),
    sa.Column("modified", Stamp, primary_key=True),
    sa.Column("stored_at", Stamp, nullable=False),
    sa.Column("acknowledged_at", Stamp, nullable=False),
    sa.Column("receipt_id", StixId, nullable=False),
)
sa.Index("ix_deliveries_object", deliveries.c.object_id)

# Receipts this node owes its partners for what it stored from them, kept until the
# partner's inbox has stored them (a failed POST, or a refusal in the status, is retried).
outgoing_receipts = sa.Table(
    "outgoing_receipts",
    metadata,
    sa.Column("id", sa.String(300), primary_key=True),
    sa.Column("partner", sa.String(63), nullable=False),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("entries", sa.Integer, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("last_error", sa.Text),
    sa.Column("content", sa.Text, nullable=False),
)
sa.Index("ix_outgoing_receipts_partner", outgoing_receipts.c.partner)

# The heads of partners' audit trails this node witnessed (exchange/witness.py): what each
# partner said its trail's last entry was (seq, hash), and when. Kept whole for a day,
# then the first and the last head of each hour.
witnessed_heads = sa.Table(
    "witnessed_heads",
    metadata,
    sa.Column("partner", sa.String(63), primary_key=True),
    sa.Column("seq", Seq, primary_key=True, autoincrement=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("witnessed_at", Stamp, nullable=False),
    sa.Column("via", sa.String(20), nullable=False),
)
