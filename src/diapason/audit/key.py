"""The audit key: what turns the audit trail's hash chain into a keyed (HMAC-SHA256) chain.

Where the key comes from, first found: the setting ``audit_key`` (``DIAPASON_AUDIT_KEY``),
else the file ``audit.key`` in the data folder, which ``diapason init`` writes (64
hexadecimal digits, mode 0600). It is kept out of the database on purpose: someone who can
write the database but not read the key cannot recompute the chain after changing an entry.

The key is never printed or logged: it travels in a ``Secret``, and what identifies it in
the trail and in messages is its *key id*, an HMAC of a fixed label (which tells nothing of
the key). A key file the node cannot trust (readable or writable by others, owned by
another user, not a regular file, not a key) stops every command with one line saying
what to do; docs/security.md says why.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from diapason.settings import Secret, Settings, SettingsError, valid_audit_key

AUDIT_KEY_FILE = "audit.key"
_KEY_ID_LABEL = b"diapason audit key id"


class AuditKeyError(SettingsError):
    """The audit key is missing, unreadable, exposed or not the trail's; the message says
    what to do (and never shows the key)."""


@dataclass(frozen=True)
class AuditKey:
    """The key of the chain and where it came from (``origin``, for messages)."""

    secret: Secret
    origin: str

    def digest(self, message: bytes) -> str:
        """HMAC-SHA256 (hex) of ``message`` under this key."""
        return hmac.new(self.secret.reveal().encode(), message, hashlib.sha256).hexdigest()

    @property
    def key_id(self) -> str:
        """A name for this key that reveals nothing of it (16 hexadecimal digits)."""
        return self.digest(_KEY_ID_LABEL)[:16]


def key_file(data_dir: Path) -> Path:
    """Where the node's audit key file is (whether or not it exists)."""
    return data_dir / AUDIT_KEY_FILE


def load_audit_key(settings: Settings) -> AuditKey | None:
    """The node's audit key: the setting, else the key file; None when neither exists.

    ``AuditKeyError`` when the file exists but cannot be trusted or read."""
    if settings.audit_key:
        return AuditKey(settings.audit_key, "the setting audit_key (DIAPASON_AUDIT_KEY)")
    path = key_file(settings.data_dir)
    try:
        found = path.stat()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise AuditKeyError(f"audit key file {path} cannot be read: {error.strerror}") from None
    _check_rights(path, found)
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as error:
        why = error.strerror if isinstance(error, OSError) else "not ASCII text"
        raise AuditKeyError(f"audit key file {path} cannot be read: {why}") from None
    if not valid_audit_key(text):
        raise AuditKeyError(
            f"audit key file {path} does not hold an audit key (at least 32 printable "
            "ASCII characters without spaces); restore it from your backups"
        )
    return AuditKey(Secret(text), f"the key file {path}")


def _check_rights(path: Path, found: os.stat_result) -> None:
    """Refuse a key file that is not a regular file, or that someone other than the user
    running diapason may read or change."""
    if not stat.S_ISREG(found.st_mode):
        raise AuditKeyError(f"audit key file {path} is not a regular file")
    if os.name != "posix":
        return
    if found.st_uid != os.geteuid():
        raise AuditKeyError(
            f"audit key file {path} belongs to user id {found.st_uid}, not to the user "
            f"running diapason (user id {os.geteuid()}): give it to that user "
            f"(chown) and keep its mode 600"
        )
    if found.st_mode & 0o077:
        raise AuditKeyError(
            f"audit key file {path} has mode {stat.S_IMODE(found.st_mode):03o}: others may "
            f"read or change it. Only its owner may: chmod 600 {path}. If others could read "
            "it, treat the key as known to them (docs/security.md)"
        )


def create_audit_key(settings: Settings) -> AuditKey | None:
    """Write a new key file (mode 0600) when the node has no key at all; returns the new
    key, or None when a key was configured or a file exists already (never replaced)."""
    if settings.audit_key or key_file(settings.data_dir).exists():
        return None
    path = key_file(settings.data_dir)
    text = secrets.token_hex(32)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return None  # another process made it meanwhile: that one is the key
    except OSError as error:
        raise AuditKeyError(f"audit key file {path} cannot be written: {error.strerror}") from None
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(text + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return AuditKey(Secret(text), f"the key file {path}")


def remove_new_key(settings: Settings) -> None:
    """Remove the key file ``create_audit_key`` has just written (the trail refused it)."""
    key_file(settings.data_dir).unlink(missing_ok=True)
