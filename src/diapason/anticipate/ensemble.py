"""The forecast: a pooled regression blended with two climatologies, then calibrated.

For whom: ``forecast`` and the backtest. From every origin, three predictive
distributions of each series ``h`` periods ahead, each as quantiles on ``GRID``:

- ``pooled``: the regression over every series (``pooled``), the series' level among its
  features;
- ``recent``: the recency-weighted kernel climatology of the last two years (half-life 2
  periods, log-space bandwidth 0.3): where the series has been lately, as a distribution;
- ``climatology``: the empirical quantiles of the last two years.

**Blending**: the quantiles are averaged with weights per horizon (on a simplex grid,
step 0.05), the weights that minimized the pinball CRPS of the forecasts issued from past
origins whose target was known at the refit (the last ten years of them): where the
regression has been unsure, the climatologies take over. Before a year of scored forecasts
exists the weights are ``PRIOR_WEIGHTS``.

**Calibration**: the forecasts from past origins, blended with the weights just chosen,
give PIT values (the probability each forecast gave to a count at most the one observed,
spread over the atoms of a count distribution); per horizon and band of the series' level
(``pooled.LEVEL_BANDS``) below 50 a period, the quantile at level ``p`` becomes the blended
quantile at the level that the past PITs put at ``p`` (quantile recalibration, Kuleshov et
al. 2018: conformal in spirit, fitted on past origins only). The bands of wars are left
as blended: few rows, and their calibration cost CRPS on the development period.

Everything is refitted on the calendar grid of ``rolling`` (every 12 periods), each time
from what was known at the refit only, so a backtest never sees its future and
``forecast`` issues what the backtest would have issued from the same origin.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from diapason.anticipate.periods import Frequency, season_length
from diapason.anticipate.pooled import (
    LogDesign,
    PooledError,
    PooledFit,
    fit_pooled,
    level_bands,
)
from diapason.anticipate.quantiles import (
    GRID,
    SCORE_COLUMNS,
    SCORE_LEVELS,
    at_levels,
    climatology_quantiles,
    randomized_pit,
    recent_quantiles,
)
from diapason.anticipate.rolling import REFIT_EVERY, fit_column
from diapason.anticipate.scores import pinball_crps
from diapason.anticipate.series import FloatArray

COMPONENTS = ("pooled", "recent", "climatology")
PRIOR_WEIGHTS = (0.25, 0.5, 0.25)
HALF_LIFE = 2.0
BANDWIDTH = 0.3
CLIMATE_SEASONS = 2  # the climatologies look back two years
STACK_SEASONS = 10  # the weights learn from the last ten years of forecasts
CALIBRATION_SEASONS = 3  # the calibration from the last three
_WEIGHT_STEP = 0.05
_STACK_ROWS = 6_000  # rows the weights are chosen on (an even subsample beyond)
_CALIBRATION_MINIMUM = 50  # PIT values a horizon and level band needs to be calibrated
_CALIBRATION_ROUNDS = 10
CALIBRATED_BANDS = (0, 1, 2)  # levels below 50 a period (see the module's docstring)


def min_history(frequency: Frequency) -> int:
    """Periods before the first forecast: two years, the climatologies' window."""
    return CLIMATE_SEASONS * season_length(frequency)


@dataclass(frozen=True)
class Issued:
    """The forecast from one origin (a matrix column) for one horizon: quantile rows on
    ``GRID``, one per series."""

    origin: int
    horizon: int
    quantiles: FloatArray
    weights: tuple[float, ...]


@dataclass(frozen=True)
class _Record:
    """What a past forecast leaves for learning, once its target is known."""

    components: np.ndarray  # (components, series, GRID), single precision
    uniform: FloatArray  # the draws that spread each PIT over its atom
    bands: np.ndarray
    observed: FloatArray


@dataclass(frozen=True)
class _Learned:
    """Blend weights (per horizon) and calibration maps (per horizon and level band)."""

    weights: dict[int, tuple[float, ...]]
    maps: dict[tuple[int, int], FloatArray]


