"""Typed node settings, from ``DIAPASON_*`` environment variables and ``diapason.toml``.

Precedence, highest first: explicit overrides (command-line options), environment
variables, the TOML file in the data folder, defaults. Nothing is read at import time:
``load_settings`` is the only factory.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from diapason.errors import DiapasonError

CONFIG_FILE = "diapason.toml"
DEFAULT_DATABASE_FILE = "diapason.sqlite3"
# Where ``init`` keeps the password of a database URL that had one (the config file keeps
# the URL without it): in the data folder, readable by its owner only.
DATABASE_PASSWORD_FILE = "database.password"  # noqa: S105 (a file name)


class SettingsError(DiapasonError, ValueError):
    """A setting has a value the node cannot use; the message names the setting."""


class Secret:
    """A string that never shows itself in ``repr``, ``str``, logs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    def __str__(self) -> str:
        return "**********"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


def mask_url_password(url: str) -> str:
    """Hide the password of a database URL so the URL can be shown or logged."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user, colon, _password = credentials.partition(":")
    return f"{scheme}://{user}{':***' if colon else ''}@{host}"


def split_url_password(url: str) -> tuple[str, str | None]:
    """A database URL without its password, and the password (None when it has none)."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest.split("/", 1)[0]:
        return url, None
    credentials, _, host = rest.rpartition("@")
    user, colon, password = credentials.partition(":")
    return f"{scheme}://{user}@{host}", unquote(password) if colon else None


def with_url_password(url: str, password: str) -> str:
    """``url`` (which has no password) with ``password`` in it, quoted as URLs need."""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not sep or not at or ":" in credentials:
        raise SettingsError(
            f"database_url {mask_url_password(url)!r}: a password file needs a URL "
            "with a user name and no password (postgresql+psycopg://USER@HOST/DB)"
        )
    return f"{scheme}://{credentials}:{quote(password, safe='')}@{host}"


def database_identity(url: str) -> tuple[str, ...]:
    """What names a database in a URL, password and driver aside: two URLs with the same
    identity open the same database."""
    parsed = urlsplit(split_url_password(url)[0])
    dialect = parsed.scheme.split("+", 1)[0]
    if dialect == "sqlite":
        path = url.partition(":///")[2].split("?", 1)[0]
        return (dialect, str(Path(path).expanduser().resolve()) if path else "")
    try:
        port = parsed.port or 5432
    except ValueError:
        port = 0
    user = unquote(parsed.username or "")
    return (dialect, user, parsed.hostname or "", str(port), parsed.path.lstrip("/"))


@dataclass(frozen=True)
class Settings:
    """Everything a node needs to run. Documented one by one in ``docs/settings.md``."""

    data_dir: Path
    database_url: Secret
    # A file holding the password of database_url (relative: in the data folder), for a
    # URL written without one; diapason init writes it when given a URL with a password.
    database_password_file: str = ""
    node_name: str = "diapason"
    # The IANA time zone the web pages show times in (stored times are UTC).
    time_zone: str = "UTC"
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    log_level: str = "info"
    # Largest accepted STIX object, in bytes of its JSON serialisation.
    max_object_bytes: int = 1_048_576
    # Largest accepted request body or file in one import, in bytes.
    max_request_bytes: int = 104_857_600
    # Objects written per transaction during imports (a batch also ends at 64 MiB of JSON).
    batch_size: int = 50_000
    # Seconds between two rounds of the background loop of `serve` (release to partners,
    # pull from them); 0 turns the loop off.
    sync_interval: int = 1
    # Seconds to wait for a partner to connect or to send the next bytes of an answer.
    sync_timeout: int = 30
    # Objects asked for in each page of a pull from a partner (at most 10,000, the TAXII
    # server's largest page).
    sync_page_size: int = 10_000
    # Pages one pull from a partner may take in a round before it is stopped as endless.
    sync_max_pages: int = 1_000
    # Seconds one partner's pull may take in a round; what it stored is kept, and the
    # listing goes on at the next round.
    sync_round_budget: int = 120
    # Largest answer read from a partner, in bytes, refused while it is read. 0: enough for
    # a full page of Diapason's TAXII server (it ends a page at 64 MiB of objects) plus two
    # objects at the size limit.
    sync_max_answer_bytes: int = 0
    # What ingest proposes for a person found in an article, until an analyst confirms it:
    # the category of data subject and the review-by date, so many days after ingest.
    osint_person_category: str = "other"
    osint_review_days: int = 365
    # Sign-in throttling (accounts.SignInThrottle): failed password sign-ins of one account
    # name before each further attempt waits, and before the account is locked; the same for
    # one client address; the first wait in seconds (doubled at each further failure, up to
    # the longest), how long a lock lasts, and after how long without a failure they are
    # forgotten.
    signin_delay_after: int = 3
    signin_lock_after: int = 10
    signin_address_delay_after: int = 10
    signin_address_lock_after: int = 50
    signin_delay_seconds: int = 1
    signin_max_delay_seconds: int = 60
    signin_lock_seconds: int = 1800
    signin_forget_seconds: int = 86400
    # Reverse proxies whose X-Forwarded-For (and -Proto) `serve` believes: addresses and
    # networks, separated by commas; empty: none.
    trusted_proxies: str = "127.0.0.1,::1"
    secret_key: Secret = field(default_factory=lambda: Secret(""))
    # TLS (docs/security.md): `serve` answers over https with this certificate (PEM, with
    # its chain) and key; with client_ca it asks clients for a certificate signed by that
    # CA, required of every connection or, with client_auth "optional", of the accounts
    # bound to one.
    tls_cert: Path | None = None
    tls_key: Path | None = None
    client_ca: Path | None = None
    client_auth: str = "required"
    # The certificate and key this node presents when a partner asks for one (default:
    # tls_cert and tls_key).
    sync_cert: Path | None = None
    sync_key: Path | None = None
    # The key of the audit trail's HMAC chain. Unset: the file ``audit.key`` in the data
    # folder, written by ``diapason init`` (diapason.audit.key).
    audit_key: Secret = field(default_factory=lambda: Secret(""))

    @property
    def database_dialect(self) -> str:
        return self.database_url.reveal().split(":", 1)[0].split("+", 1)[0]

    def describe(self) -> dict[str, str]:
        """The settings as strings, safe to print: secrets and passwords masked."""
        shown: dict[str, str] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "database_url":
                shown[f.name] = mask_url_password(value.reveal())
            else:
                shown[f.name] = str(value)
        return shown


