"""Users, passwords and API tokens on both databases."""

from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa

from diapason.accounts import AccountError, Accounts
from diapason.store.schema import api_tokens, users

PASSWORD = "correct horse battery"


@pytest.fixture
def accounts(engine: sa.Engine) -> Accounts:
    return Accounts(engine)


def table_text(engine: sa.Engine, table: sa.Table) -> str:
    with engine.connect() as connection:
        return repr(connection.execute(sa.select(table)).all())


def test_add_get_and_list_users(accounts: Accounts) -> None:
    bob = accounts.add_user("bob", "viewer")
    alice = accounts.add_user("alice.m-1_x", "analyst", PASSWORD)
    assert (bob.username, bob.role, bob.disabled) == ("bob", "viewer", False)
    assert accounts.get_user("bob") == bob
    assert accounts.get_user("nobody") is None
    assert accounts.list_users() == [alice, bob]


def test_duplicate_username_is_refused(accounts: Accounts) -> None:
    accounts.add_user("alice", "admin")
    with pytest.raises(AccountError, match="'alice' already exists"):
        accounts.add_user("alice", "viewer")
    assert len(accounts.list_users()) == 1


@pytest.mark.parametrize(
    "username", ["a", "Alice", ".alice", "-a", "al ice", "alice@x", "a" * 64, "", "élise"]
)
def test_invalid_username_is_refused(accounts: Accounts, username: str) -> None:
    with pytest.raises(AccountError, match="invalid username"):
        accounts.add_user(username, "viewer")


def test_longest_username_is_accepted(accounts: Accounts) -> None:
    assert accounts.add_user("a" * 63, "viewer").username == "a" * 63


def test_unknown_role_is_refused(accounts: Accounts) -> None:
    with pytest.raises(AccountError, match="unknown role 'root'"):
        accounts.add_user("alice", "root")
    assert accounts.list_users() == []


def test_short_password_is_refused(accounts: Accounts) -> None:
    with pytest.raises(AccountError, match="at least 12"):
        accounts.add_user("alice", "admin", "short")
    assert accounts.get_user("alice") is None
    accounts.add_user("alice", "admin")
    with pytest.raises(AccountError, match="at least 12"):
        accounts.set_password("alice", "x" * 11)


def test_check_password(accounts: Accounts, engine: sa.Engine) -> None:
    alice = accounts.add_user("alice", "analyst", PASSWORD)
    assert accounts.check_password("alice", PASSWORD) == alice
    assert accounts.check_password("alice", PASSWORD + "!") is None
    assert accounts.check_password("alice", "") is None
    assert accounts.check_password("nobody", PASSWORD) is None
    # Stored as an Argon2id hash, never in clear.
    stored = table_text(engine, users)
    assert PASSWORD not in stored
    assert "$argon2id$" in stored


def test_user_without_password_cannot_sign_in(accounts: Accounts) -> None:
    accounts.add_user("robot", "viewer")
    assert accounts.check_password("robot", PASSWORD) is None


def test_set_password(accounts: Accounts) -> None:
    accounts.add_user("alice", "analyst", PASSWORD)
    accounts.set_password("alice", "another long passphrase")
    assert accounts.check_password("alice", PASSWORD) is None
    assert accounts.check_password("alice", "another long passphrase") is not None
    with pytest.raises(AccountError, match="no user named 'nobody'"):
        accounts.set_password("nobody", PASSWORD)


def test_disabled_user_cannot_sign_in(accounts: Accounts) -> None:
    accounts.add_user("alice", "analyst", PASSWORD)
    disabled = accounts.disable_user("alice")
    assert disabled.disabled
    assert accounts.get_user("alice") == disabled
    assert accounts.check_password("alice", PASSWORD) is None
    # Idempotent.
    assert accounts.disable_user("alice") == disabled
    with pytest.raises(AccountError, match="no user named"):
        accounts.disable_user("nobody")


def test_token_is_shown_once_and_stored_hashed(accounts: Accounts, engine: sa.Engine) -> None:
    alice = accounts.add_user("alice", "analyst")
    issued = accounts.create_token("alice", "laptop")
    secret = issued.secret
    assert secret.startswith("dia_")
    assert len(secret) > 40
    assert secret not in repr(issued)
    assert secret not in str(issued)
    info = issued.info
    assert (info.user_id, info.username, info.name) == (alice.id, "alice", "laptop")
    assert info.prefix == secret[:12]
    assert info.revoked_at is None and info.last_used_at is None
    stored = table_text(engine, api_tokens)
    assert secret not in stored
    assert secret[12:] not in stored
    assert hashlib.sha256(secret.encode()).hexdigest() in stored
    assert accounts.list_tokens("alice") == [info]