def _simplex(step: float, around: tuple[float, ...] | None = None) -> list[tuple[float, ...]]:
    """Weight triples on a simplex grid; near ``around`` only, when given."""
    if around is None:
        points = np.arange(0.0, 1.0 + 1e-9, step)
        pairs = itertools.product(points, points)
    else:
        pairs = itertools.product(*(np.array([-step, 0.0, step]) + value for value in around[:2]))
    result: list[tuple[float, ...]] = []
    for first, second in pairs:
        third = 1.0 - float(first) - float(second)
        if min(first, second, third) >= -1e-9:
            result.append(
                (round(float(first), 4), round(float(second), 4), round(max(third, 0.0), 4))
            )
    return result


def choose_weights(components: FloatArray, observed: FloatArray) -> tuple[float, ...]:
    """The blend weights (summing to one) that minimize the pinball CRPS over the rows:
    ``components`` is (components, rows, score levels). A coarse simplex grid, then a
    finer one around its best."""
    levels = np.array(SCORE_LEVELS)

    def loss(weights: tuple[float, ...]) -> float:
        blend = np.tensordot(np.array(weights), components, axes=1)
        return float(np.mean(pinball_crps(observed, blend, levels)))

    best = min(_simplex(4 * _WEIGHT_STEP), key=loss)
    best = min(_simplex(2 * _WEIGHT_STEP, best), key=loss)
    return min(_simplex(_WEIGHT_STEP, best), key=loss)


def calibration_map(
    blend: FloatArray, observed: FloatArray, uniform: FloatArray, rounds: int = _CALIBRATION_ROUNDS
) -> FloatArray:
    """The levels at which to read forecasts like ``blend`` (quantile rows of past
    forecasts of ``observed``) for their PITs to become uniform: the empirical quantiles of
    the PITs at ``GRID``, refined ``rounds`` times on the recalibrated forecasts. One round
    suffices for continuous forecasts; counts have atoms (a quiet series' zeros), whose
    randomized PITs move with the whole atom, so the map is corrected until it holds."""
    levels = np.array(GRID)
    for _ in range(rounds):
        pit = randomized_pit(at_levels(blend, levels), observed, uniform)
        levels = _compose(levels, np.quantile(pit, GRID))
    return levels


def _compose(levels: FloatArray, inner: FloatArray) -> FloatArray:
    """The map ``levels`` (given at ``GRID``) read at ``inner``: linear between grid
    levels, and towards 0 and 1 beyond them (a map may reach past the grid's ends)."""
    result: FloatArray = np.interp(inner, GRID, levels)
    under, over = inner < GRID[0], inner > GRID[-1]
    result[under] = levels[0] * inner[under] / GRID[0]
    result[over] = 1.0 - (1.0 - levels[-1]) * (1.0 - inner[over]) / (1.0 - GRID[-1])
    return result


def _learn(
    history: dict[tuple[int, int], _Record],
    known: int,
    horizons: int,
    window: int,
    recent: int,
) -> _Learned:
    """Weights from the forecasts whose target is in the last ``window`` periods up to
    ``known``; calibration maps from those in the last ``recent`` periods."""
    weights: dict[int, tuple[float, ...]] = {}
    maps: dict[tuple[int, int], FloatArray] = {}
    for horizon in range(1, horizons + 1):
        keyed = [
            (origin, record)
            for (origin, step), record in history.items()
            if step == horizon and known - window < origin + step <= known
        ]
        records = [record for _, record in keyed]
        if len(records) < window // 10:
            weights[horizon] = PRIOR_WEIGHTS
            continue
        grids = np.concatenate([r.components for r in records], axis=1).astype(float)
        observed = np.concatenate([r.observed for r in records])
        rows = observed.size
        keep = np.linspace(0, rows - 1, min(rows, _STACK_ROWS)).astype(int)
        chosen_weights = choose_weights(grids[:, keep][:, :, SCORE_COLUMNS], observed[keep])
        weights[horizon] = chosen_weights
        # The past forecasts blended as they will be now.
        blend = np.tensordot(np.array(chosen_weights), grids, axes=1)
        uniform = np.concatenate([r.uniform for r in records])
        bands = np.concatenate([r.bands for r in records])
        targets = np.concatenate([np.full(r.observed.size, o + horizon) for o, r in keyed])
        lately = targets > known - recent
        for band in CALIBRATED_BANDS:
            chosen = (bands == band) & lately
            if np.sum(chosen) >= _CALIBRATION_MINIMUM:
                maps[(horizon, band)] = calibration_map(
                    blend[chosen], observed[chosen], uniform[chosen]
                )
    return _Learned(weights, maps)


