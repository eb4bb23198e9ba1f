"""The audit key: made by init with owner-only rights, never shown, refused when exposed,
and a node that has lost it refuses to start rather than write an unverifiable trail."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from diapason.audit import (
    AUDIT_KEY_FILE,
    AuditKeyError,
    create_audit_key,
    load_audit_key,
)
from diapason.node import Node, init_node
from diapason.settings import SettingsError, load_settings

SETTING_KEY = "s3cret-" + "x" * 40

posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes and owners are POSIX")


def test_init_writes_a_private_key_and_seals_the_trail(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "node", environ={})
    node, _initialised = init_node(settings, "tests")
    path = tmp_path / "node" / AUDIT_KEY_FILE
    try:
        text = path.read_text()
        assert len(text.strip()) == 64 and int(text, 16) >= 0
        if os.name == "posix":
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
        first = node.audit.entries(limit=1)[0]
        assert first.action == "audit_key" and first.keyed
        assert node.audit.key is not None
        assert first.details["key_id"] == node.audit.key.key_id
        # The key shows nowhere: not in the trail, nor the settings, nor the key's repr.
        assert text.strip() not in str([e.as_dict() for e in node.audit.entries()])
        assert text.strip() not in repr(node.audit.key)
        assert node.audit.verify().ok
    finally:
        node.close()
    # Run again, it changes nothing: same key, no second introduction.
    again, _ = init_node(settings, "tests")
    try:
        assert path.read_text() == text
        assert [e.action for e in again.audit.entries()].count("audit_key") == 1
    finally:
        again.close()


@posix_only
@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644])
def test_a_key_file_others_may_read_stops_the_node(tmp_path: Path, mode: int) -> None:
    settings = load_settings(tmp_path / "node", environ={})
    init_node(settings, "tests")[0].close()
    path = tmp_path / "node" / AUDIT_KEY_FILE
    path.chmod(mode)
    with pytest.raises(AuditKeyError) as caught:
        Node.open(settings)
    assert str(caught.value) == (
        f"audit key file {path} has mode {mode:03o}: others may read or change it. Only its "
        f"owner may: chmod 600 {path}. If others could read it, treat the key as known to "
        "them (docs/security.md)"
    )
    assert path.read_text().strip() not in str(caught.value)


@posix_only
@pytest.mark.skipif(os.name != "posix" or os.geteuid() != 0, reason="chown needs root")
def test_a_key_file_of_another_user_stops_the_node(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "node", environ={})
    init_node(settings, "tests")[0].close()
    path = tmp_path / "node" / AUDIT_KEY_FILE
    os.chown(path, 65534, 65534)
    with pytest.raises(AuditKeyError, match="belongs to user id 65534"):
        Node.open(settings)


def test_a_key_file_that_is_no_key_stops_the_node(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "node", environ={})
    init_node(settings, "tests")[0].close()
    path = tmp_path / "node" / AUDIT_KEY_FILE
    path.write_text("short\n")
    with pytest.raises(AuditKeyError, match="does not hold an audit key"):
        Node.open(settings)
    path.unlink()
    path.mkdir()
    with pytest.raises(AuditKeyError, match="is not a regular file"):
        Node.open(settings)


def test_a_lost_key_stops_the_node_and_init_makes_no_new_one(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "node", environ={})
    init_node(settings, "tests")[0].close()
    path = tmp_path / "node" / AUDIT_KEY_FILE
    saved = path.read_bytes()
    path.unlink()
    with pytest.raises(AuditKeyError) as caught:
        Node.open(settings)
    assert str(caught.value).startswith(
        f"the audit trail is keyed and this node has no audit key: the key file {path} is "
        "missing. Restore it from your backups"
    )
    with pytest.raises(AuditKeyError, match="restore it from your backups"):
        init_node(settings, "tests")
    assert not path.exists()  # the key init made for the attempt is gone again
    path.write_bytes(saved)
    path.chmod(0o600)
    node = Node.open(settings)
    try:
        assert node.audit.verify().ok
    finally:
        node.close()


def test_the_setting_wins_over_the_file_and_is_checked(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "node", environ={"DIAPASON_AUDIT_KEY": SETTING_KEY})
    node, _ = init_node(settings, "tests")
    try:
        assert not (tmp_path / "node" / AUDIT_KEY_FILE).exists()  # no file: the setting
        assert node.audit.key is not None
        assert node.audit.key.secret.reveal() == SETTING_KEY
        assert SETTING_KEY not in str(settings.describe())
        assert node.audit.verify().ok
    finally:
        node.close()
    with pytest.raises(SettingsError) as caught:
        load_settings(tmp_path / "node", environ={"DIAPASON_AUDIT_KEY": "too short"})
    assert str(caught.value) == (
        "audit_key (DIAPASON_AUDIT_KEY): at least 32 printable ASCII characters, without spaces"
    )


def test_create_never_replaces_a_key(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, environ={})
    made = create_audit_key(settings)
    assert made is not None
    assert create_audit_key(settings) is None
    found = load_audit_key(settings)
    assert found is not None and found.key_id == made.key_id
