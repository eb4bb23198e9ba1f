"""``diapason eval osint`` on the project's own corpus (corpus/osint): the seeded
tune/heldout split, per-language and per-type scores, and bootstrap intervals over articles."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import orjson
import pytest

from diapason.osint import nlp
from diapason.osint.evaluation import (
    ArticleScores,
    Counts,
    GoldError,
    bootstrap,
    breakdown,
    evaluate,
    gold_pairs,
    read_split,
    spacy_model_for_eval,
)
from diapason.osint.gazetteer import Gazetteer
from tests.shared import DEV_CORPUS, REPOSITORY

CORPUS = REPOSITORY / "corpus" / "osint"
SUBSET = ("03", "17", "35")  # Kabul hotel attack, London arrests, Tehran demonstration


def record(name: str, entities: tuple[int, int, int], language: str = "fr") -> ArticleScores:
    matched, found, expected = entities
    counts = {kind: Counts() for kind in ("PER", "ORG", "LOC", "GROUP")}
    counts["LOC"] = Counts(matched, found, expected)
    events = {level: {"AGREE": Counts(1, 1, 1)} for level in ("type", "type+date")}
    events["type+date+place"] = {"AGREE": Counts(0, 1, 1)}
    return ArticleScores(name, language, counts, counts, events, Counts(1, 1, 1))


def test_the_split_is_twenty_and_twenty_and_covers_the_corpus() -> None:
    split = read_split(CORPUS)
    assert sorted(split) == [f"{n:02d}" for n in range(1, 41)]
    assert sum(1 for s in split.values() if s == "tune") == 20
    heldout = [path.stem for path, _ in gold_pairs(CORPUS, "heldout")]
    tune = [path.stem for path, _ in gold_pairs(CORPUS, "tune")]
    assert len(heldout) == len(tune) == 20 and not set(heldout) & set(tune)
    # The draw recorded in split.tsv: random.Random(24).sample(ids, 20) went to tune.
    assert tune[:5] == ["01", "04", "06", "10", "11"]
    assert heldout[:5] == ["02", "03", "05", "07", "08"]


def test_a_bad_split_file_is_refused_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "articles").mkdir()
    (tmp_path / "gold").mkdir()
    with pytest.raises(GoldError, match=r"no split\.tsv"):
        gold_pairs(tmp_path, "heldout")
    (tmp_path / "split.tsv").write_text("id\tsplit\n01\ttune\n02\ttest\n", encoding="utf-8")
    with pytest.raises(GoldError, match=r"split.tsv:3: expected id<TAB>tune\|heldout"):
        gold_pairs(tmp_path, "tune")
    with pytest.raises(GoldError, match="split 'dev'"):
        gold_pairs(tmp_path, "dev")


def test_bootstrap_is_seeded_and_collapses_on_identical_articles() -> None:
    same = [record(f"{n}", (3, 4, 4)) for n in range(6)]
    scores = breakdown(same)["all"]
    loc = scores["entities"]["LOC"]
    assert (loc["f1"], loc["low"], loc["high"]) == (0.75, 0.75, 0.75)
    mixed = [record("a", (1, 1, 1)), record("b", (0, 2, 2)), record("c", (2, 2, 4), "en")]
    assert _summed(mixed).f1 == pytest.approx(0.5)
    first = bootstrap(mixed, _summed, lambda c: c.f1)
    assert first == bootstrap(mixed, _summed, lambda c: c.f1)  # seeded
    # Three articles: a sample may hold only "b" (F1 0) or only "a" (F1 1).
    assert first == (0.0, 1.0)
    # Per language: the English article alone, the French two, and all three.
    parts = breakdown(mixed)
    assert sorted(parts) == ["all", "en", "fr"]
    assert parts["en"]["entities"]["LOC"]["f1"] == pytest.approx(0.667)
    assert parts["fr"]["entities"]["LOC"]["f1"] == pytest.approx(0.333)
    assert parts["all"]["events"]["type"]["AGREE"]["f1"] == 1.0
    assert parts["all"]["events"]["type+date+place"]["AGREE"]["f1"] == 0.0
    # Undefined samples (nothing found nor expected) are left out, not counted as zero.
    assert parts["all"]["entities"]["PER"]["low"] is None


def _summed(sample: Sequence[ArticleScores]) -> Counts:
    total = Counts()
    for item in sample:
        total.add(item.entities["LOC"])
    return total


@pytest.fixture(scope="module")
def subset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("osint")
    (folder / "articles").mkdir()
    (folder / "gold").mkdir()
    for name in SUBSET:
        shutil.copy(CORPUS / "articles" / f"{name}.md", folder / "articles")
        shutil.copy(CORPUS / "gold" / f"{name}.json", folder / "gold")
    (folder / "split.tsv").write_text("id\tsplit\n03\ttune\n17\theldout\n35\theldout\n")
    return folder


@pytest.mark.slow
def test_scores_with_intervals_on_three_real_articles(subset: Path, gazetteer: Gazetteer) -> None:
    scores = evaluate(subset, gazetteer, baseline=False)
    assert [r.id for r in scores.per_article] == list(SUBSET)
    part = breakdown(scores.per_article)["all"]
    entities = part["entities"]["all"]
    # With fr_core_news_md, the product's pipeline, and its ORG and place rules.
    assert (entities["matched"], entities["found"], entities["expected"]) == (14, 19, 19)
    assert (entities["f1"], entities["low"], entities["high"]) == (0.737, 0.6, 0.833)
    assert part["entities"]["LOC"]["f1"] == 0.889 and part["entities"]["ORG"]["f1"] == 0.615
    assert part["entities"]["GROUP"]["expected"] == 2 and part["entities"]["GROUP"]["f1"] == 0.0
    strict = part["events"]["type+date+place"]
    assert (strict["all"]["f1"], strict["all"]["low"], strict["all"]["high"]) == (0.6, 0.5, 0.667)
    assert strict["COERCE"]["f1"] == 1.0 and strict["ASSAULT"]["recall"] == 0.333
    assert part["event_dates"]["accuracy"] == 1.0
    # The summary of the run is that of the per-article counts.
    assert scores.total(scores.entities).f1 == pytest.approx(0.737, abs=1e-3)
    assert scores.as_dict()["breakdown"]["fr"]["articles"] == 3
    heldout = evaluate(subset, gazetteer, baseline=False, split="heldout")
    assert [r.id for r in heldout.per_article] == ["17", "35"]


@pytest.mark.slow
def test_the_command_scores_one_split(subset: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIAPASON_")}
    command = [sys.executable, "-m", "diapason", "eval", "osint", "--no-baseline"]
    run = subprocess.run(
        [*command, str(subset), "--split", "heldout", "--json", "--data", str(tmp_path / "n")],
        capture_output=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    scores = orjson.loads(run.stdout)
    assert scores["split"] == "heldout" and scores["articles"] == 2
    assert scores["breakdown"]["all"]["events"]["type"]["PROTEST"]["f1"] == 1.0
    refused = subprocess.run(
        [*command, str(DEV_CORPUS), "--split", "tune"],
        capture_output=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert refused.returncode == 1 and b"no split.tsv" in refused.stderr


def test_only_the_two_official_french_pipelines_may_be_chosen() -> None:
    before = nlp.MODEL
    with (
        pytest.raises(GoldError, match="'fr_core_news_lg': expected one of"),
        spacy_model_for_eval("fr_core_news_lg"),
    ):
        pass
    with spacy_model_for_eval(None), spacy_model_for_eval("fr_core_news_sm"):
        assert nlp.MODEL == "fr_core_news_sm"
    assert before == nlp.MODEL