def calibrate(blend: FloatArray, bands: np.ndarray, maps: dict[int, FloatArray]) -> FloatArray:
    """Read each row of ``blend`` at its band's calibrated levels (``maps``: band to
    levels); rows of a band without a map are left as they are."""
    result = blend.copy()
    for band, levels in maps.items():
        rows = bands == band
        if np.any(rows):
            result[rows] = at_levels(blend[rows], levels)
    return result


def ensemble_forecasts(
    counts: FloatArray,
    frequency: Frequency,
    start: int,
    first_origin: int,
    last_origin: int,
    horizons: int,
    *,
    refit_every: int = REFIT_EVERY,
    calibrated: bool = True,
) -> Iterator[Issued]:
    """The forecasts from every origin in ``first_origin..last_origin`` (matrix columns,
    at least ``min_history - 1``) for horizons 1..``horizons``; past the data, too (for
    ``forecast``). Learning uses only forecasts from these origins: start ``learning_span``
    periods early to issue what a longer run would."""
    design = LogDesign.of(counts, frequency)
    width = CLIMATE_SEASONS * season_length(frequency)
    window = STACK_SEASONS * season_length(frequency)
    calibration_span = CALIBRATION_SEASONS * season_length(frequency)
    last_column = counts.shape[1] - 1
    history: dict[tuple[int, int], _Record] = {}
    fits: dict[int, PooledFit | None] = {}
    learned = _Learned({h: PRIOR_WEIGHTS for h in range(1, horizons + 1)}, {})
    fitted_at: int | None = None
    for origin in range(first_origin, last_origin + 1):
        fit_at = fit_column(start, origin, first_origin, refit_every)
        if fit_at != fitted_at:
            fitted_at = fit_at
            learned = _learn(history, fit_at, horizons, window, calibration_span)
            for horizon in range(1, horizons + 1):
                try:
                    fits[horizon] = fit_pooled(design, fit_at, horizon)
                except PooledError:
                    fits[horizon] = None
        past = counts[:, max(origin - width + 1, 0) : origin + 1]
        recent = recent_quantiles(past, HALF_LIFE, BANDWIDTH)
        climatology = climatology_quantiles(past)
        bands = level_bands(design.level(np.array([origin])))
        for horizon in range(1, horizons + 1):
            fit = fits[horizon]
            pooled = climatology if fit is None else fit.quantiles(design, origin)
            stack = np.stack([pooled, recent, climatology])
            weights = learned.weights[horizon]
            blend = np.tensordot(np.array(weights), stack, axes=1)
            maps = {b: m for (h, b), m in learned.maps.items() if h == horizon}
            final = calibrate(blend, bands, maps) if calibrated else blend
            target = origin + horizon
            if target <= last_column:
                observed = counts[:, target]
                uniform = np.random.default_rng([origin, horizon]).uniform(size=len(observed))
                history[(origin, horizon)] = _Record(
                    stack.astype(np.float32), uniform, bands, observed
                )
            yield Issued(origin, horizon, final, weights)
        # Forget what no later refit will learn from.
        for key in [k for k in history if k[0] + k[1] <= fit_at - window]:
            del history[key]


def learning_span(frequency: Frequency, horizons: int, refit_every: int = REFIT_EVERY) -> int:
    """How many periods before an origin the forecasts must start for the weights and
    calibration in force there to be those of a run over the whole history."""
    return STACK_SEASONS * season_length(frequency) + horizons + refit_every


def grid_mean(quantiles: FloatArray) -> FloatArray:
    """The mean of each row's distribution, from its quantiles (the grid's levels as a
    quadrature: each quantile stands for the probability between its neighbours)."""
    edges = np.r_[0.0, (GRID[1:] + GRID[:-1]) / 2.0, 1.0]
    result: FloatArray = quantiles @ np.diff(edges)
    return result
