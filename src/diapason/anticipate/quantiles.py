"""Predictive distributions held as quantiles on a fixed grid of levels.

For whom: the ensemble forecast (``ensemble``), the backtest and ``forecast``. Every
method's forecast of one series and period is its quantile function read at ``GRID``;
blending, calibrating and scoring work on these rows directly:

- ``SCORE_LEVELS``, the nine levels the forecasts are scored and published at (the 5-95 %
  and 25-75 % intervals among them);
- ``cdf``: the distribution function read back from the grid (linear between levels, a
  tail beyond the last level decaying like the last stretch of the grid in log space), for
  the probability of exceeding a threshold and the PIT;
- ``at_levels``: the quantiles at other levels (linear between grid levels), which is how
  a calibration map is applied;
- the two distributions built from a series' own past: ``climatology_quantiles`` (the
  empirical quantiles of the last two years) and ``recent_quantiles`` (the recency-weighted
  kernel climatology: the past values, weighted by a half-life, each spread by a kernel in
  log space).
"""

from __future__ import annotations

import numpy as np
from scipy import special

from diapason.anticipate.series import FloatArray

SCORE_LEVELS = (0.05, 0.1, 0.25, 0.4, 0.5, 0.6, 0.75, 0.9, 0.95)
GRID: FloatArray = np.array(
    [0.005, 0.01, 0.025, *(round(0.05 * k, 2) for k in range(1, 20)), 0.975, 0.99, 0.995]
)
SCORE_COLUMNS = np.array([int(np.argmin(np.abs(GRID - level))) for level in SCORE_LEVELS])
_KERNEL_POINTS = 96  # points of log-space grid where a kernel climatology's CDF is read


def score_quantiles(grid: FloatArray) -> FloatArray:
    """The ``SCORE_LEVELS`` columns of grid rows."""
    result: FloatArray = grid[:, SCORE_COLUMNS]
    return result


def point_grid(values: FloatArray) -> FloatArray:
    """A point forecast as grid rows: every quantile is the value."""
    return np.repeat(np.asarray(values, dtype=float)[:, None], len(GRID), axis=1)


def at_levels(grid: FloatArray, levels: FloatArray) -> FloatArray:
    """Quantiles at ``levels`` (one array of levels for every row, or one row of levels per
    grid row): linear between grid levels, and beyond the grid's ends the tails of ``cdf``
    (down to 0 at level 0; up the exponential tail in log space towards level 1)."""
    levels = np.broadcast_to(
        np.asarray(levels, dtype=float), grid.shape[:1] + np.shape(levels)[-1:]
    )
    clamped = np.clip(levels, GRID[0], GRID[-1])
    index = np.clip(np.searchsorted(GRID, clamped, side="right") - 1, 0, len(GRID) - 2)
    fraction = (clamped - GRID[index]) / (GRID[index + 1] - GRID[index])
    rows = np.arange(len(grid))[:, None]
    low, high = grid[rows, index], grid[rows, index + 1]
    result: FloatArray = low + fraction * (high - low)
    under = levels < GRID[0]
    if np.any(under):
        first = np.broadcast_to(np.log1p(grid[:, :1]), levels.shape)
        result[under] = np.expm1(first[under] * levels[under] / GRID[0])
    over = levels > GRID[-1]
    if np.any(over):
        top = np.broadcast_to(np.log1p(grid[:, -1:]), levels.shape)
        scale = np.broadcast_to(_tail_scale(grid)[:, None], levels.shape)
        survival = np.maximum(1.0 - levels[over], 1e-9)
        result[over] = np.expm1(top[over] + scale[over] * np.log((1.0 - GRID[-1]) / survival))
    return result


def cdf(grid: FloatArray, x: FloatArray, *, strict: bool = False) -> FloatArray:
    """``P(Y <= x)`` (``P(Y < x)`` when ``strict``) for each row's distribution.

    Between grid levels the distribution function is linear; a quantile repeated over
    several levels is an atom (the zeros of a quiet series). Above the last level the tail
    decays exponentially in ``log(1 + x)`` at the rate of the grid between the 95 % and the
    last level, so that thresholds far above every quantile are still ranked; below the
    first level the function falls linearly in ``log(1 + x)`` to 0 at 0.
    """
    x = np.asarray(x, dtype=float)
    below = (grid < x[:, None]) if strict else (grid <= x[:, None])
    count = below.sum(axis=1)
    result = np.empty(len(grid))
    inside = (count > 0) & (count < len(GRID))
    rows = np.nonzero(inside)[0]
    index = count[inside] - 1
    low, high = grid[rows, index], grid[rows, index + 1]
    fraction = np.where(high > low, (x[inside] - low) / np.where(high > low, high - low, 1.0), 0.0)
    result[inside] = GRID[index] + np.clip(fraction, 0.0, 1.0) * (GRID[index + 1] - GRID[index])
    under = count == 0
    first = grid[under, 0]
    scaled = np.log1p(np.maximum(x[under], 0.0)) / np.log1p(np.maximum(first, 1e-12))
    result[under] = np.where(first > 0, GRID[0] * scaled, 0.0)
    over = count == len(GRID)
    tail = _upper_tail(grid[over], x[over])
    # Exactly at the last quantile (an atom there) the strict function is the grid level.
    result[over] = np.where(strict & (tail == 1.0 - GRID[-1]), GRID[-1], 1.0 - tail)
    return result


