"""A node: its data folder, store, audit trail and accounts, opened together.

The CLI and the web application both go through ``Node`` so that every path that writes,
reads for a person, or discloses is audited the same way.
"""

from __future__ import annotations

import os
import secrets
import threading
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from diapason.accounts import Accounts, IssuedToken, SignInThrottle, ThrottlePolicy, User
from diapason.audit import (
    AuditKeyError,
    AuditLog,
    create_audit_key,
    key_file,
    load_audit_key,
    remove_new_key,
)
from diapason.authentication import Authenticator
from diapason.coordinate.records import Holdings
from diapason.coordinate.service import Coordination
from diapason.domain.extensions import TLP_2_0_IDS, shipped_objects
from diapason.domain.grading import grade
from diapason.domain.protection import Protection, SubjectCategory, propose_protection
from diapason.domain.stix import new_organisation
from diapason.exchange.collections import Collections
from diapason.exchange.inbound import Inbound
from diapason.exchange.ledger import Ledger
from diapason.exchange.partners import Partners
from diapason.exchange.receipts import Deliveries, OutgoingReceipts
from diapason.exchange.sync import Local, SyncAgent
from diapason.exchange.witness import Witnesses
from diapason.persons import Persons
from diapason.settings import (
    CONFIG_FILE,
    DATABASE_PASSWORD_FILE,
    DEFAULT_DATABASE_FILE,
    Secret,
    Settings,
    SettingsError,
    database_identity,
    default_database_url,
    split_url_password,
)
from diapason.store import (
    Database,
    NodeMeta,
    ObjectStore,
    ReadModel,
    open_database,
    store_on,
)
from diapason.tls import Identity

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
    """The config file as ``write_config`` leaves it, and the database recorded in it
    (``record_database``) when the file names none yet."""
    settings = write_config(settings)
    if "database_url" not in _config_keys(settings.data_dir):
        record_database(settings.data_dir, settings.database_url.reveal())
    return settings


def _config_keys(folder: Path) -> set[str]:
    with (folder / CONFIG_FILE).open("rb") as handle:
        return set(tomllib.load(handle))


_DATABASE_KEYS = ("database_url", "database_password_file")


def record_database(folder: Path, url: str) -> None:
    """Make the data folder remember its database, so that a command run without
    ``DIAPASON_DATABASE_URL`` opens it (or one naming another database refuses).

    The config file gets the URL without its password; a password goes to
    ``database.password`` (owner-only), named by ``database_password_file``. The folder's
    own SQLite file needs no record. Replaces what the file recorded before (a restore
    into another database)."""
    path = folder / CONFIG_FILE
    kept = [
        line
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.split("=", 1)[0].strip() not in _DATABASE_KEYS and line != _DATABASE_COMMENT
    ]
    password_path = folder / DATABASE_PASSWORD_FILE
    password_path.unlink(missing_ok=True)
    if database_identity(url) != database_identity(default_database_url(folder)):
        bare, password = split_url_password(url)
        kept += [_DATABASE_COMMENT, f"database_url = {_toml_string(bare)}"]
        if password is not None:
            _write_private(password_path, password + "\n")
            kept.append(f'database_password_file = "{DATABASE_PASSWORD_FILE}"')
    _replace_private(path, "\n".join(kept) + "\n")


