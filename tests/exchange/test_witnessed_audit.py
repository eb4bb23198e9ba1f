"""Two real nodes witness each other's audit trail: rabat's trail is rewritten in its
database and every later hash recomputed with rabat's key (stolen from its data folder).
Rabat's own `audit verify` sees a sound chain; with the heads paris witnessed, it names the
rewritten entry."""

from __future__ import annotations

import time
from pathlib import Path

import orjson
import pytest

from diapason.audit import WitnessedHead, load_audit_key
from diapason.exchange.witness import Witnesses
from diapason.settings import load_settings
from tests.audit.tamper import rewrite
from tests.exchange.build import Clock, graded, sdo
from tests.exchange.conftest import MakeNode
from tests.exchange.nodes import FedNode, federate


def exchange(rabat: FedNode, paris: FedNode, clock: Clock, label: str) -> None:
    """Paris releases something new; rabat pulls it, acknowledges it and sends its head."""
    paris.put([graded(sdo("threat-actor", paris.identity, "green", clock, name=label))])
    paris.node.ledger.run("tests")
    rabat.put([graded(sdo("threat-actor", rabat.identity, "green", clock, name=label))])
    [result] = rabat.node.sync_agent().round(only="paris")
    assert result.status == "ok" and result.received >= 1, result


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
@pytest.mark.slow
def test_a_rewrite_with_the_key_stolen_is_caught_by_the_partners_witness(
    make_node: MakeNode, backend: str, tmp_path: Path
) -> None:
    rabat, paris = make_node("rabat", backend), make_node("paris", backend)
    federate(rabat, paris)
    paris.start()
    clock = Clock()
    exchange(rabat, paris, clock, "first")
    time.sleep(1.1)  # paris keeps at most one head of rabat's a second
    exchange(rabat, paris, clock, "second")

    heads = Witnesses(paris.node.database.engine).heads("rabat")
    assert len(heads) >= 2, heads
    # What paris keeps is what rabat's trail said then; rabat knows what paris kept.
    for head in heads:
        [entry] = rabat.node.audit.entries(after=head.seq - 1, limit=1)
        assert (entry.seq, entry.hash) == (head.seq, head.hash)
    assert rabat.partner_row("paris")["witnessed_seq"] == heads[-1].seq
    rabat.put([graded(sdo("threat-actor", rabat.identity, "green", clock, name="later"))])
    before = rabat.cli_json("audit", "verify", "--with-partners")
    assert before["ok"] is True, before
    assert before["partners"][0]["checked"] == len(heads)

    # The attacker: write access to rabat's database, and its key file read.
    key = load_audit_key(load_settings(rabat.data, environ={}))
    assert key is not None
    target = heads[0].seq + 1  # after the first head paris witnessed, before the last
    [entry] = rabat.node.audit.entries(after=target - 1, limit=1)
    rewrite(
        rabat.node.database.engine,
        key,
        target,
        actor="nobody",
        details={**entry.details, "rewritten": True},
    )

    alone = rabat.cli_json("audit", "verify")
    assert alone["ok"] is True, alone  # the chain holds together: the key was used

    caught = rabat.cli_json("audit", "verify", "--with-partners", expect=1)
    assert caught["ok"] is False and caught["broken_seq"] is None  # the chain itself is sound
    [check] = caught["partners"]
    first_after = next(head for head in heads if head.seq >= target)
    last_before = next(head for head in reversed(heads) if head.seq < target)
    assert (check["partner"], check["from"], check["asked"], check["broken_seq"]) == (
        "paris",
        paris.url,
        True,
        first_after.seq,
    )
    assert check["message"] == (
        f"entry {first_after.seq} was rewritten: its hash differs from the head partner "
        f"paris witnessed at {first_after.witnessed_at}; the change lies in entries "
        f"{last_before.seq + 1} to {first_after.seq} (entry {last_before.seq} matches the "
        f"head witnessed at {last_before.witnessed_at})"
    )
    text = rabat.cli("audit", "verify", "--with-partners")
    assert text.returncode == 1
    assert "audit trail intact" in text.stdout
    said = " ".join(text.stdout.split())
    assert f"paris ({paris.url}): entry {first_after.seq} was rewritten" in said

    # The same, without trusting rabat's database for where paris is: paris's operator
    # lists what it witnessed, rabat's compares with that file.
    listing = paris.cli_json("audit", "witnessed", "--partner", "rabat")
    assert [WitnessedHead(**h) for h in listing["heads"]] == heads
    witness = tmp_path / "paris-witness.json"
    witness.write_bytes(orjson.dumps(listing))
    offline = rabat.cli_json("audit", "verify", "--witness", str(witness), expect=1)
    [check] = offline["partners"]
    assert (check["partner"], check["from"]) == ("paris", str(witness))
    assert check["broken_seq"] == first_after.seq

    # A partner that cannot be asked is said so, and the check fails.
    paris.stop()
    unreachable = rabat.cli_json("audit", "verify", "--with-partners", expect=1)
    [check] = unreachable["partners"]
    assert check["asked"] is False
    assert check["message"].startswith(f"partner paris could not be asked at {paris.url}: ")
