"""The audit trail: who did what, when and why; append-only, keyed and verifiable end to
end, its heads witnessed by partners."""

from diapason.audit.key import (
    AUDIT_KEY_FILE,
    AuditKey,
    AuditKeyError,
    create_audit_key,
    key_file,
    load_audit_key,
    remove_new_key,
)
from diapason.audit.log import (
    ACTIONS,
    GENESIS_HASH,
    KEY_ACTION,
    AuditEntry,
    AuditError,
    AuditLog,
    Head,
    Verification,
    WitnessCheck,
    WitnessedHead,
    entry_hash,
)

__all__ = [
    "ACTIONS",
    "AUDIT_KEY_FILE",
    "GENESIS_HASH",
    "KEY_ACTION",
    "AuditEntry",
    "AuditError",
    "AuditKey",
    "AuditKeyError",
    "AuditLog",
    "Head",
    "Verification",
    "WitnessCheck",
    "WitnessedHead",
    "create_audit_key",
    "entry_hash",
    "key_file",
    "load_audit_key",
    "remove_new_key",
]