# name -> (environment variable, type). Kept as a table so docs and tests can check it.
SETTINGS_TABLE: dict[str, tuple[str, type]] = {
    "data_dir": ("DIAPASON_DATA", Path),
    "database_url": ("DIAPASON_DATABASE_URL", Secret),
    "database_password_file": ("DIAPASON_DATABASE_PASSWORD_FILE", str),
    "node_name": ("DIAPASON_NODE_NAME", str),
    "time_zone": ("DIAPASON_TIME_ZONE", str),
    "host": ("DIAPASON_HOST", str),
    "port": ("DIAPASON_PORT", int),
    "workers": ("DIAPASON_WORKERS", int),
    "log_level": ("DIAPASON_LOG_LEVEL", str),
    "max_object_bytes": ("DIAPASON_MAX_OBJECT_BYTES", int),
    "max_request_bytes": ("DIAPASON_MAX_REQUEST_BYTES", int),
    "batch_size": ("DIAPASON_BATCH_SIZE", int),
    "sync_interval": ("DIAPASON_SYNC_INTERVAL", int),
    "sync_timeout": ("DIAPASON_SYNC_TIMEOUT", int),
    "sync_page_size": ("DIAPASON_SYNC_PAGE_SIZE", int),
    "sync_max_pages": ("DIAPASON_SYNC_MAX_PAGES", int),
    "sync_round_budget": ("DIAPASON_SYNC_ROUND_BUDGET", int),
    "sync_max_answer_bytes": ("DIAPASON_SYNC_MAX_ANSWER_BYTES", int),
    "osint_person_category": ("DIAPASON_OSINT_PERSON_CATEGORY", str),
    "osint_review_days": ("DIAPASON_OSINT_REVIEW_DAYS", int),
    "signin_delay_after": ("DIAPASON_SIGNIN_DELAY_AFTER", int),
    "signin_lock_after": ("DIAPASON_SIGNIN_LOCK_AFTER", int),
    "signin_address_delay_after": ("DIAPASON_SIGNIN_ADDRESS_DELAY_AFTER", int),
    "signin_address_lock_after": ("DIAPASON_SIGNIN_ADDRESS_LOCK_AFTER", int),
    "signin_delay_seconds": ("DIAPASON_SIGNIN_DELAY_SECONDS", int),
    "signin_max_delay_seconds": ("DIAPASON_SIGNIN_MAX_DELAY_SECONDS", int),
    "signin_lock_seconds": ("DIAPASON_SIGNIN_LOCK_SECONDS", int),
    "signin_forget_seconds": ("DIAPASON_SIGNIN_FORGET_SECONDS", int),
    "trusted_proxies": ("DIAPASON_TRUSTED_PROXIES", str),
    "secret_key": ("DIAPASON_SECRET_KEY", Secret),
    "tls_cert": ("DIAPASON_TLS_CERT", Path),
    "tls_key": ("DIAPASON_TLS_KEY", Path),
    "client_ca": ("DIAPASON_CLIENT_CA", Path),
    "client_auth": ("DIAPASON_CLIENT_AUTH", str),
    "sync_cert": ("DIAPASON_SYNC_CERT", Path),
    "sync_key": ("DIAPASON_SYNC_KEY", Path),
    "audit_key": ("DIAPASON_AUDIT_KEY", Secret),
}
# Settings that name files: given together or not at all.
_PAIRS = (("tls_cert", "tls_key"), ("sync_cert", "sync_key"))

