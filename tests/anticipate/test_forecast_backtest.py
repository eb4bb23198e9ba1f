"""The model against the baselines: synthetic data with known truth, and real UCDP data."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from diapason.anticipate.backtest import BASELINES, BacktestError, backtest
from diapason.anticipate.forecast import QUANTILES, forecast
from diapason.anticipate.periods import parse_period
from diapason.anticipate.series import Series, SeriesError
from diapason.anticipate.synthetic import synthetic_series
from tests.shared import DATA


def shared_data() -> Path:
    """``shared/data`` beside the repository; the test fails when it is not there."""
    if not DATA.is_dir():
        pytest.fail(f"no shared data folder at {DATA}")
    return DATA


SAHEL = "ucdp/sahel_maghreb_country_month_fatalities_1989_2023.csv"


def test_synthetic_backtest_model_beats_every_baseline() -> None:
    series, planted = synthetic_series(40, 96, seed=3)
    result = backtest(series, horizons=3)
    assert result.series == 40
    assert result.escalations > 0
    model = result.overall("model")
    for baseline in BASELINES:
        assert result.crps_improvement(baseline) > 0, baseline
    for baseline in ("last", "seasonal", "mean"):
        assert model.brier < result.overall(baseline).brier, baseline
    # The escalations are rarer than the forecasts: a useful ranking beats prevalence.
    prevalence = result.escalations / model.forecasts
    assert model.average_precision > 2 * prevalence
    rows = {(r.series, r.method) for r in result.rows}
    assert ("synthetic-0000", "seasonal") in rows and ("overall", "model") in rows
    assert planted


@pytest.mark.slow
def test_real_ucdp_sahel_maghreb_model_beats_every_baseline_on_crps() -> None:
    values: dict[str, list[float]] = {}
    with (shared_data() / SAHEL).open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            values.setdefault(row["country"], []).append(float(row["best_deaths"]))
    start = parse_period("1989-01", "month")
    series = [Series(name, "month", start, np.array(v)) for name, v in values.items()]
    result = backtest(series, horizons=3)
    # 0.40, 0.51 and 0.41 lower than the point baselines, 0.105 than the climatology.
    for baseline in ("last", "seasonal", "mean"):
        assert result.crps_improvement(baseline) > 0.3, baseline
    assert result.crps_improvement("climatology") > 0.05
    assert 0.85 <= result.overall("model").coverage90 <= 0.95


def test_forecast_gives_ordered_quantiles_for_every_series_and_period() -> None:
    series, _ = synthetic_series(5, 60, seed=4)
    result = forecast(series, 4)
    assert not result.notes
    assert len(result.forecasts) == 20
    first = result.forecasts[0]
    assert first.series == "synthetic-0000" and first.method == "model"
    assert [f.period for f in result.forecasts[:4]] == ["2019-01", "2019-02", "2019-03", "2019-04"]
    for one in result.forecasts:
        levels = [one.quantiles[q] for q in QUANTILES]
        assert levels == sorted(levels)
        assert one.mean >= 0
        assert one.quantiles[0.05] <= one.mean <= one.quantiles[0.95] + 1


def test_too_little_history_falls_back_to_the_historical_baseline_and_says_so() -> None:
    short = [Series("a", "month", parse_period("2024-01", "month"), np.array([0.0, 4, 1, 9, 2]))]
    result = forecast(short, 2)
    assert result.notes and "fewer than the 24" in result.notes[0]
    assert {f.method for f in result.forecasts} == {"historical"}
    one = result.forecasts[0]
    assert one.mean == pytest.approx(3.2)
    # No invented confidence: the band is the spread of what was seen.
    assert one.quantiles[0.05] == 0.0 and one.quantiles[0.95] == 9.0
    with pytest.raises(BacktestError, match="5 periods of history"):
        backtest(short)
    with pytest.raises(SeriesError, match="horizon 13"):
        forecast(short, 13)


def test_all_zero_series_forecast_stays_near_zero() -> None:
    quiet = [Series(f"q{i}", "month", 0, np.zeros(48)) for i in range(3)]
    result = forecast(quiet, 2)
    assert all(f.quantiles[0.95] == 0 for f in result.forecasts)
    assert all(f.mean < 0.5 for f in result.forecasts)


def test_weekly_series_are_forecast_by_iso_week() -> None:
    series, _ = synthetic_series(3, 130, seed=5, frequency="week", start="2022-W01")
    result = forecast(series, 2)
    assert result.forecasts[0].period == series[0].label(130)
    assert "W" in result.forecasts[0].period
