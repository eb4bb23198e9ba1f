"""Forecasts issued from successive origins, refitting the model on a fixed calendar.

For whom: the backtest and the alerts. The model is fitted at the periods whose index is
a multiple of ``refit_every`` (never before two years of history), each time on what was
known then only; an origin uses the latest fit at or before it. Anchoring refits to the
calendar, not to where a run starts, means two runs over the same data issue the same
forecast for the same origin, so alerts found again are the same alerts.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from diapason.anticipate.model import Design, FittedModel, fit_model, min_history
from diapason.anticipate.series import FloatArray

REFIT_EVERY = 12


@dataclass(frozen=True)
class Issued:
    """The model's forecast from one origin (a matrix column) for one horizon."""

    origin: int
    horizon: int
    mean: FloatArray  # one per series
    alpha: FloatArray  # one per series


def fit_column(start: int, origin: int, earliest: int, refit_every: int = REFIT_EVERY) -> int:
    """The column a forecast from ``origin`` is fitted at: the latest period of the refit
    grid (period indexes that are multiples of ``refit_every``) at or before the origin,
    never before ``earliest``."""
    return min(max(origin - (start + origin) % refit_every, earliest), origin)


def rolling_forecasts(
    design: Design,
    first_origin: int,
    last_origin: int,
    horizons: int,
    *,
    refit_every: int = REFIT_EVERY,
) -> Iterator[Issued]:
    """The model's forecasts from every origin in ``first_origin..last_origin`` for
    horizons 1..``horizons`` whose target is in the matrix."""
    last_column = design.counts.shape[1] - 1
    earliest_fit = min_history(design.frequency) - 1
    model: FittedModel | None = None
    fitted_at: int | None = None
    for origin in range(first_origin, last_origin + 1):
        # Refit on the calendar grid, never before the model has two years to learn from.
        fit_at = fit_column(design.start, origin, earliest_fit, refit_every)
        if model is None or fit_at != fitted_at:
            model, fitted_at = fit_model(design, fit_at, horizons), fit_at
        for horizon in range(1, horizons + 1):
            if origin + horizon > last_column:
                break
            mean, alpha = model.predict(design, origin, horizon)
            yield Issued(origin, horizon, mean, alpha)
