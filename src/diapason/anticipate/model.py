"""The forecasting model: a negative binomial regression on lags and season.

For whom: ``forecast``, ``backtest`` and ``alerts``. Conflict and event counts are
overdispersed (a quiet series erupts), so the predictive distribution is a negative
binomial (NB2: variance ``mu + alpha * mu**2``). Its mean is a non-negative combination
of what is known at the origin:

- the last count, the mean of the last 3 periods, of the last year, of the last 3 years
  (levels at several speeds: recent eruptions and the long run);
- the count one season before the target (the seasonal naive forecast);
- a constant (a quiet series is not certain to stay at zero).

Its dispersion is ``log alpha = g0 + g1 * log(1 + mean of the last year) + g2 * share of
the last year's periods with no event``: a quiet series that erupts now and then needs a
far wider relative spread than a war reported every month.

One model per horizon (direct forecasting: the horizon-h model maps what is known at the
origin to the count h periods later, so no simulation is needed for multi-step
distributions). Coefficients are pooled over every series given together (a global model,
as ViEWS fits): a single series rarely holds enough escalations to learn from.

Why an identity link with non-negative weights rather than the usual log link: on monthly
fatalities a log-linear fit extrapolates (weights on log levels summing above one) and
issues means in the millions after one violent month. A non-negative combination of
levels never leaves the range of what the series has done, and still learns how fast to
follow an eruption and how much weight the season deserves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

from diapason.anticipate.periods import Frequency, season_length
from diapason.anticipate.scores import crps_negative_binomial
from diapason.anticipate.series import FloatArray

FEATURES = ("constant", "last", "mean3", "mean_year", "mean_3years", "seasonal", "seasonal_mean")
_ALPHA_BOUNDS = (-7.0, 4.0)  # log alpha: from nearly Poisson to very dispersed
_INTERCEPTS = np.linspace(-4.0, 5.0, 10)
_SLOPES = (-1.2, -0.9, -0.6, -0.3, 0.0)
_ZERO_SLOPES = (-2.0, -1.0, 0.0, 1.0, 2.0, 3.0)
_STEPS = (-1.5, -1.0, -0.5, 0.0, 0.5)
_FINE_STEPS = (-0.25, 0.0, 0.25)
_DISPERSION_ROWS = 1200  # rows the dispersion is fitted on (a fixed, evenly spread subsample)
_MINIMUM_MEAN = 1e-3


class ModelError(ValueError):
    """Too little data to fit the model."""


def min_history(frequency: Frequency) -> int:
    """Periods a series needs before the model forecasts it: two years (one year of lags,
    one year of rows to learn from). Shorter series fall back to the historical baseline."""
    return 2 * season_length(frequency)


def _window_means(matrix: FloatArray, width: int) -> FloatArray:
    """``out[:, t]``: mean of the last ``width`` values up to ``t`` (fewer at the start)."""
    cumulative = np.cumsum(matrix, axis=1)
    padded = np.concatenate([np.zeros((matrix.shape[0], 1)), cumulative], axis=1)
    ends = np.arange(1, matrix.shape[1] + 1)
    starts = np.maximum(ends - width, 0)
    result: FloatArray = (padded[:, ends] - padded[:, starts]) / (ends - starts)
    return result


@dataclass(frozen=True)
class Design:
    """Per-origin summaries of a matrix of series (rows: series, columns: periods), from
    which the features of any (origin, horizon) pair are read without recomputing."""

    counts: FloatArray
    frequency: Frequency
    start: int
    mean3: FloatArray
    mean_year: FloatArray
    mean_3years: FloatArray
    zero_year: FloatArray  # share of the last year's periods with no event

    @classmethod
    def of(cls, counts: FloatArray, frequency: Frequency, start: int) -> Design:
        season = season_length(frequency)
        return cls(
            counts,
            frequency,
            start,
            _window_means(counts, 3),
            _window_means(counts, season),
            _window_means(counts, 3 * season),
            _window_means((counts == 0).astype(float), season),
        )

    def seasonal_column(self, origin: int, horizon: int) -> int:
        """The column one season before the target, or two when one is after the origin."""
        season = season_length(self.frequency)
        column = origin + horizon - season
        return column - season if column > origin else column

    def features(self, origins: np.ndarray, horizon: int) -> FloatArray:
        """Feature rows for every series at each origin column (series-major order):
        the ``FEATURES`` of the mean, then the share of zeros over the last year (for the
        dispersion only). Origins need a year of past."""
        n_series = self.counts.shape[0]
        season = season_length(self.frequency)
        seasonal = np.array([self.seasonal_column(int(o), horizon) for o in origins])
        # The same season in up to the last three years (those known at the origin).
        same_season = [seasonal - k * season for k in range(3)]
        known = [np.clip(c, 0, None) for c in same_season]
        present = np.stack([(c >= 0).astype(float) for c in same_season])
        seasonal_mean = sum(
            self.counts[:, c] * w for c, w in zip(known, present, strict=True)
        ) / np.maximum(present.sum(axis=0), 1.0)
        columns = [
            np.ones((n_series, len(origins))),
            self.counts[:, origins],
            self.mean3[:, origins],
            self.mean_year[:, origins],
            self.mean_3years[:, origins],
            self.counts[:, seasonal],
            seasonal_mean,
            self.zero_year[:, origins],
        ]
        return np.stack([column.reshape(-1) for column in columns], axis=1)


_MEAN_WIDTH = len(FEATURES)


def _dispersion_features(features: FloatArray) -> FloatArray:
    """Constant, log of the yearly level, share of zeros over the year."""
    return np.stack(
        [np.ones(len(features)), np.log1p(features[:, 3]), features[:, _MEAN_WIDTH]], axis=1
    )


@dataclass(frozen=True)
class HorizonFit:
    """The fitted regression for one horizon: mean weights and dispersion coefficients."""

    horizon: int
    weights: FloatArray
    dispersion: FloatArray
    rows: int

    def mean(self, features: FloatArray) -> FloatArray:
        result: FloatArray = np.maximum(features[:, :_MEAN_WIDTH] @ self.weights, _MINIMUM_MEAN)
        return result

    def alpha(self, features: FloatArray) -> FloatArray:
        log_alpha = _dispersion_features(features) @ self.dispersion
        result: FloatArray = np.exp(np.clip(log_alpha, *_ALPHA_BOUNDS))
        return result


def _nnls(matrix: FloatArray, target: FloatArray) -> FloatArray:
    """Non-negative least squares through the Gram matrix: the same solution as on the
    rows, at the cost of a problem as small as the number of features."""
    gram = matrix.T @ matrix
    factor = np.linalg.cholesky(gram + 1e-9 * np.trace(gram) * np.eye(len(gram)))
    solution, _ = optimize.nnls(factor.T, np.linalg.solve(factor, matrix.T @ target))
    result: FloatArray = solution
    return result


def _mean_crps(gamma: FloatArray, y: FloatArray, mu: FloatArray, design: FloatArray) -> float:
    alpha = np.exp(np.clip(design @ gamma, *_ALPHA_BOUNDS))
    return float(np.mean(crps_negative_binomial(y, mu, alpha)))


def fit_horizon(features: FloatArray, targets: FloatArray, horizon: int) -> HorizonFit:
    """Fit the regression of ``targets`` on ``features`` (count-space levels).

    The mean: non-negative least squares on errors relative to the series' level over the
    last year, the level weights summing to one. The dispersion: minimum
    CRPS (Gneiting et al. 2005) on a subsample. Maximum likelihood is not used for it on
    purpose: on counts as erratic as monthly fatalities it drives alpha to its bound (most
    of the mass at 0 and a scale-free tail), which scores far worse on CRPS, the score the
    forecasts are judged by.
    """
    rows = len(features)
    if rows < 3 * _MEAN_WIDTH:
        raise ModelError(f"{rows} training rows for horizon {horizon}: too few to fit")
    levels = features[:, :_MEAN_WIDTH]
    # Errors relative to the series' yearly level: with absolute errors the few biggest
    # wars would decide the weights for every series (measured on UCDP: errors scaled by
    # the square root of the level give a 3.7 % higher CRPS; an earlier, unscaled version
    # lost to the historical baseline).
    scale = 1.0 + levels[:, 3]
    scaled, scaled_targets = levels / scale[:, None], targets / scale
    # The level weights sum to one (a row weighted far above the others enforces it): the
    # forecast is a blend of levels the series has shown, plus a small constant.
    magnitude = 1e3 * (1.0 + float(np.max(scaled)))
    anchor = magnitude * np.r_[0.0, np.ones(_MEAN_WIDTH - 1)]
    weights = _nnls(np.vstack([scaled, anchor]), np.r_[scaled_targets, magnitude])
    sample = np.linspace(0, rows - 1, min(rows, _DISPERSION_ROWS)).astype(int)
    mu = np.maximum(levels[sample] @ weights, _MINIMUM_MEAN)
    observed = targets[sample]
    design = _dispersion_features(features[sample])

    def score(gamma: FloatArray) -> float:
        return _mean_crps(gamma, observed, mu, design)

    # A grid, not a local search: the CRPS surface is flat and ragged far from its minimum.
    # Intercept and level slope first, then the zeros' share with the intercept, then a
    # finer intercept.
    best = min((np.array([g0, g1, 0.0]) for g1 in _SLOPES for g0 in _INTERCEPTS), key=score)
    best = min(
        (best + np.array([step, 0.0, g2]) for g2 in _ZERO_SLOPES for step in _STEPS),
        key=score,
    )
    best = min((best + np.array([step, 0.0, 0.0]) for step in _FINE_STEPS), key=score)
    return HorizonFit(horizon, weights, best, rows)


@dataclass(frozen=True)
class FittedModel:
    """One fitted regression per horizon 1..H, for a matrix of series on one calendar."""

    fits: tuple[HorizonFit, ...]

    def predict(self, design: Design, origin: int, horizon: int) -> tuple[FloatArray, FloatArray]:
        """Mean and alpha of every series' forecast ``horizon`` periods after ``origin``."""
        fit = self.fits[horizon - 1]
        features = design.features(np.array([origin]), horizon)
        return fit.mean(features), fit.alpha(features)


def training_origins(design: Design, last_known: int, horizon: int) -> np.ndarray:
    """Origins whose target is known by column ``last_known`` and that have a year of past."""
    first = season_length(design.frequency) - 1
    return np.arange(first, last_known - horizon + 1)


def fit_model(design: Design, last_known: int, horizons: int) -> FittedModel:
    """Fit horizons 1..``horizons`` on what is known up to column ``last_known``
    (inclusive): no target after it is used, so a backtest never sees its future."""
    fits = []
    for horizon in range(1, horizons + 1):
        origins = training_origins(design, last_known, horizon)
        if len(origins) == 0:
            raise ModelError(f"no training rows for horizon {horizon}: history too short")
        features = design.features(origins, horizon)
        targets = design.counts[:, origins + horizon].reshape(-1)
        fits.append(fit_horizon(features, targets, horizon))
    return FittedModel(tuple(fits))


def nb_parameters(mean: FloatArray, alpha: FloatArray) -> tuple[FloatArray, FloatArray]:
    """scipy's ``nbinom(n, p)`` parameters for an NB2 with this mean and alpha."""
    size = 1.0 / alpha
    return size, size / (size + mean)
