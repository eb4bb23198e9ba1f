"""Forecasts of the next periods with their predictive distributions.

For whom: ``diapason anticipate forecast`` and the web interface (``forecast`` gives the
mean and quantiles of every series and future period). The model (``ensemble``) is
fitted on all the series given together, its blend and calibration learned from the
forecasts it would have issued over the last ten years; with less than two years of
history the forecast falls back to the historical baseline: the mean of the past and its
empirical quantiles, no narrower than what was seen, with a note saying so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from diapason.anticipate.ensemble import (
    ensemble_forecasts,
    grid_mean,
    learning_span,
    min_history,
)
from diapason.anticipate.periods import format_period
from diapason.anticipate.quantiles import SCORE_LEVELS, score_quantiles
from diapason.anticipate.series import Series, SeriesError, align

QUANTILES = SCORE_LEVELS  # the nine levels the forecasts are scored at (issue 24)
MAX_HORIZON = 12


@dataclass(frozen=True)
class Forecast:
    """The predictive distribution of one series in one future period."""

    series: str
    period: str
    horizon: int
    mean: float
    quantiles: dict[float, float]
    method: str  # "model" or "historical" (the fallback)

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of ``diapason anticipate forecast --json``."""
        return {
            "series": self.series,
            "period": self.period,
            "mean": round(self.mean, 4),
            "quantiles": {f"{q:g}": value for q, value in self.quantiles.items()},
        }


@dataclass
class ForecastSet:
    forecasts: list[Forecast]
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"forecasts": [one.as_dict() for one in self.forecasts]}


def forecast(series: Sequence[Series], horizon: int = 6) -> ForecastSet:
    """Forecast every series 1..``horizon`` periods past its last period."""
    if not 1 <= horizon <= MAX_HORIZON:
        raise SeriesError(f"horizon {horizon}: must be 1 to {MAX_HORIZON} periods")
    aligned = align(series)
    length = aligned.counts.shape[1]
    last = length - 1
    notes: list[str] = []
    result = ForecastSet([], notes)
    if length < min_history(aligned.frequency):
        notes.append(
            f"{length} periods of history, fewer than the {min_history(aligned.frequency)} "
            "the model needs: every series falls back to the historical baseline (mean and "
            "empirical quantiles of the past)"
        )
        for step in range(1, horizon + 1):
            period = format_period(aligned.start + last + step, aligned.frequency)
            for row, name in enumerate(aligned.names):
                past = aligned.counts[row]
                quantiles = np.quantile(past, QUANTILES, method="inverted_cdf")
                result.forecasts.append(
                    Forecast(
                        name,
                        period,
                        step,
                        float(np.mean(past)),
                        {q: float(v) for q, v in zip(QUANTILES, quantiles, strict=True)},
                        "historical",
                    )
                )
    else:
        # Issue from far enough back that the blend and calibration in force at the last
        # origin are those a backtest over the whole history would use there.
        first = max(
            min_history(aligned.frequency) - 1, last - learning_span(aligned.frequency, horizon)
        )
        for issued in ensemble_forecasts(
            aligned.counts, aligned.frequency, aligned.start, first, last, horizon
        ):
            if issued.origin != last:
                continue
            period = format_period(aligned.start + last + issued.horizon, aligned.frequency)
            levels = score_quantiles(issued.quantiles)
            means = grid_mean(issued.quantiles)
            for row, name in enumerate(aligned.names):
                result.forecasts.append(
                    Forecast(
                        name,
                        period,
                        issued.horizon,
                        float(means[row]),
                        {q: float(levels[row, k]) for k, q in enumerate(QUANTILES)},
                        "model",
                    )
                )
    result.forecasts.sort(key=lambda one: (one.series, one.horizon))
    return result