def test_authenticate_token(accounts: Accounts, engine: sa.Engine) -> None:
    alice = accounts.add_user("alice", "analyst")
    issued = accounts.create_token("alice")
    assert accounts.authenticate_token(issued.secret) == alice
    used = accounts.list_tokens("alice")[0].last_used_at
    assert used is not None
    # Within a minute, last_used_at is not written again.
    assert accounts.authenticate_token(issued.secret) == alice
    assert accounts.list_tokens("alice")[0].last_used_at == used
    # After a minute it is.
    with engine.begin() as connection:
        connection.execute(api_tokens.update().values(last_used_at="2020-01-01T00:00:00.000000Z"))
    assert accounts.authenticate_token(issued.secret) == alice
    later = accounts.list_tokens("alice")[0].last_used_at
    assert later is not None and later >= used


@pytest.mark.parametrize("secret", ["", "dia_", "dia_nope", "not-a-token", "dia_" + "x" * 500])
def test_unknown_token_is_refused(accounts: Accounts, secret: str) -> None:
    accounts.add_user("alice", "analyst")
    issued = accounts.create_token("alice")
    assert accounts.authenticate_token(secret) is None
    assert accounts.authenticate_token(issued.secret[:-1]) is None


def test_revoked_token_is_refused(accounts: Accounts) -> None:
    accounts.add_user("alice", "analyst")
    kept = accounts.create_token("alice", "kept")
    dropped = accounts.create_token("alice", "dropped")
    revoked = accounts.revoke_token(dropped.info.id)
    assert revoked.revoked_at is not None
    assert accounts.authenticate_token(dropped.secret) is None
    assert accounts.authenticate_token(kept.secret) is not None
    # Revoking again keeps the first revocation.
    assert accounts.revoke_token(dropped.info.id).revoked_at == revoked.revoked_at
    with pytest.raises(AccountError, match="no token with id 999"):
        accounts.revoke_token(999)


def test_disabling_a_user_revokes_its_tokens(accounts: Accounts) -> None:
    accounts.add_user("alice", "analyst")
    accounts.add_user("bob", "viewer")
    alice_token = accounts.create_token("alice")
    bob_token = accounts.create_token("bob")
    accounts.disable_user("alice")
    assert accounts.authenticate_token(alice_token.secret) is None
    assert all(token.revoked_at is not None for token in accounts.list_tokens("alice"))
    assert accounts.authenticate_token(bob_token.secret) is not None
    with pytest.raises(AccountError, match="disabled"):
        accounts.create_token("alice")


def test_disabled_users_token_is_refused_even_unrevoked(
    accounts: Accounts, engine: sa.Engine
) -> None:
    accounts.add_user("alice", "analyst")
    issued = accounts.create_token("alice")
    # Disabled behind the module's back: the user's state alone must refuse the token.
    with engine.begin() as connection:
        connection.execute(users.update().values(disabled=True))
    assert accounts.list_tokens("alice")[0].revoked_at is None
    assert accounts.authenticate_token(issued.secret) is None


def test_list_tokens(accounts: Accounts) -> None:
    accounts.add_user("alice", "analyst")
    accounts.add_user("bob", "viewer")
    a = accounts.create_token("alice", "one").info
    b = accounts.create_token("bob").info
    c = accounts.create_token("alice", "two").info
    assert accounts.list_tokens() == [a, b, c]
    assert accounts.list_tokens("alice") == [a, c]
    with pytest.raises(AccountError, match="no user named"):
        accounts.list_tokens("nobody")


def test_token_name_is_checked(accounts: Accounts) -> None:
    accounts.add_user("alice", "analyst")
    with pytest.raises(AccountError, match="needs a name"):
        accounts.create_token("alice", " ")
    with pytest.raises(AccountError, match="at most 100"):
        accounts.create_token("alice", "n" * 101)
    with pytest.raises(AccountError, match="no user named"):
        accounts.create_token("nobody")
    assert accounts.list_tokens() == []
