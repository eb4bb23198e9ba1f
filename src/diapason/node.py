"""A node: its data folder, store, audit trail and accounts, opened together.

The CLI and the web application both go through ``Node`` so that every path that writes,
reads for a person, or discloses is audited the same way.
"""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import orjson
import sqlalchemy as sa

from diapason.accounts import Accounts, IssuedToken, SignInThrottle, ThrottlePolicy, User
from diapason.audit import AuditLog
from diapason.authentication import Authenticator
from diapason.coordinate.records import Holdings
from diapason.coordinate.service import Coordination
from diapason.domain.extensions import PROTECTION_EXTENSION_ID, TLP_2_0_IDS, shipped_objects
from diapason.domain.grading import grade
from diapason.domain.protection import ProtectionError, protection_of, review_overdue
from diapason.domain.stix import new_id, now_timestamp
from diapason.exchange.collections import Collections
from diapason.exchange.inbound import Inbound
from diapason.exchange.ledger import Ledger
from diapason.exchange.partners import Partners
from diapason.exchange.receipts import Deliveries, OutgoingReceipts
from diapason.exchange.sync import Local, SyncAgent
from diapason.settings import CONFIG_FILE, Secret, Settings, SettingsError
from diapason.store.db import write_transaction
from diapason.store.schema import node_meta
from diapason.store.schema import objects as objects_table
from diapason.store.sql import SqlStore, open_store

if TYPE_CHECKING:
    from diapason.osint.ingest import Ingestor


class DataFolderError(SettingsError):
    """The data folder cannot be created or written."""


