"""``diapason anticipate``, run as a user runs it: a real process, real files, a real node."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import numpy as np
import orjson
import pytest

from diapason.anticipate.series import write_csv
from diapason.anticipate.synthetic import synthetic_series
from diapason.domain.events import EVENT_TYPE
from diapason.domain.extensions import TLP_2_0_IDS, diapason_id


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIAPASON_")}
    env["COLUMNS"] = "200"
    return subprocess.run(
        [sys.executable, "-m", "diapason", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    series, _ = synthetic_series(3, 48, seed=2)
    path = tmp_path / "series.csv"
    write_csv(series, path)
    return path


def test_forecast_json_has_exactly_the_published_shape(csv_file: Path, tmp_path: Path) -> None:
    chart = tmp_path / "chart.svg"
    result = run(
        "anticipate",
        "forecast",
        "--csv",
        str(csv_file),
        "--horizon",
        "2",
        "--json",
        "--chart",
        str(chart),
    )
    assert result.returncode == 0, result.stderr
    document = orjson.loads(result.stdout)
    assert list(document) == ["forecasts"]
    assert len(document["forecasts"]) == 6
    first = document["forecasts"][0]
    assert list(first) == ["series", "period", "mean", "quantiles"]
    assert first["series"] == "synthetic-0000" and first["period"] == "2018-01"
    assert list(first["quantiles"]) == [
        "0.05",
        "0.1",
        "0.25",
        "0.4",
        "0.5",
        "0.6",
        "0.75",
        "0.9",
        "0.95",
    ]
    assert document["forecasts"][1]["period"] == "2018-02"
    # One chart per series, each a well-formed SVG document.
    for index in (1, 2, 3):
        # The file is the one this test just had written, not untrusted input.
        root = ElementTree.parse(tmp_path / f"chart-{index}.svg").getroot()  # noqa: S314
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        assert root.find("{http://www.w3.org/2000/svg}polygon") is not None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("when,what,n\n2024-01,a,1\n", "line 1: header is 'when,what,n', expected"),
        ("period,series,count\n2024-01,a,-3\n", "line 2: count '-3' is negative"),
        ("period,series,count\n2024-01,a,1.5\n", "line 2: count '1.5' is not a whole number"),
    ],
)
def test_bad_csv_is_one_line_and_exit_1(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    result = run("anticipate", "forecast", "--csv", str(path), "--json")
    assert result.returncode == 1
    assert result.stdout == ""
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_short_history_falls_back_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    path.write_text("period,series,count\n2024-01,a,2\n2024-03,a,7\n", encoding="utf-8")
    result = run("anticipate", "forecast", "--csv", str(path), "--horizon", "1", "--json")
    assert result.returncode == 0, result.stderr
    assert "historical baseline" in result.stderr
    assert "1 period without a row counted as zero" in result.stderr
    forecast = orjson.loads(result.stdout)["forecasts"][0]
    assert forecast["period"] == "2024-04" and forecast["mean"] == 3.0
    assert forecast["quantiles"]["0.05"] == 0.0 and forecast["quantiles"]["0.95"] == 7.0
    result = run("anticipate", "backtest", "--csv", str(path))
    assert result.returncode == 1
    assert "3 periods of history: a backtest needs at least 25" in result.stderr


def test_backtest_table_on_synthetic_series() -> None:
    result = run("anticipate", "backtest", "--synthetic", "12", "--horizon", "2", "--json")
    assert result.returncode == 0, result.stderr
    document = orjson.loads(result.stdout)
    assert document["series"] == 12 and document["horizons"] == 2
    methods = {row["method"] for row in document["rows"] if row["slice"] == "overall"}
    assert methods == {"model", "last", "seasonal", "mean", "climatology"}
    assert set(document["crps_improvement"]) == {"last", "seasonal", "mean", "climatology"}
    assert document["score_levels"] == [0.05, 0.1, 0.25, 0.4, 0.5, 0.6, 0.75, 0.9, 0.95]
    horizons = [r for r in document["rows"] if r["slice"] == "horizon" and r["method"] == "model"]
    assert [r["key"] for r in horizons] == ["1", "2"]
    assert all(0.0 <= r["coverage_5_95"] <= 1.0 for r in horizons)
    histograms = document["pit_histograms"]
    assert {(h["period"], h["method"]) for h in histograms} == {
        ("all", "model"),
        ("all", "climatology"),
    }
    assert sum(histograms[0]["density"]) == pytest.approx(10.0)
    text = run("anticipate", "backtest", "--synthetic", "12", "--horizon", "2")
    assert "model CRPS vs climatology" in text.stdout
    assert "PIT histogram, model, all" in text.stdout


def test_backtest_split_groups_and_pit_chart(tmp_path: Path) -> None:
    series, _ = synthetic_series(6, 60, seed=2)
    path = tmp_path / "six.csv"
    write_csv(series, path)
    chart = tmp_path / "pit.svg"
    result = run(
        "anticipate",
        "backtest",
        "--csv",
        str(path),
        "--horizon",
        "2",
        "--split",
        "2018-01",
        "--group",
        "first=synthetic-0000,synthetic-0001",
        "--chart",
        str(chart),
        "--json",
    )
    assert result.returncode == 0, result.stderr
    document = orjson.loads(result.stdout)
    periods = [p["period"] for p in document["periods"]]
    assert periods == ["all", "development", "held-out"]
    held_out = document["periods"][2]
    assert held_out["first_origin"] == "2017-12" and held_out["last_target"] == "2018-12"
    assert document["periods"][1]["last_target"] == "2017-12"
    groups = {r["key"] for r in document["rows"] if r["slice"] == "group"}
    assert groups == {"first", "other"}
    # The file is the one this test just had written, not untrusted input.
    root = ElementTree.parse(chart).getroot()  # noqa: S314
    assert len(root.findall(".//{http://www.w3.org/2000/svg}rect[@class='pit']")) == 60
    bad = run("anticipate", "backtest", "--csv", str(path), "--group", "x=nobody")
    assert bad.returncode == 1 and "no series named nobody" in bad.stderr
    bad = run("anticipate", "backtest", "--csv", str(path), "--split", "2030-01")
    assert bad.returncode == 1 and "split 2030-01: must leave forecasts on both sides" in bad.stderr
    bad = run("anticipate", "backtest", "--csv", str(path), "--group", "nameless")
    assert bad.returncode == 2 and "expected NAME=SERIES" in bad.stderr


def test_store_options_are_checked(tmp_path: Path, csv_file: Path) -> None:
    node = tmp_path / "node"
    assert run("init", "--data", str(node)).returncode == 0
    result = run("anticipate", "series", "--data", str(node), "--place", "XX")
    assert result.returncode == 1 and "unknown place 'XX'" in result.stderr
    result = run("anticipate", "series", "--data", str(node))
    assert result.returncode == 1 and "no events in the store" in result.stderr
    result = run("anticipate", "series", "--csv", str(csv_file), "--place", "ML")
    assert result.returncode == 2 and "apply to the store" in result.stderr


def events_bundle(path: Path) -> Path:
    """Four quiet years in Mali (3-7 events a month), then a month with 45 events."""
    rng = np.random.default_rng(11)
    extension = diapason_id("extension-definition", "event")
    objects: list[dict[str, Any]] = []
    months = [int(n) for n in rng.integers(3, 8, 48)] + [45]
    for index, count in enumerate(months):
        year, month = 2020 + index // 12, index % 12 + 1
        for day in range(1, count + 1):
            objects.append(
                {
                    "type": EVENT_TYPE,
                    "spec_version": "2.1",
                    "id": f"{EVENT_TYPE}--{uuid.uuid5(uuid.NAMESPACE_URL, f'{index}-{day}')}",
                    "created": "2024-06-01T00:00:00.000Z",
                    "modified": "2024-06-01T00:00:00.000Z",
                    "event_type": "COERCE",
                    "occurred": f"{year}-{month:02d}-{min(day, 28):02d}",
                    "country": "ML",
                    "topics": ["terrorism"],
                    "object_marking_refs": [TLP_2_0_IDS["green"]],
                    "extensions": {extension: {"extension_type": "new-sdo"}},
                }
            )
    bundle = {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects}
    path.write_bytes(orjson.dumps(bundle))
    return path


def test_alerts_from_the_store_are_written_once(tmp_path: Path) -> None:
    node = tmp_path / "node"
    assert run("init", "--data", str(node)).returncode == 0
    imported = run("import", str(events_bundle(tmp_path / "events.json")), "--data", str(node))
    assert imported.returncode == 0, imported.stderr
    series = run(
        "anticipate",
        "series",
        "--data",
        str(node),
        "--place",
        "sahel-saharan",
        "--category",
        "terrorism",
        "--json",
    )
    assert series.returncode == 0, series.stderr
    counts = orjson.loads(series.stdout)["series"][0]
    assert counts["name"] == "sahel-saharan/topic:terrorism"
    assert counts["periods"][-1] == "2024-01" and counts["counts"][-1] == 45
    args = ("anticipate", "alerts", "--data", str(node), "--place", "ML", "--window", "6")
    first = run(*args, "--write", "--json")
    assert first.returncode == 0, first.stderr
    document = orjson.loads(first.stdout)
    assert len(document["alerts"]) == 1 and len(document["written"]) == 1
    alert = document["alerts"][0]
    assert alert["series"] == "ML/all" and alert["period_start"] == "2024-01"
    assert alert["observed"] == 45
    second = orjson.loads(run(*args, "--write", "--json").stdout)
    assert second["written"] == [] and second["unchanged"] == [alert["id"]]
    found = run("search", "--data", str(node), "--type", "x-diapason-alert", "--json")
    stored = orjson.loads(found.stdout)["objects"]
    assert [obj["id"] for obj in stored] == [alert["id"]]
    # The alert carries the markings of the events it was computed from.
    assert stored[0]["object_marking_refs"] == [TLP_2_0_IDS["green"]]
    shown = run(*args)
    assert "45 observed" in shown.stdout and "1 alert" in shown.stdout
    french = run(*args, "--lang", "fr")
    assert "45 observés" in french.stdout
