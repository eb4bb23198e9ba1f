"""The audit trail: who did what, when and why; append-only and verifiable end to end."""

from diapason.audit.log import (
    ACTIONS,
    GENESIS_HASH,
    AuditEntry,
    AuditError,
    AuditLog,
    Verification,
    entry_hash,
)

__all__ = [
    "ACTIONS",
    "GENESIS_HASH",
    "AuditEntry",
    "AuditError",
    "AuditLog",
    "Verification",
    "entry_hash",
]
