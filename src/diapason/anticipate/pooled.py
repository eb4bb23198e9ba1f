"""The pooled regression: one model over every series, in log space, per horizon.

For whom: the ensemble forecast (``ensemble``). As conflict early-warning systems do, one
regression learns from every series together (a single country rarely holds enough
escalations to learn from), with each series' own level among its features:

- **location**: ``log(1 + count)`` at the horizon regressed (weighted least squares) on
  what is known at the origin: the last value, the means of
  ``log(1 + count)`` over 3 periods, one, two and three years, the log of the mean count
  over 3 periods, one and two years (the level), the share of zeros over one and two
  years, the spread and the maximum over the year, the value one season before the target
  and the log of the periods since the last non-zero count;
- **scale**: the log of the absolute residual regressed on the same kind of features;
- **shape**: the standardized residuals' empirical quantiles, separately for five bands of
  the level (mean count over the last year below 0.5, 5, 50, 500, and above): the
  residuals of a series that is nearly always zero do not look like those of a war.

No quantile goes beyond about seven times the largest count of the series' last three
years: a log-linear fit on a few series can extrapolate after one violent month (on the
nine Sahel-Maghreb series alone it issued quantiles in the 10^49 without this bound).

Rows are weighted by ``sqrt(1 + level)``: the forecasts are judged on counts, where a war's
errors are thousands of times a quiet country's; fully proportional weights let a few
wars decide everything (on UCDP their forecasts explode), equal weights neglect them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from diapason.anticipate.periods import Frequency, season_length
from diapason.anticipate.quantiles import GRID
from diapason.anticipate.series import FloatArray

LEVEL_BANDS = (0.5, 5.0, 50.0, 500.0)  # mean count over the last year: band edges
_WEIGHT_POWER = 0.5
_RIDGE = 1e-6
_ABSOLUTE_FLOOR = 0.05  # added to |residual| before its log
_MINIMUM_ROWS = 40
_CEILING = 2.0  # log-space margin above the largest count of the last three years


class PooledError(ValueError):
    """Too little data to fit the pooled regression."""


def _window_means(matrix: FloatArray, width: int) -> FloatArray:
    """``out[:, t]``: mean of the last ``width`` values up to ``t`` (fewer at the start)."""
    cumulative = np.concatenate([np.zeros((matrix.shape[0], 1)), np.cumsum(matrix, axis=1)], 1)
    ends = np.arange(1, matrix.shape[1] + 1)
    starts = np.maximum(ends - width, 0)
    result: FloatArray = (cumulative[:, ends] - cumulative[:, starts]) / (ends - starts)
    return result


def _window_maxima(matrix: FloatArray, width: int) -> FloatArray:
    result = matrix.copy()
    for lag in range(1, width):
        result[:, lag:] = np.maximum(result[:, lag:], matrix[:, :-lag])
    return result


@dataclass(frozen=True)
class LogDesign:
    """Per-origin summaries of a matrix of series (rows: series, columns: periods) in log
    space, from which any (origin, horizon) row of features is read."""

    counts: FloatArray
    frequency: Frequency
    columns: dict[str, FloatArray]

    @classmethod
    def of(cls, counts: FloatArray, frequency: Frequency) -> LogDesign:
        season = season_length(frequency)
        logs = np.log1p(counts)
        squares = _window_means(logs**2, season)
        year = _window_means(logs, season)
        quiet = np.zeros_like(counts)
        run = np.zeros(counts.shape[0])
        for column in range(counts.shape[1]):
            run = np.where(counts[:, column] > 0, 0.0, run + 1.0)
            quiet[:, column] = np.minimum(run, 5 * season)
        columns = {
            "last": logs,
            "log_mean3": _window_means(logs, 3),
            "log_mean_year": year,
            "log_mean_2years": _window_means(logs, 2 * season),
            "log_mean_3years": _window_means(logs, 3 * season),
            "level3": np.log1p(_window_means(counts, 3)),
            "level_year": np.log1p(_window_means(counts, season)),
            "level_2years": np.log1p(_window_means(counts, 2 * season)),
            "zeros_year": _window_means((counts == 0).astype(float), season),
            "zeros_2years": _window_means((counts == 0).astype(float), 2 * season),
            "spread_year": np.sqrt(np.maximum(squares - year**2, 0.0)),
            "max_year": _window_maxima(logs, season),
            "max_3years": _window_maxima(logs, 3 * season),
            "quiet": np.log1p(quiet),
        }
        return cls(counts, frequency, columns)

    def seasonal_columns(self, origins: np.ndarray, horizon: int) -> np.ndarray:
        """The column one season before each target, or two when one is after the origin."""
        season = season_length(self.frequency)
        column = origins + horizon - season
        result: np.ndarray = np.maximum(np.where(column > origins, column - season, column), 0)
        return result

    def features(self, names: tuple[str, ...], origins: np.ndarray, horizon: int) -> FloatArray:
        """Rows for every series at each origin (series-major order)."""
        series = self.counts.shape[0]
        parts = []
        for name in names:
            if name == "constant":
                parts.append(np.ones((series, len(origins))))
            elif name == "seasonal":
                parts.append(np.log1p(self.counts[:, self.seasonal_columns(origins, horizon)]))
            else:
                parts.append(self.columns[name][:, origins])
        return np.stack([part.reshape(-1) for part in parts], axis=1)

    def level(self, origins: np.ndarray) -> FloatArray:
        """Mean count over the last year at each origin (series-major order)."""
        result: FloatArray = np.expm1(self.columns["level_year"][:, origins]).reshape(-1)
        return result


LOCATION = (
    "constant",
    "last",
    "log_mean3",
    "log_mean_year",
    "log_mean_2years",
    "log_mean_3years",
    "level3",
    "level_year",
    "level_2years",
    "zeros_year",
    "zeros_2years",
    "spread_year",
    "max_year",
    "seasonal",
    "quiet",
)
SCALE = (
    "constant",
    "last",
    "log_mean3",
    "log_mean_year",
    "log_mean_2years",
    "zeros_year",
    "zeros_2years",
    "spread_year",
    "max_year",
    "quiet",
)


def _weighted_least_squares(
    matrix: FloatArray, target: FloatArray, weight: FloatArray
) -> FloatArray:
    weighted = matrix * weight[:, None]
    gram = matrix.T @ weighted
    ridge = _RIDGE * float(np.trace(gram)) / len(gram) * np.eye(len(gram))
    result: FloatArray = np.linalg.solve(gram + ridge, weighted.T @ target).astype(float)
    return result


def level_bands(level: FloatArray) -> np.ndarray:
    """The band (0..4) of each level in ``LEVEL_BANDS``."""
    result: np.ndarray = np.digitize(level, LEVEL_BANDS)
    return result


@dataclass(frozen=True)
class PooledFit:
    """The fitted regression for one horizon."""

    horizon: int
    location: FloatArray
    scale: FloatArray
    shapes: FloatArray  # (bands, GRID): standardized residual quantiles per level band

    def quantiles(self, design: LogDesign, origin: int) -> FloatArray:
        """Quantile rows (``GRID``) of every series ``horizon`` periods after ``origin``."""
        origins = np.array([origin])
        centre = design.features(LOCATION, origins, self.horizon) @ self.location
        spread = np.exp(design.features(SCALE, origins, self.horizon) @ self.scale)
        shape = self.shapes[level_bands(design.level(origins))]
        # A log-linear fit can extrapolate (few series, one violent month): no quantile goes
        # beyond e**2 (about 7) times the largest count of the last three years, plus one.
        ceiling = design.columns["max_3years"][:, origin] + _CEILING
        logs = np.minimum(centre[:, None] + spread[:, None] * shape, ceiling[:, None])
        result: FloatArray = np.maximum(np.expm1(logs), 0.0)
        return result


def fit_pooled(design: LogDesign, last_known: int, horizon: int) -> PooledFit:
    """Fit the horizon's regression on the rows whose target is known by column
    ``last_known`` (inclusive), from origins with a year of past."""
    first = season_length(design.frequency) - 1
    origins = np.arange(first, last_known - horizon + 1)
    rows = len(origins) * design.counts.shape[0]
    if rows < _MINIMUM_ROWS:
        raise PooledError(f"{rows} training rows for horizon {horizon}: too few to fit")
    target = np.log1p(design.counts[:, origins + horizon].reshape(-1))
    level = design.level(origins)
    weight = (1.0 + level) ** _WEIGHT_POWER
    location_rows = design.features(LOCATION, origins, horizon)
    location = _weighted_least_squares(location_rows, target, weight)
    residual = target - location_rows @ location
    scale_rows = design.features(SCALE, origins, horizon)
    scale = _weighted_least_squares(scale_rows, np.log(np.abs(residual) + _ABSOLUTE_FLOOR), weight)
    standardized = residual / np.exp(scale_rows @ scale)
    bands = level_bands(level)
    overall = np.quantile(standardized, GRID)
    shapes = np.stack(
        [
            np.quantile(standardized[bands == band], GRID)
            if np.sum(bands == band) >= _MINIMUM_ROWS
            else overall
            for band in range(len(LEVEL_BANDS) + 1)
        ]
    )
    return PooledFit(horizon, location, scale, shapes)
