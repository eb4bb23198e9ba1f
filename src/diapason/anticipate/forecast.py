"""Forecasts of the next periods with their predictive distributions.

For whom: ``diapason anticipate forecast`` and the web interface (``forecast`` gives the
mean and quantiles of every series and future period). The model (``model``) is fitted on
all the series given together; with less than two years of history, or when it cannot be
fitted, the forecast falls back to the historical baseline: the mean of the past and its
empirical quantiles, no narrower than what was seen, with a note saying so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from diapason.anticipate.model import Design, ModelError, fit_model, min_history, nb_parameters
from diapason.anticipate.periods import format_period
from diapason.anticipate.series import Series, SeriesError, align

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
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
    model = None
    if length < min_history(aligned.frequency):
        notes.append(
            f"{length} periods of history, fewer than the {min_history(aligned.frequency)} "
            "the model needs: every series falls back to the historical baseline (mean and "
            "empirical quantiles of the past)"
        )
    else:
        design = Design.of(aligned.counts, aligned.frequency, aligned.start)
        try:
            model = fit_model(design, last, horizon)
        except ModelError as error:
            notes.append(f"the model cannot be fitted ({error}): historical baseline instead")
    result = ForecastSet([], notes)
    for step in range(1, horizon + 1):
        period = format_period(aligned.start + last + step, aligned.frequency)
        if model is not None:
            mean, alpha = model.predict(design, last, step)
            size, p = nb_parameters(mean, alpha)
            levels = [stats.nbinom.ppf(q, size, p) for q in QUANTILES]
            for row, name in enumerate(aligned.names):
                result.forecasts.append(
                    Forecast(
                        name,
                        period,
                        step,
                        float(mean[row]),
                        {q: float(level[row]) for q, level in zip(QUANTILES, levels, strict=True)},
                        "model",
                    )
                )
        else:
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
    result.forecasts.sort(key=lambda one: (one.series, one.horizon))
    return result