def prepare_data_folder(folder: Path) -> None:
    """Create the data folder if needed and prove it is writable, with a precise error."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise DataFolderError(f"data folder {folder} exists and is not a folder") from None
    except NotADirectoryError:
        raise DataFolderError(f"data folder {folder}: a parent is not a folder") from None
    except OSError as error:
        raise DataFolderError(f"data folder {folder} cannot be created: {error.strerror}") from None
    probe = folder / f".write-test-{os.getpid()}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise DataFolderError(f"data folder {folder} is not writable: {error.strerror}") from None


def write_default_config(settings: Settings) -> Settings:
    """Write ``diapason.toml`` on first run, with a fresh secret key readable by owner only.

    A node must have a secret key (it signs paging cursors and sessions, and every worker
    must share it): when neither the file nor the environment has one, a new key is added
    to the file. Returns the settings with the key in force.
    """
    if settings.secret_key:
        if not (settings.data_dir / CONFIG_FILE).exists():
            _write_private(settings.data_dir / CONFIG_FILE, _config_text(settings, None))
        return settings
    key = secrets.token_urlsafe(32)
    path = settings.data_dir / CONFIG_FILE
    if path.exists():
        with path.open("a", encoding="utf-8") as handle:
            handle.write(f'\n# Added by diapason: the file had none.\nsecret_key = "{key}"\n')
    else:
        _write_private(path, _config_text(settings, key))
    return replace(settings, secret_key=Secret(key))


def _config_text(settings: Settings, key: str | None) -> str:
    text = (
        "# Diapason node settings. Every key can also be set as DIAPASON_<KEY> in the\n"
        "# environment, which wins over this file. See docs/settings.md.\n"
        f'node_name = "{settings.node_name}"\n'
    )
    return text + (f'secret_key = "{key}"\n' if key else "")


def _write_private(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)


@dataclass(frozen=True)
class Initialised:
    admin: User
    token: IssuedToken


@dataclass
class Node:
    settings: Settings
    store: SqlStore
    audit: AuditLog
    accounts: Accounts
    collections: Collections
    authenticator: Authenticator
    partners: Partners
    ledger: Ledger
    deliveries: Deliveries
    outgoing_receipts: OutgoingReceipts

    @classmethod
    def open(cls, settings: Settings) -> Node:
        """Open an existing or new node: the schema is migrated to the newest revision."""
        if settings.database_dialect == "sqlite":
            prepare_data_folder(settings.data_dir)
        store = open_store(
            settings.database_url.reveal(),
            max_object_bytes=settings.max_object_bytes,
            batch_size=settings.batch_size,
        )
        accounts = Accounts(store.engine)
        audit = AuditLog(store.engine)
        collections = Collections(store.engine)
        partners = Partners(store.engine, accounts, collections)
        node = cls(
            settings,
            store,
            audit,
            accounts,
            collections,
            Authenticator(
                accounts,
                audit,
                SignInThrottle(store.engine, ThrottlePolicy.from_settings(settings)),
            ),
            partners,
            Ledger(store.engine, partners, collections, audit, lambda: frozenset()),
            Deliveries(store.engine),
            OutgoingReceipts(store.engine),
        )
        node.ledger.own_identities = node.own_identities
        return node

    # -- this node's own facts ----------------------------------------------------------
    def meta(self, key: str) -> str | None:
        with self.store.engine.connect() as connection:
            value = connection.execute(
                sa.select(node_meta.c.value).where(node_meta.c.key == key)
            ).scalar()
        return str(value) if value is not None else None

    def set_meta(self, key: str, value: str) -> None:
        with write_transaction(self.store.engine) as connection:
            connection.execute(node_meta.delete().where(node_meta.c.key == key))
            connection.execute(node_meta.insert().values(key=key, value=value))

    def take_lease(self, name: str, holder: str, seconds: float) -> bool:
        """Hold a named lease (one background loop among several workers); True if held."""
        now = datetime.now(UTC).timestamp()
        key = f"lease:{name}"
        with write_transaction(self.store.engine) as connection:
            if self.store.engine.dialect.name == "postgresql":
                connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7246003)")
            current = connection.execute(
                sa.select(node_meta.c.value).where(node_meta.c.key == key)
            ).scalar()
            if current is not None:
                owner, _, until = str(current).rpartition("@")
                if owner != holder and float(until) > now:
                    return False
                connection.execute(node_meta.delete().where(node_meta.c.key == key))
            connection.execute(
                node_meta.insert().values(key=key, value=f"{holder}@{now + seconds}")
            )
        return True

    def release_lease(self, name: str, holder: str) -> None:
        """Give a lease up (clean shutdown), if ``holder`` still holds it."""
        key = f"lease:{name}"
        with write_transaction(self.store.engine) as connection:
            current = connection.execute(
                sa.select(node_meta.c.value).where(node_meta.c.key == key)
            ).scalar()
            if current is not None and str(current).rpartition("@")[0] == holder:
                connection.execute(node_meta.delete().where(node_meta.c.key == key))

    def overdue_reviews(self, today: date) -> list[tuple[str, str, str]]:
        """Records about persons past their review-by date: (id, name, review-by date).

        They are withheld from release until reviewed (a new version with a new date)."""
        found: list[tuple[str, str, str]] = []
        pattern = f"%{PROTECTION_EXTENSION_ID}%"
        statement = sa.select(objects_table.c.content).where(
            objects_table.c.is_current & objects_table.c.content.like(pattern)
        )
        with self.store.engine.connect() as connection:
            for (content,) in connection.execute(statement):
                obj = orjson.loads(content)
                try:
                    protection = protection_of(obj)
                except ProtectionError:
                    continue
                if protection is not None and review_overdue(protection, today):
                    found.append(
                        (obj["id"], str(obj.get("name", "")), protection.review_by.isoformat())
                    )
        return found

    @property
    def identity_id(self) -> str | None:
        """The STIX identity of this node's organisation (author of what it creates)."""
        return self.meta("identity_id")

    def own_identities(self) -> frozenset[str]:
        found = self.identity_id
        return frozenset({found}) if found else frozenset()

    def ensure_identity(self, actor: str) -> str:
        """This node's organisation identity: created once, stored like any object."""
        found = self.identity_id
        if found is not None:
            return found
        identity_id = new_id("identity")
        now = now_timestamp()
        identity = {
            "type": "identity",
            "spec_version": "2.1",
            "id": identity_id,
            "created": now,
            "modified": now,
            "created_by_ref": identity_id,
            "name": self.settings.node_name,
            "identity_class": "organization",
            "object_marking_refs": [TLP_2_0_IDS["clear"]],
        }
        # Graded A1: a node is the best source on its own name.
        report = self.store.put_many([grade(identity, "admiralty", "A", "1")], source="local")
        if report.refused:
            raise SettingsError(f"the node identity was refused: {report.refused[0]}")
        self.set_meta("identity_id", identity_id)
        self.audit.append(actor, "create", [identity_id], details={"node_identity": True})
        return identity_id

    def initialise(self, actor: str) -> Initialised | None:
        """Create the first admin and its token, once; None when the node already has users."""
        if self.accounts.list_users():
            return None
        admin = self.accounts.add_user("admin", "admin")
        token = self.accounts.create_token("admin", "initial")
        self.audit.append(
            actor,
            "init",
            details={"node": self.settings.node_name, "admin": admin.username},
        )
        return Initialised(admin, token)

    def sync_agent(
        self,
        *,
        stopping: threading.Event | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> SyncAgent:
        """The sync agent as this node's settings configure it (``sync_timeout``,
        ``sync_page_size``, ``sync_max_pages``, ``sync_round_budget``,
        ``sync_max_answer_bytes``): what ``diapason sync`` and the loop of ``serve`` use."""
        settings = self.settings
        return SyncAgent(
            Local(settings.node_name, lambda: self.identity_id),
            self.store,
            self.partners,
            self.audit,
            self.outgoing_receipts,
            transport,
            timeout=settings.sync_timeout,
            deadline=settings.sync_timeout * 10.0,
            page_size=settings.sync_page_size,
            group_size=max(settings.sync_page_size, settings.batch_size),
            max_pages=settings.sync_max_pages,
            budget=float(settings.sync_round_budget),
            max_answer_bytes=settings.sync_max_answer_bytes or None,
            stopping=stopping,
        )

    def ingestor(self, actor: str) -> Ingestor:
        """The OSINT pipeline writing into this node as ``actor``."""
        # Imported here: the pipeline brings numpy and spaCy, a second of start-up that
        # the commands not ingesting anything should not pay.
        from diapason.osint.ingest import Ingestor

        return Ingestor(
            self.store, self.audit, self.settings.data_dir, lambda: self.identity_id, actor
        )

    def coordination(
        self, *, actor: str, editor: str, clock: Callable[[], datetime] | None = None
    ) -> Coordination:
        """The joint mechanism as one user (``editor``, audited as ``actor``) sees it."""
        holdings = Holdings(
            self.settings.node_name,
            lambda: self.identity_id,
            self.store,
            self.audit,
            self.partners,
            self.ledger,
        )
        return Coordination(holdings, actor=actor, editor=editor, clock=clock)

    def inbound(self) -> Inbound:
        """What the TAXII server's POSTs go through."""
        return Inbound(self.store, self.partners, self.deliveries, self.audit, self.own_identities)

    def close(self) -> None:
        self.store.close()


def init_node(settings: Settings, actor: str) -> tuple[Node, Initialised | None]:
    """Prepare the data folder and config file, open the node, create the first admin."""
    prepare_data_folder(settings.data_dir)
    settings = write_default_config(settings)
    node = Node.open(settings)
    node.collections.ensure_default(settings.node_name)
    # Diapason's extension-definitions and markings: every node holds the same ones, so
    # objects that use them validate and their markings can be read everywhere.
    node.store.put_many(shipped_objects(), source="diapason")
    node.ensure_identity(actor)
    return node, node.initialise(actor)