_POSITIVE = {
    "port",
    "workers",
    "max_object_bytes",
    "max_request_bytes",
    "batch_size",
    "sync_timeout",
    "sync_page_size",
    "sync_max_pages",
    "sync_round_budget",
    "osint_review_days",
    "signin_delay_after",
    "signin_lock_after",
    "signin_address_delay_after",
    "signin_address_lock_after",
    "signin_delay_seconds",
    "signin_max_delay_seconds",
    "signin_lock_seconds",
    "signin_forget_seconds",
}
# The largest page a Diapason TAXII server gives (exchange.taxii.params.MAX_LIMIT).
MAX_SYNC_PAGE_SIZE = 10_000
_NODE_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}\Z")
_LOG_LEVELS = {"critical", "error", "warning", "info", "debug"}
# The categories of data subject (domain.protection.SubjectCategory, a layer this module
# does not import; a test keeps the two equal).
PERSON_CATEGORIES = ("suspect", "convicted", "victim", "witness", "contact", "other")

CLIENT_AUTH = ("required", "optional")
# The shortest audit key accepted (``diapason init`` writes 64 hexadecimal digits).
MIN_AUDIT_KEY_CHARS = 32


def _convert(name: str, kind: type, raw: Any, origin: str) -> Any:
    if kind is int:
        if isinstance(raw, bool):
            raise SettingsError(f"{name} ({origin}): expected a whole number, got {raw!r}")
        try:
            value = int(raw)
        except (TypeError, ValueError):
            raise SettingsError(
                f"{name} ({origin}): expected a whole number, got {raw!r}"
            ) from None
        if name in ("sync_interval", "sync_max_answer_bytes") and value < 0:
            raise SettingsError(f"{name} ({origin}): must be 0 or more, got {value}")
        if name in _POSITIVE and value <= 0:
            raise SettingsError(f"{name} ({origin}): must be positive, got {value}")
        if name == "sync_page_size" and value > MAX_SYNC_PAGE_SIZE:
            raise SettingsError(
                f"{name} ({origin}): must be at most {MAX_SYNC_PAGE_SIZE}, got {value}"
            )
        if name == "port" and value > 65535:
            raise SettingsError(f"{name} ({origin}): must be at most 65535, got {value}")
        return value
    if not isinstance(raw, str):
        raise SettingsError(f"{name} ({origin}): expected text, got {type(raw).__name__}")
    if kind is Path:
        if not raw.strip():
            raise SettingsError(f"{name} ({origin}): expected a file or folder, got nothing")
        return Path(raw).expanduser()
    if kind is Secret:
        if name == "audit_key" and raw and not valid_audit_key(raw):
            # Never the value itself: it is a secret.
            raise SettingsError(
                f"{name} ({origin}): at least {MIN_AUDIT_KEY_CHARS} printable ASCII "
                "characters, without spaces"
            )
        return Secret(raw)
    if name == "node_name" and not _NODE_NAME_RE.match(raw):
        raise SettingsError(
            f"{name} ({origin}): 1-63 lower-case letters, digits, '.', '-' or '_', got {raw!r}"
        )
    if name == "time_zone" and not _known_zone(raw):
        raise SettingsError(
            f"{name} ({origin}): an IANA time zone such as UTC or Europe/Paris, got {raw!r}"
        )
    if name == "client_auth" and raw not in CLIENT_AUTH:
        raise SettingsError(f"{name} ({origin}): one of {', '.join(CLIENT_AUTH)}, got {raw!r}")
    if name == "trusted_proxies":
        return _proxies(raw, origin)
    if name == "log_level" and raw.lower() not in _LOG_LEVELS:
        raise SettingsError(f"{name} ({origin}): one of {sorted(_LOG_LEVELS)}, got {raw!r}")
    if name == "osint_person_category" and raw.strip().lower() not in PERSON_CATEGORIES:
        raise SettingsError(
            f"{name} ({origin}): one of {', '.join(PERSON_CATEGORIES)}, got {raw!r}"
        )
    if name in ("log_level", "osint_person_category"):
        return raw.strip().lower()
    return raw


def _known_zone(name: str) -> bool:
    """Whether ``name`` is a time zone of the IANA database (shipped with ``tzdata``)."""
    if not name or len(name) > 64 or name.startswith(("/", ".")) or ".." in name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def valid_audit_key(text: str) -> bool:
    """Whether ``text`` can be an audit key: long enough, printable ASCII, no spaces."""
    return (
        len(text) >= MIN_AUDIT_KEY_CHARS
        and text.isascii()
        and text.isprintable()
        and " " not in text
    )


