"""Roles and permissions: least privilege, checked for every role and permission."""

from __future__ import annotations

import pytest

from diapason.domain.roles import (
    PERMISSIONS,
    ROLE_PERMISSIONS,
    ROLES,
    check_role,
    has_permission,
    permissions,
)


def test_roles_and_table_agree() -> None:
    assert ROLES == ("admin", "analyst", "liaison", "auditor", "viewer", "monitor", "partner")
    assert set(ROLE_PERMISSIONS) == set(ROLES)
    for granted in ROLE_PERMISSIONS.values():
        assert granted <= PERMISSIONS


@pytest.mark.parametrize("role", ROLES)
def test_has_permission_answers_from_the_table(role: str) -> None:
    for permission in PERMISSIONS:
        assert has_permission(role, permission) == (permission in permissions(role))
    assert check_role(role) == role


def test_admin_may_do_everything() -> None:
    assert permissions("admin") == PERMISSIONS
    for role in ROLES:
        assert permissions(role) <= permissions("admin")


def test_viewer_reads_non_personal_objects_only() -> None:
    assert permissions("viewer") == {
        "objects:read",
        "taxii:read",
        "tokens:manage_own",
        "coordination:read",
    }
    assert not has_permission("viewer", "personal_data:read")
    assert not has_permission("viewer", "export")


def test_monitor_reads_the_figures_and_nothing_else() -> None:
    assert permissions("monitor") == {"metrics:read", "tokens:manage_own"}
    assert has_permission("admin", "metrics:read")
    assert [role for role in ROLES if has_permission(role, "metrics:read")] == [
        "admin",
        "monitor",
    ]


def test_auditor_reads_the_audit_and_nothing_else() -> None:
    assert has_permission("auditor", "audit:read")
    assert has_permission("auditor", "audit:verify")
    for permission in (
        "objects:read",
        "objects:write",
        "objects:delete",
        "personal_data:read",
        "export",
        "import",
        "users:manage",
    ):
        assert not has_permission("auditor", permission), permission


def test_liaison_reads_exports_and_manages_partners() -> None:
    assert permissions("liaison") == {
        "objects:read",
        "export",
        "partners:manage",
        "taxii:read",
        "tokens:manage_own",
        "coordination:read",
        "coordination:write",
    }


def test_joint_records_are_kept_by_liaison_officers_and_analysts() -> None:
    assert [r for r in ROLES if has_permission(r, "coordination:write")] == [
        "admin",
        "analyst",
        "liaison",
    ]
    assert not has_permission("auditor", "coordination:read")
    assert not has_permission("partner", "coordination:read")


def test_partner_nodes_use_taxii_and_nothing_else() -> None:
    assert permissions("partner") == {"taxii:read", "taxii:write"}
    assert [r for r in ROLES if has_permission(r, "taxii:write")] == [
        "admin",
        "analyst",
        "partner",
    ]


def test_analyst_works_on_objects() -> None:
    for permission in ("objects:read", "objects:write", "import", "export", "personal_data:read"):
        assert has_permission("analyst", permission), permission
    for permission in (
        "objects:delete",
        "users:manage",
        "tokens:manage_all",
        "audit:read",
        "partners:manage",
        "collections:manage",
    ):
        assert not has_permission("analyst", permission), permission


@pytest.mark.parametrize(
    "permission", ["users:manage", "tokens:manage_all", "objects:delete", "collections:manage"]
)
def test_only_admin_holds_the_powerful_permissions(permission: str) -> None:
    assert [role for role in ROLES if has_permission(role, permission)] == ["admin"]


def test_personal_data_is_for_analysts_and_admins() -> None:
    assert [r for r in ROLES if has_permission(r, "personal_data:read")] == ["admin", "analyst"]


@pytest.mark.parametrize("role", ["root", "Admin", "", "liaison officer"])
def test_unknown_role_is_refused(role: str) -> None:
    with pytest.raises(ValueError, match="unknown role"):
        has_permission(role, "objects:read")
    with pytest.raises(ValueError, match="unknown role"):
        permissions(role)
    with pytest.raises(ValueError, match="unknown role"):
        check_role(role)


def test_unknown_permission_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown permission 'object:read'"):
        has_permission("admin", "object:read")


def test_table_cannot_be_changed() -> None:
    with pytest.raises(TypeError):
        ROLE_PERMISSIONS["viewer"] = PERMISSIONS  # type: ignore[index]
