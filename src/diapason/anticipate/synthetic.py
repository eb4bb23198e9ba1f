"""Synthetic count series with planted escalations: data whose truth is known.

For whom: tests and the benchmark. Each series has its own base level (from about one to
a few hundred events a period), a yearly season, a slowly wandering level and negative
binomial noise; some series get one escalation episode, a few periods at several times
the usual level, whose periods are returned as the truth the alerts should find.
``lognormal_truth`` draws observations from known distributions, with their true (or a
deliberately mis-spread) forecast, for the calibration and blending tests.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from diapason.anticipate.periods import Frequency, parse_period, season_length
from diapason.anticipate.quantiles import GRID
from diapason.anticipate.series import FloatArray, Series


@dataclass(frozen=True)
class Escalation:
    """A planted episode: series, first and last offset (inclusive), factor."""

    series: str
    first: int
    last: int
    factor: float


def synthetic_series(
    n_series: int,
    n_periods: int,
    *,
    seed: int = 0,
    frequency: Frequency = "month",
    start: str = "2014-01",
    escalation_share: float = 0.5,
) -> tuple[list[Series], list[Escalation]]:
    """``n_series`` series of ``n_periods`` periods and the escalations planted in them
    (in the last two thirds of each series, so there is history before them)."""
    rng = np.random.default_rng(seed)
    season = season_length(frequency)
    first_period = parse_period(start, frequency)
    series: list[Series] = []
    planted: list[Escalation] = []
    for index in range(n_series):
        name = f"synthetic-{index:04d}"
        base = np.exp(rng.uniform(0.0, 5.5))
        phase = rng.uniform(0, 2 * np.pi)
        amplitude = rng.uniform(0.0, 0.5)
        wander = np.cumsum(rng.normal(0.0, 0.05, n_periods))
        t = np.arange(n_periods)
        level = base * np.exp(amplitude * np.sin(2 * np.pi * t / season + phase) + wander)
        if rng.uniform() < escalation_share and n_periods >= 36:
            first = int(rng.integers(n_periods // 3, n_periods - 6))
            length = int(rng.integers(2, 6))
            last = min(first + length - 1, n_periods - 1)
            factor = float(rng.uniform(4.0, 8.0))
            level[first : last + 1] *= factor
            planted.append(Escalation(name, first, last, factor))
        alpha = 0.15
        size = 1.0 / alpha
        counts = rng.negative_binomial(size, size / (size + level)).astype(float)
        series.append(Series(name, frequency, first_period, counts))
    return series, planted


def lognormal_truth(
    rows: int, *, seed: int = 0, sigma: float = 1.0, forecast_sigma: float | None = None
) -> tuple[FloatArray, FloatArray]:
    """Observations from known log-normal distributions (a level per row, from about 1 to
    150) and a forecast of them as quantile rows on ``quantiles.GRID``: the true
    distribution, or with ``forecast_sigma`` a deliberately mis-spread one around the same
    median (for testing calibration and blending against a known truth)."""
    rng = np.random.default_rng(seed)
    centre = rng.uniform(0.0, 5.0, rows)
    observed = np.exp(centre + sigma * rng.standard_normal(rows))
    spread = sigma if forecast_sigma is None else forecast_sigma
    grid = np.exp(centre[:, None] + spread * stats.norm.ppf(GRID)[None, :])
    return observed, grid