def _proxies(raw: str, origin: str) -> str:
    """The trusted proxies, checked: IP addresses or networks separated by commas."""
    entries = [entry.strip() for entry in raw.split(",") if entry.strip()]
    for entry in entries:
        try:
            if "/" in entry:
                ipaddress.ip_network(entry)
            else:
                ipaddress.ip_address(entry)
        except ValueError:
            raise SettingsError(
                f"trusted_proxies ({origin}): {entry[:100]!r} is not an IP address or network"
            ) from None
    return ",".join(entries)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            loaded = tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"{path}: not valid TOML: {error}") from None
    except OSError as error:
        raise SettingsError(f"{path}: cannot be read: {error.strerror}") from None
    unknown = sorted(set(loaded) - set(SETTINGS_TABLE) - {"data_dir"})
    if unknown:
        raise SettingsError(f"{path}: unknown setting(s) {', '.join(unknown)}")
    return loaded


def load_settings(
    data_dir: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Build the settings of a node.

    ``data_dir`` (the ``--data`` option) wins over ``DIAPASON_DATA``; the default data
    folder is ``./diapason-data``. ``overrides`` are already typed values from the CLI.
    """
    env = os.environ if environ is None else environ
    if data_dir is None:
        data_dir = env.get("DIAPASON_DATA") or "diapason-data"
    folder = Path(data_dir).expanduser()
    values: dict[str, Any] = {}
    config_path = folder / CONFIG_FILE
    try:
        has_config = config_path.is_file()
    except OSError as error:
        raise SettingsError(f"data folder {folder} cannot be read: {error.strerror}") from None
    if has_config:
        for name, raw in _read_toml(config_path).items():
            values[name] = _convert(name, SETTINGS_TABLE[name][1], raw, str(config_path))
    recorded: Secret | None = values.get("database_url")
    for name, (variable, kind) in SETTINGS_TABLE.items():
        if name == "data_dir":
            continue
        if variable in env and env[variable] != "":
            values[name] = _convert(name, kind, env[variable], variable)
    for name, value in overrides.items():
        if name not in SETTINGS_TABLE:
            raise SettingsError(f"unknown setting {name}")
        if value is not None:
            kind = SETTINGS_TABLE[name][1]
            values[name] = (
                value if isinstance(value, kind) else _convert(name, kind, value, "command line")
            )
    for first, second in _PAIRS:
        if (values.get(first) is None) != (values.get(second) is None):
            raise SettingsError(f"{first} and {second}: give both or neither")
    if values.get("client_ca") is not None and values.get("tls_cert") is None:
        raise SettingsError(
            "client_ca: needs tls_cert and tls_key (client certificates are asked for over TLS)"
        )
    if "database_url" not in values:
        values["database_url"] = Secret(default_database_url(folder))
    _check_same_database(folder, recorded, values["database_url"])
    if (
        values.get("database_password_file")
        and split_url_password(values["database_url"].reveal())[1] is None
    ):
        values["database_url"] = Secret(
            with_url_password(
                values["database_url"].reveal(),
                _read_password(folder, values["database_password_file"]),
            )
        )
    return Settings(data_dir=folder, **values)


def default_database_url(folder: Path) -> str:
    """The SQLite file in the data folder: a node's database when none is named."""
    return f"sqlite:///{(folder / DEFAULT_DATABASE_FILE).resolve()}"


def _check_same_database(folder: Path, recorded: Secret | None, chosen: Secret) -> None:
    """Refuse to open another database than the one the data folder belongs to: the one
    its config file records, or else its own SQLite file when that exists."""
    url = chosen.reveal()
    if recorded is not None:
        if database_identity(recorded.reveal()) != database_identity(url):
            raise SettingsError(
                f"data folder {folder} belongs to the database "
                f"{mask_url_password(recorded.reveal())} (database_url in "
                f"{folder / CONFIG_FILE}), not {mask_url_password(url)}: unset "
                "DIAPASON_DATABASE_URL, or use the data folder of that database"
            )
        return
    own = default_database_url(folder)
    if (folder / DEFAULT_DATABASE_FILE).exists() and database_identity(own) != database_identity(
        url
    ):
        raise SettingsError(
            f"data folder {folder} holds its own SQLite database ({DEFAULT_DATABASE_FILE}), "
            f"not {mask_url_password(url)}: unset DIAPASON_DATABASE_URL, or use another "
            "data folder"
        )


def _read_password(folder: Path, name: str) -> str:
    path = folder / Path(name).expanduser()
    try:
        return path.read_text(encoding="utf-8").strip("\r\n")
    except OSError as error:
        raise SettingsError(
            f"database_password_file {path} cannot be read: {error.strerror}"
        ) from None
