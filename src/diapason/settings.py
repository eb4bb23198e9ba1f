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

from diapason.errors import DiapasonError

CONFIG_FILE = "diapason.toml"
DEFAULT_DATABASE_FILE = "diapason.sqlite3"


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


@dataclass(frozen=True)
class Settings:
    """Everything a node needs to run. Documented one by one in ``docs/settings.md``."""

    data_dir: Path
    database_url: Secret
    node_name: str = "diapason"
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
    "node_name": ("DIAPASON_NODE_NAME", str),
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
}

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
    "signin_delay_after",
    "signin_lock_after",
    "signin_address_delay_after",
    "signin_address_lock_after",
    "signin_delay_seconds",
    "signin_max_delay_seconds",
    "signin_lock_seconds",
    "signin_forget_seconds",
}
# The largest page a Diapason TAXII server gives (exchange.taxii_params.MAX_LIMIT).
MAX_SYNC_PAGE_SIZE = 10_000
_NODE_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}\Z")
_LOG_LEVELS = {"critical", "error", "warning", "info", "debug"}


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
        return Path(raw).expanduser()
    if kind is Secret:
        return Secret(raw)
    if name == "node_name" and not _NODE_NAME_RE.match(raw):
        raise SettingsError(
            f"{name} ({origin}): 1-63 lower-case letters, digits, '.', '-' or '_', got {raw!r}"
        )
    if name == "trusted_proxies":
        return _proxies(raw, origin)
    if name == "log_level" and raw.lower() not in _LOG_LEVELS:
        raise SettingsError(f"{name} ({origin}): one of {sorted(_LOG_LEVELS)}, got {raw!r}")
    return raw.lower() if name == "log_level" else raw


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
    if "database_url" not in values:
        database_file = (folder / DEFAULT_DATABASE_FILE).resolve()
        values["database_url"] = Secret(f"sqlite:///{database_file}")
    return Settings(data_dir=folder, **values)
