"""``diapason coordinate …`` run as a user runs it: real processes on a real data folder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from tests.coordinate.conftest import PARIS_IDENTITY
from tests.federation.conftest import MakeNode


@pytest.mark.slow
def test_a_coordinator_runs_the_joint_mechanism_from_the_command_line(
    make_node: MakeNode, tmp_path: Path
) -> None:
    node = make_node("rabat")
    node.node.partners.add("paris", "http://127.0.0.1:9", "unused", identity_id=PARIS_IDENTITY)
    soon = (datetime.now(UTC) + timedelta(days=14)).date().isoformat()
    last_month = (datetime.now(UTC).replace(day=1) - timedelta(days=1)).strftime("%Y-%m")

    group = node.cli_json(
        "coordinate",
        "group",
        "add",
        "GMMP",
        "--kind",
        "gmmp",
        "--partner",
        "rabat",
        "--partner",
        "paris",
        "--member",
        "rabat:Nadia Benali*:Directrice",
        "--member",
        "paris:Hélène Lefèvre*",
    )
    assert group["fields"]["members"][0] == {
        "partner": "rabat",
        "name": "Nadia Benali",
        "chair": True,
        "function": "Directrice",
    }
    meeting = node.cli_json(
        "coordinate",
        "meeting",
        "add",
        group["id"],
        "--title",
        "Plénière",
        "--kind",
        "plenary",
        "--start",
        soon,
        "--place",
        "Rabat",
        "--delegation",
        "paris:Hélène Lefèvre,Marc Petit",
        "--agenda",
        "Routes",
        "--agenda",
        "Retours",
    )
    action = node.cli_json(
        "coordinate",
        "action",
        "add",
        "Partager les tendances",
        "--owner",
        "paris",
        "--due",
        soon,
        "--meeting",
        meeting["id"],
    )
    minutes_file = tmp_path / "minutes.txt"
    minutes_file.write_text("Échanges francs et constructifs.", encoding="utf-8")
    updated = node.cli_json(
        "coordinate",
        "update",
        meeting["id"],
        "--set",
        "status=held",
        "--set",
        f"minutes=@{minutes_file}",
        "--set",
        'decisions=["Groupe d\'experts"]',
    )
    assert updated["fields"]["minutes"] == "Échanges francs et constructifs."
    assert node.cli_json("coordinate", "action", "list", "--overdue") == []
    assert [a["id"] for a in node.cli_json("coordinate", "action", "list")] == [action["id"]]
    assert node.cli_json("coordinate", "conflicts") == []
    history = node.cli_json("coordinate", "history", meeting["id"])
    assert [h["changed"].get("status") for h in history] == ["planned", "held"]

    pdf = tmp_path / "minutes.pdf"
    result = node.cli(
        "coordinate", "meeting", "minutes", meeting["id"], "--format", "pdf", "-o", str(pdf)
    )
    assert result.returncode == 0, result.stderr
    assert pdf.read_bytes().startswith(b"%PDF-")
    result = node.cli("coordinate", "meeting", "communique", meeting["id"], "--lang", "en")
    assert result.returncode == 0 and "Draft joint communiqué — GMMP" in result.stdout

    deadline = (datetime.now(UTC) + timedelta(days=5)).date().isoformat()
    asked = node.cli_json(
        "coordinate",
        "rfi",
        "add",
        "Réseau",
        "--question",
        "Quels relais ?",
        "--to",
        "paris",
        "--deadline",
        deadline,
        "--priority",
        "high",
    )
    [listed] = node.cli_json("coordinate", "rfi", "list")
    assert listed["id"] == asked["id"] and listed["state"] == "open"
    assert node.cli_json("coordinate", "rfi", "stats")[0]["partner"] == "paris"

    node.cli_json("coordinate", "figure", "add", "assisted-voluntary-returns", last_month, "120")
    again = node.cli("coordinate", "figure", "add", "assisted-voluntary-returns", last_month, "121")
    assert again.returncode == 1
    assert again.stderr.startswith("diapason: error: figure assisted-voluntary-returns")
    assert "already entered" in again.stderr and "Traceback" not in again.stderr
    node.cli_json(
        "coordinate",
        "figure",
        "correct",
        "assisted-voluntary-returns",
        last_month,
        "118",
        "--reason",
        "doublons",
    )
    records = tmp_path / "records.csv"
    records.write_text(
        f"indicator,month,value,name\nassisted-voluntary-returns,{last_month},1,Ali\n"
    )
    refused = node.cli("coordinate", "figure", "import", str(records))
    assert refused.returncode == 1 and "looks like a record about an individual" in refused.stderr
    [figure] = node.cli_json("coordinate", "figure", "list")
    assert (figure["value"], figure["first_value"]) == (118, 120)
    chart = tmp_path / "chart.svg"
    result = node.cli(
        "coordinate", "figure", "chart", "assisted-voluntary-returns", "-o", str(chart)
    )
    assert result.returncode == 0 and chart.read_text().startswith("<svg")

    past = node.cli("coordinate", "action", "add", "T", "--owner", "paris", "--due", "2020-01-01")
    assert past.returncode == 1
    assert past.stderr.strip().splitlines() == [
        "diapason: error: action: field due: 2020-01-01 is in the past "
        f"(today is {datetime.now(UTC).date().isoformat()})"
    ]
    unknown = node.cli("coordinate", "action", "add", "T", "--owner", "berlin", "--due", soon)
    assert unknown.returncode == 1 and "'berlin' is not a known partner" in unknown.stderr
    nothing = node.cli("coordinate", "resolve", action["id"])
    assert nothing.returncode == 1 and "is not in conflict" in nothing.stderr
    assert node.cli_json("coordinate", "opinion", "convergence") == []
    shown = node.cli_json("coordinate", "show", meeting["id"])
    assert shown["status"] == "held" and shown["actions"][0]["id"] == action["id"]
    definitions = node.cli_json("coordinate", "figure", "definitions")
    assert "assisted-voluntary-returns" in {d["code"] for d in definitions}
    assert orjson.loads(node.cli("audit", "verify", "--json").stdout)["ok"] is True
