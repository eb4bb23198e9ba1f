"""``diapason coordinate …`` run as a user runs it, on a real data folder: through the
entry point of the ``diapason`` command (``main``), in this process so that the joint
mechanism takes the test's clock (from the fixed ``tests.clock.NOW``); what needs no clock
also as a real process."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.clock import day, month
from tests.coordinate.conftest import CliNode


@pytest.mark.slow
def test_a_coordinator_runs_the_joint_mechanism_from_the_command_line(
    rabat_cli: CliNode, tmp_path: Path
) -> None:
    rabat, diapason = rabat_cli.node, rabat_cli.diapason
    soon = day(14)
    last_month = month(1)

    group = diapason.json(
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
    meeting = diapason.json(
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
    action = diapason.json(
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
    updated = diapason.json(
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
    assert diapason.json("coordinate", "action", "list", "--overdue") == []
    assert [a["id"] for a in diapason.json("coordinate", "action", "list")] == [action["id"]]
    assert diapason.json("coordinate", "conflicts") == []
    history = diapason.json("coordinate", "history", meeting["id"])
    assert [h["changed"].get("status") for h in history] == ["planned", "held"]

    pdf = tmp_path / "minutes.pdf"
    result = diapason(
        "coordinate", "meeting", "minutes", meeting["id"], "--format", "pdf", "-o", str(pdf)
    )
    assert result.returncode == 0, result.stderr
    assert pdf.read_bytes().startswith(b"%PDF-")
    result = diapason("coordinate", "meeting", "communique", meeting["id"], "--lang", "en")
    assert result.returncode == 0 and "Draft joint communiqué — GMMP" in result.stdout

    deadline = day(5)
    asked = diapason.json(
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
    [listed] = diapason.json("coordinate", "rfi", "list")
    assert listed["id"] == asked["id"] and listed["state"] == "open"
    assert diapason.json("coordinate", "rfi", "stats")[0]["partner"] == "paris"

    diapason.json("coordinate", "figure", "add", "assisted-voluntary-returns", last_month, "120")
    again = diapason("coordinate", "figure", "add", "assisted-voluntary-returns", last_month, "121")
    assert again.returncode == 1
    assert again.stderr.startswith("diapason: error: figure assisted-voluntary-returns")
    assert "already entered" in again.stderr and "Traceback" not in again.stderr
    diapason.json(
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
    refused = diapason("coordinate", "figure", "import", str(records))
    assert refused.returncode == 1 and "looks like a record about an individual" in refused.stderr
    [figure] = diapason.json("coordinate", "figure", "list")
    assert (figure["value"], figure["first_value"]) == (118, 120)
    chart = tmp_path / "chart.svg"
    result = diapason(
        "coordinate", "figure", "chart", "assisted-voluntary-returns", "-o", str(chart)
    )
    assert result.returncode == 0 and chart.read_text().startswith("<svg")

    past = diapason("coordinate", "action", "add", "T", "--owner", "paris", "--due", "2020-01-01")
    assert past.returncode == 1
    assert past.stderr.strip().splitlines() == [
        f"diapason: error: action: field due: 2020-01-01 is in the past (today is {day()})"
    ]
    unknown = diapason("coordinate", "action", "add", "T", "--owner", "berlin", "--due", soon)
    assert unknown.returncode == 1 and "'berlin' is not a known partner" in unknown.stderr
    nothing = diapason("coordinate", "resolve", action["id"])
    assert nothing.returncode == 1 and "is not in conflict" in nothing.stderr
    assert diapason.json("coordinate", "opinion", "convergence") == []
    shown = diapason.json("coordinate", "show", meeting["id"])
    assert shown["status"] == "held" and shown["actions"][0]["id"] == action["id"]
    # And as a separate process, as the shell runs it (what needs no clock).
    definitions = rabat.cli_json("coordinate", "figure", "definitions")
    assert "assisted-voluntary-returns" in {d["code"] for d in definitions}
    assert rabat.cli_json("audit", "verify")["ok"] is True
