"""``diapason ingest``, ``diapason eval osint`` and ``diapason gazetteer add``, run as a
user runs them: a real process and a real data folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from tests.shared import SEED

from .conftest import DEV


def run(data: Path, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIAPASON_")}
    env["COLUMNS"] = "200"
    return subprocess.run(
        [sys.executable, "-m", "diapason", *args, "--data", str(data)],
        input=stdin,
        capture_output=True,
        env=env,
        timeout=300,
        check=False,
    )


@pytest.fixture
def data(tmp_path: Path) -> Path:
    folder = tmp_path / "node"
    assert run(folder, "init").returncode == 0
    return folder


@pytest.mark.slow
def test_ingest_folder_stdin_and_again(data: Path, tmp_path: Path) -> None:
    articles = tmp_path / "in"
    articles.mkdir()
    (articles / "seed.md").write_bytes(SEED.read_bytes())
    (articles / "ignored.json").write_text("{}")
    first = run(data, "ingest", str(articles), "--json")
    assert first.returncode == 0, first.stderr
    summary = orjson.loads(first.stdout)
    assert summary["totals"]["written"] == 1 and summary["totals"]["objects_written"] > 10
    [article] = summary["articles"]
    assert article["language"] == "fr" and article["published"] == "2024-04-22"
    again = run(data, "ingest", "-", "--json", stdin=SEED.read_bytes())
    assert again.returncode == 0, again.stderr
    assert orjson.loads(again.stdout)["totals"] == {
        "articles": 1,
        "objects_written": 0,
        "unchanged": 1,
    }
    table = run(data, "ingest", str(articles / "seed.md"))
    assert table.returncode == 0 and b"unchanged" in table.stdout
    found = run(data, "search", "Laftit", "--json")
    assert b"Abdelouafi Laftit" in found.stdout
    audit = run(data, "audit", "list", "--action", "ingest", "--json")
    assert audit.returncode == 0 and b"ingest" in audit.stdout


@pytest.mark.slow
def test_bad_files_are_refused_in_one_line(data: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.md"
    empty.write_bytes(b"")
    binary = tmp_path / "image.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    good = tmp_path / "good.md"
    good.write_bytes(SEED.read_bytes())
    result = run(data, "ingest", str(empty), str(binary), str(good), str(tmp_path / "missing.md"))
    assert result.returncode == 1
    errors = result.stderr.decode().strip().splitlines()
    refused = [line for line in errors if line.startswith("refused:")]
    assert len(refused) == 3
    assert any("empty.md: empty file" in line for line in refused)
    assert any("image.txt: binary data" in line for line in refused)
    assert any("missing.md: No such file or directory" in line for line in refused)
    assert b"Traceback" not in result.stderr
    assert b"written" in result.stdout  # the good article went in all the same


@pytest.mark.slow
def test_eval_osint_meets_the_targets(data: Path) -> None:
    result = run(data, "eval", "osint", str(DEV), "--json")
    assert result.returncode == 0, result.stderr
    scores = orjson.loads(result.stdout)
    ours, spacy = scores["entities"]["all"]["f1"], scores["baseline_spacy"]["all"]["f1"]
    assert ours >= 0.85 and ours >= spacy + 0.10
    assert scores["event_type_accuracy"] >= 0.8
    assert scores["articles"] == 10


def test_eval_refuses_a_folder_that_is_not_gold(data: Path, tmp_path: Path) -> None:
    result = run(data, "eval", "osint", str(tmp_path))
    assert result.returncode == 1
    assert b"expected the folders articles/ and gold/" in result.stderr


@pytest.mark.slow
def test_gazetteer_correction(data: Path, tmp_path: Path) -> None:
    added = run(
        data,
        "gazetteer",
        "add",
        "Zerktouni",
        "--type",
        "GROUP",
        "--canonical",
        "Réseau Zerktouni",
        "--json",
    )
    assert added.returncode == 0, added.stderr
    assert orjson.loads(added.stdout)["canonical"] == "Réseau Zerktouni"
    bad = run(data, "gazetteer", "add", "X", "--type", "PER", "--country", "Maroc")
    assert bad.returncode == 1 and b"is not an ISO 3166-1 alpha-2 code" in bad.stderr
    article = tmp_path / "a.txt"
    article.write_text(
        "Arrestation\n\n03.03.2024\n\nLa police a arrêté lundi trois membres du groupe "
        "Zerktouni à Rabat.\n"
    )
    result = run(data, "ingest", str(article), "--json")
    assert result.returncode == 0
    shown = run(data, "search", "Zerktouni", "--type", "intrusion-set", "--json")
    assert b"R\\u00e9seau Zerktouni" in shown.stdout or "Réseau Zerktouni".encode() in shown.stdout