def _upper_tail(grid: FloatArray, x: FloatArray) -> FloatArray:
    """``P(Y > x)`` for values at or above each row's last quantile: the last level's mass,
    decaying exponentially in ``log(1 + x)`` at the rate between the 95 % level and it."""
    excess = np.maximum(np.log1p(np.maximum(x, 0.0)) - np.log1p(grid[:, -1]), 0.0)
    result: FloatArray = (1.0 - GRID[-1]) * np.exp(-excess / _tail_scale(grid))
    return result


def _tail_scale(grid: FloatArray) -> FloatArray:
    """The upper tail's scale in ``log(1 + x)``: the log-space distance from the 95 % level
    to the last one, per e-fold of the survival between them (at least 0.05 of a log)."""
    top, shoulder = np.log1p(grid[:, -1]), np.log1p(grid[:, SCORE_COLUMNS[-1]])
    drop = np.log((1.0 - SCORE_LEVELS[-1]) / (1.0 - GRID[-1]))
    result: FloatArray = np.maximum(top - shoulder, 0.05) / drop
    return result


def exceedance(grid: FloatArray, threshold: FloatArray) -> FloatArray:
    """``P(Y >= threshold)`` for integer thresholds: the counts are whole numbers, so the
    distribution is read half a unit below. Computed as a tail, not as ``1 - cdf``, so that
    thresholds far above every quantile keep their (tiny) order."""
    x = np.asarray(threshold, dtype=float) - 0.5
    result: FloatArray = 1.0 - cdf(grid, x)
    over = grid[:, -1] <= x
    result[over] = _upper_tail(grid[over], x[over])
    return result


def randomized_pit(grid: FloatArray, observed: FloatArray, uniform: FloatArray) -> FloatArray:
    """The probability integral transform of each observation, spread uniformly over an
    atom (``P(Y < y) + u * P(Y = y)``): uniform on [0, 1] when the forecasts are calibrated,
    counts and zeros included."""
    below = cdf(grid, observed, strict=True)
    at_most = cdf(grid, observed)
    result: FloatArray = below + uniform * (at_most - below)
    return result


def climatology_quantiles(past: FloatArray) -> FloatArray:
    """Empirical quantiles of each row of ``past`` at ``GRID`` (plotting positions
    k/(n+1), numpy's ``weibull``: the most accurate empirical rule on the UCDP backtest)."""
    result: FloatArray = np.quantile(past, GRID, axis=1, method="weibull").T
    return result


def recent_quantiles(past: FloatArray, half_life: float, bandwidth: float) -> FloatArray:
    """The recency-weighted kernel climatology of each row of ``past`` (oldest first).

    The value ``k`` periods before the last has weight ``0.5 ** (k / half_life)``; a zero
    stays an atom at zero; a positive count ``c`` is spread as a normal of standard
    deviation ``bandwidth`` around ``log(1 + c)``. The distribution function is read on a
    grid of log-space points and inverted linearly.
    """
    rows, width = past.shape
    weights = 0.5 ** (np.arange(width)[::-1] / half_life)
    weights /= weights.sum()
    logs = np.log1p(past)
    positive = past > 0
    top = logs.max(axis=1) + 4.0 * bandwidth
    points = np.linspace(0.0, 1.0, _KERNEL_POINTS)[None, :] * top[:, None]
    spread = special.ndtr((points[:, :, None] - logs[:, None, :]) / bandwidth)
    function = np.where(positive[:, None, :], spread, 1.0) @ weights
    result = np.empty((rows, len(GRID)))
    everywhere = np.arange(rows)
    for column, level in enumerate(GRID):
        index = np.minimum((function < level).sum(axis=1), _KERNEL_POINTS - 1)
        previous = np.maximum(index - 1, 0)
        low, high = function[everywhere, previous], function[everywhere, index]
        fraction = np.where(high > low, (level - low) / np.where(high > low, high - low, 1.0), 0.0)
        start, end = points[everywhere, previous], points[everywhere, index]
        value = np.where(index == 0, 0.0, start + np.clip(fraction, 0.0, 1.0) * (end - start))
        result[:, column] = np.expm1(value)
    return result
