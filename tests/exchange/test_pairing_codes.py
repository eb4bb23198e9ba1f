"""Pairing codes (exchange/pairing.py): what one carries comes back whole, and every code
that is not right is refused saying precisely what is wrong, never showing its token."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta

import orjson
import pytest

from diapason.exchange.pairing import (
    Invitation,
    PairingError,
    decode,
    invitation,
    parse_expiry,
)
from tests.clock import NOW
from tests.exchange.conftest import MakeNode

RABAT = "identity--0f99a7c9-34d8-4b8e-9a43-1d2b3c4d5e6f"
TOKEN = "dia_" + "s" * 43
PIN = "ab" * 32


def made(**changes: object) -> Invitation:
    values: dict[str, object] = {
        "node": "rabat",
        "invited": "paris",
        "url": "https://rabat.example:8443",
        "token": TOKEN,
        "identity": RABAT,
        "fingerprint": PIN,
        **changes,
    }
    return invitation(**values, now=NOW)  # type: ignore[arg-type]


def forged(payload: dict[str, object]) -> str:
    """A code with valid check digits around ``payload`` (as a careless tool might make)."""
    data = base64.urlsafe_b64encode(orjson.dumps(payload)).decode().rstrip("=")
    return f"dpair1.{data}.{hashlib.sha256(data.encode()).hexdigest()[:8]}"


def refused(code: str, *, me: str = "paris", hours: float = 1) -> str:
    with pytest.raises(PairingError) as caught:
        decode(code, now=NOW + timedelta(hours=hours), me=me)
    message = str(caught.value)
    assert TOKEN not in message
    return message


def test_a_code_carries_the_invitation_whole_even_wrapped_over_lines() -> None:
    code = made().encode()
    assert code.startswith("dpair1.") and TOKEN not in code
    wrapped = "\n  ".join(code[i : i + 60] for i in range(0, len(code), 60))
    for text in (code, wrapped):
        back = decode(text, now=NOW, me="paris")
        assert (back.node, back.invited, back.url, back.token) == (
            "rabat",
            "paris",
            "https://rabat.example:8443",
            TOKEN,
        )
        assert (back.identity, back.fingerprint) == (RABAT, PIN)
        assert back.expires == NOW + timedelta(hours=24)
    assert TOKEN not in repr(back) and TOKEN not in str(back.describe())


def test_every_damaged_or_wrong_code_is_refused_precisely() -> None:
    code = made().encode()
    prefix, data, check = code.split(".")
    assert refused("hello").startswith("not a Diapason pairing code")
    assert "version 2; this node reads version 1" in refused("dpair2." + data + "." + check)
    assert refused(f"{prefix}.{data}").startswith("pairing code incomplete")
    changed = data[:10] + ("A" if data[10] != "A" else "B") + data[11:]
    assert "damaged" in refused(f"{prefix}.{changed}.{check}")
    assert "damaged" in refused(f"{prefix}.{data[:-5]}.{check}")  # cut while copied
    bad = "!!!!"
    assert "not base64url JSON" in refused(
        f"dpair1.{bad}.{hashlib.sha256(bad.encode()).hexdigest()[:8]}"
    )
    assert "not a JSON object" in refused(forged([1, 2]))  # type: ignore[arg-type]
    payload = orjson.loads(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))
    assert refused(forged({k: v for k, v in payload.items() if k != "token"})).endswith(
        "missing token"
    )
    assert "for node 'paris', but this node is 'lyon'" in refused(code, me="lyon")
    assert "`diapason partner invite lyon`" in refused(code, me="lyon")
    assert "made by this node (rabat) itself" in refused(made(invited="rabat").encode(), me="rabat")
    expired = refused(code, hours=26)
    assert expired.startswith("pairing code expired at 2026-06-16T10:00:00.000Z (2 h ago)")
    assert "identity--<UUID>" in refused(forged({**payload, "identity": "rabat"}))
    assert "not a SHA-256 fingerprint" in refused(forged({**payload, "fingerprint": "ab:cd"}))
    http = forged({**payload, "url": "http://rabat.example:8000"})
    assert "use an https:// URL" in refused(http)
    assert "'expires' is not a timestamp" in refused(forged({**payload, "expires": "soon"}))
    assert "a few hundred" in refused("dpair1." + "A" * 5000 + ".00000000")


def test_expiry_is_a_duration_of_one_minute_to_thirty_days() -> None:
    assert parse_expiry("30m") == timedelta(minutes=30)
    assert parse_expiry("12h") == timedelta(hours=12)
    assert parse_expiry("7D") == timedelta(days=7)
    for wrong, why in (("1w", "a number and m, h or d"), ("31d", "between 1 minute and 30")):
        with pytest.raises(PairingError, match=why):
            parse_expiry(wrong)


@pytest.mark.slow
def test_join_refuses_a_bad_code_in_one_line_and_writes_nothing(make_node: MakeNode) -> None:
    paris = make_node("paris")
    code = made().encode()
    prefix, data, check = code.split(".")
    ran = paris.cli("partner", "join", f"{prefix}.{data[:-3]}.{check}")
    assert ran.returncode == 1 and "Traceback" not in ran.stderr
    assert "pairing code damaged" in ran.stderr and TOKEN not in ran.stderr
    assert paris.node.partners.all() == [] and paris.node.accounts.get_user("rabat") is None
    # An invitation for another node: its name is said, and what to ask for.
    ran = paris.cli("partner", "join", made(invited="lyon").encode())
    assert "pairing code for node 'lyon', but this node is 'paris'" in ran.stderr