_DATABASE_COMMENT = "# The database of this data folder (written by diapason init and restore)."


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _replace_private(path: Path, text: str) -> None:
    """Write ``path`` anew (owner-only) through a temporary file: never half written."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.unlink(missing_ok=True)
    _write_private(temporary, text)
    os.replace(temporary, path)


def write_config(settings: Settings) -> Settings:
    """Write ``diapason.toml`` on first run, with a fresh secret key readable by owner only.

    A node must have a secret key (it signs paging cursors and sessions, and every worker
    must share it): when neither the file nor the environment has one, a new key is added
    to the file. Returns the settings with the key in force.
    """
    if settings.secret_key:
        if not (settings.data_dir / CONFIG_FILE).exists():
            _write_private(settings.data_dir / CONFIG_FILE, _config_text(settings, None))
        return settings
    path = settings.data_dir / CONFIG_FILE
    if path.exists():
        # Settings read before the file got its key (a second init in one process).
        with path.open("rb") as handle:
            written = tomllib.load(handle).get("secret_key")
        if isinstance(written, str) and written:
            return replace(settings, secret_key=Secret(written))
    key = secrets.token_urlsafe(32)
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


def client_identity(settings: Settings) -> Identity | None:
    """The certificate and key this node presents to partners that ask for one: sync_cert
    and sync_key, else tls_cert and tls_key, else none."""
    cert, key = settings.sync_cert or settings.tls_cert, settings.sync_key or settings.tls_key
    return Identity(cert, key) if cert is not None and key is not None else None


def refuse_missing_database(settings: Settings) -> None:
    """Refuse a node whose data folder was initialised (it has a config file) but whose
    database would be a new, empty SQLite file: a folder of a PostgreSQL node whose
    config file records no database (one made before it did), opened without
    ``DIAPASON_DATABASE_URL``."""
    folder = settings.data_dir
    own = database_identity(default_database_url(folder))
    if (
        database_identity(settings.database_url.reveal()) == own
        and (folder / CONFIG_FILE).exists()
        and not (folder / DEFAULT_DATABASE_FILE).exists()
    ):
        raise SettingsError(
            f"data folder {folder} has no database: its config file records none and it "
            f"has no {DEFAULT_DATABASE_FILE}. If its database is PostgreSQL, set "
            "DIAPASON_DATABASE_URL (diapason init then records it in the data folder)"
        )


@dataclass(frozen=True)
class Initialised:
    admin: User
    token: IssuedToken


@dataclass
class Node:
    """A node's services over one database.

    ``database`` is handed to the state layer (accounts, audit, collections, partners,
    ledger, receipts) when the node opens; everything above reads through ``store`` (the
    objects), ``read`` (the pages' queries) and ``facts`` (node_meta), never the engine.
    """

    settings: Settings
    database: Database
    store: ObjectStore
    read: ReadModel
    facts: NodeMeta
    audit: AuditLog
    accounts: Accounts
    collections: Collections
    authenticator: Authenticator
    partners: Partners
    ledger: Ledger
    deliveries: Deliveries
    outgoing_receipts: OutgoingReceipts
    witnesses: Witnesses

    @classmethod
    def open(cls, settings: Settings) -> Node:
        """Open an existing or new node: the schema is migrated to the newest revision."""
        if settings.database_dialect == "sqlite":
            prepare_data_folder(settings.data_dir)
        database = open_database(settings.database_url.reveal())
        store = store_on(
            database,
            max_object_bytes=settings.max_object_bytes,
            batch_size=settings.batch_size,
        )
        engine = database.engine
        accounts = Accounts(engine)
        try:
            audit = AuditLog(engine, load_audit_key(settings))
            audit.require_key(key_file(settings.data_dir))
        except Exception:
            database.close()
            raise
        collections = Collections(engine)
        partners = Partners(engine, accounts, collections)
        node = cls(
            settings,
            database,
            store,
            ReadModel(database),
            NodeMeta(database),
            audit,
            accounts,
            collections,
            Authenticator(
                accounts,
                audit,
                SignInThrottle(engine, ThrottlePolicy.from_settings(settings)),
            ),
            partners,
            Ledger(engine, partners, collections, audit, lambda: frozenset()),
            Deliveries(engine),
            OutgoingReceipts(engine),
            Witnesses(engine),
        )
        node.ledger.own_identities = node.own_identities
        return node

    # -- this node's own facts ----------------------------------------------------------
    @property
    def identity_id(self) -> str | None:
        """The STIX identity of this node's organisation (author of what it creates)."""
        return self.facts.get("identity_id")

    def own_identities(self) -> frozenset[str]:
        found = self.identity_id
        return frozenset({found}) if found else frozenset()

    def ensure_identity(self, actor: str) -> str:
        """This node's organisation identity: created once, stored like any object."""
        found = self.identity_id
        if found is not None:
            return found
        identity = new_organisation(self.settings.node_name, [TLP_2_0_IDS["clear"]])
        identity_id: str = identity["id"]
        # Graded A1: a node is the best source on its own name.
        report = self.store.put_many([grade(identity, "admiralty", "A", "1")], source="local")
        if report.refused:
            raise SettingsError(f"the node identity was refused: {report.refused[0]}")
        self.facts.set("identity_id", identity_id)
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
        ``sync_max_answer_bytes``, the certificate it presents): what ``diapason sync`` and
        the loop of ``serve`` use."""
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
            identity=client_identity(settings),
        )

    def ingestor(self, actor: str) -> Ingestor:
        """The OSINT pipeline writing into this node as ``actor``."""
        # Imported here: the pipeline brings numpy and spaCy, a second of start-up that
        # the commands not ingesting anything should not pay.
        from diapason.osint.ingest import Ingestor
        from diapason.osint.view import ArticleViews

        return Ingestor(
            self.store,
            self.audit,
            self.settings.data_dir,
            lambda: self.identity_id,
            actor,
            propose=self.propose_protection,
            views=ArticleViews(self.facts),
        )

    def propose_protection(self, obj: dict[str, Any]) -> dict[str, Any]:
        """``obj`` with the data-protection metadata this node's settings propose for a
        person found in open sources (``osint_person_category``, ``osint_review_days``)."""
        return propose_protection(
            obj,
            self.settings.osint_person_category,
            self.settings.osint_review_days,
            datetime.now(UTC).date(),
        )

    def proposed_metadata(self, today: date | None = None) -> Protection:
        """What the settings propose for a person record that carries no proposal."""
        day = today or datetime.now(UTC).date()
        return Protection(
            SubjectCategory(self.settings.osint_person_category),
            day + timedelta(days=self.settings.osint_review_days),
        )

    def persons(self, actor: str) -> Persons:
        """Records about persons, protected as ``actor`` (``diapason protect``, the pages)."""
        return Persons(self.store, self.audit, self.own_identities, actor)

    def coordination(
        self, *, actor: str, editor: str, clock: Callable[[], datetime] | None = None
    ) -> Coordination:
        """The joint mechanism as one user (``editor``, audited as ``actor``) sees it."""
        holdings = Holdings(
            self.settings.node_name,
            lambda: self.identity_id,
            self.store,
            self.read,
            self.audit,
            self.partners,
            self.ledger,
        )
        return Coordination(holdings, actor=actor, editor=editor, clock=clock)

    def inbound(self) -> Inbound:
        """What the TAXII server's POSTs go through."""
        return Inbound(
            self.store,
            self.partners,
            self.deliveries,
            self.audit,
            self.own_identities,
            self.witnesses,
        )

    def close(self) -> None:
        self.store.close()


def init_node(settings: Settings, actor: str) -> tuple[Node, Initialised | None]:
    """Prepare the data folder and config file, open the node, create the first admin."""
    prepare_data_folder(settings.data_dir)
    settings = write_default_config(settings)
    # The audit key (a new node's, or one upgraded from a version without it): the file is
    # made here and the trail sealed under it at once; a trail keyed already must be under
    # the key found (a key file made anew for it is removed again).
    created = create_audit_key(settings)
    node: Node | None = None
    try:
        node = Node.open(settings)
        node.audit.introduce_key(actor)
    except Exception as error:
        if node is not None:
            node.close()
        if created is None:
            raise
        remove_new_key(settings)
        if isinstance(error, AuditKeyError):
            raise AuditKeyError(
                f"the audit trail is keyed and its key file {key_file(settings.data_dir)} is "
                "missing: restore it from your backups (diapason makes no new key for a "
                "keyed trail)"
            ) from None
        raise
    node.collections.ensure_default(settings.node_name)
    # Diapason's extension-definitions and markings: every node holds the same ones, so
    # objects that use them validate and their markings can be read everywhere.
    node.store.put_many(shipped_objects(), source="diapason")
    node.ensure_identity(actor)
    return node, node.initialise(actor)
