"""Roles and what each may do: least privilege, decided in one table.

Seven roles cover a security-cooperation node:

- ``viewer`` reads objects that hold no personal data and the joint mechanism's records
  (groups, meetings, actions, requests, figures, opinions); nothing else.
- ``auditor`` reads and verifies the audit trail; it reads no object and changes nothing,
  so the person checking the trail is not the one writing what it records.
- ``liaison`` (liaison officer) reads objects, exports them, manages the partners this
  node exchanges with, and keeps the joint mechanism's records (``coordination:write``).
- ``analyst`` reads and writes objects, imports and exports, reads personal data (each
  such consultation needs a reason, which the audit log enforces), and keeps the joint
  mechanism's records.
- ``admin`` may do everything.
- ``monitor`` is what a monitoring system (Prometheus) scrapes ``/metrics`` with: it reads
  the node's operational figures (``metrics:read``) and nothing else, no object, no
  audit entry, no partner's settings.
- ``partner`` is the account a partner node uses: it reads and writes over TAXII, and only
  in the collections it is granted; it has no other access.

TAXII access needs both the role's ``taxii:read`` / ``taxii:write`` and a grant on the
collection (admins need no grant).

Everything here is pure: callers (the web layer, the CLI) ask ``has_permission`` and
decide what to do with the answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

ROLES: tuple[str, ...] = (
    "admin",
    "analyst",
    "liaison",
    "auditor",
    "viewer",
    "monitor",
    "partner",
)

PERMISSIONS: frozenset[str] = frozenset(
    {
        "objects:read",
        "objects:write",
        "objects:delete",
        "personal_data:read",
        "audit:read",
        "audit:verify",
        "users:manage",
        "tokens:manage_own",
        "tokens:manage_all",
        "partners:manage",
        "collections:manage",
        "export",
        "import",
        "taxii:read",
        "taxii:write",
        "coordination:read",
        "coordination:write",
        "metrics:read",
    }
)

# Every role may hold API tokens for itself: a token is only a way to act as the user, it
# grants nothing the role does not already have.
_OWN_TOKENS = frozenset({"tokens:manage_own"})

ROLE_PERMISSIONS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "admin": PERMISSIONS,
        "analyst": _OWN_TOKENS
        | {
            "objects:read",
            "objects:write",
            "personal_data:read",
            "import",
            "export",
            "taxii:read",
            "taxii:write",
            "coordination:read",
            "coordination:write",
        },
        "liaison": _OWN_TOKENS
        | {
            "objects:read",
            "export",
            "partners:manage",
            "taxii:read",
            "coordination:read",
            "coordination:write",
        },
        "auditor": _OWN_TOKENS | {"audit:read", "audit:verify"},
        "viewer": _OWN_TOKENS | {"objects:read", "taxii:read", "coordination:read"},
        "monitor": _OWN_TOKENS | {"metrics:read"},
        "partner": frozenset({"taxii:read", "taxii:write"}),
    }
)


def check_role(role: str) -> str:
    """Return ``role`` unchanged if it is one of ``ROLES``; raise ``ValueError`` otherwise."""
    if role not in ROLE_PERMISSIONS:
        raise ValueError(f"unknown role {role!r}; roles are: {', '.join(ROLES)}")
    return role


def permissions(role: str) -> frozenset[str]:
    """All permissions of a role; ``ValueError`` for an unknown role."""
    return ROLE_PERMISSIONS[check_role(role)]


def has_permission(role: str, permission: str) -> bool:
    """Whether ``role`` grants ``permission``.

    An unknown role or an unknown permission raises ``ValueError``: a misspelt permission
    would otherwise quietly answer False and hide the bug in the caller.
    """
    granted = permissions(role)
    if permission not in PERMISSIONS:
        raise ValueError(
            f"unknown permission {permission!r}; permissions are: {', '.join(sorted(PERMISSIONS))}"
        )
    return permission in granted
