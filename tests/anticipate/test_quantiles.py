"""The pinball CRPS against hand-computed values; the quantile grid's distribution
function, PIT and exceedance; calibration and blending against a known truth."""

from __future__ import annotations

import numpy as np
import pytest

from diapason.anticipate.ensemble import (
    calibrate,
    calibration_map,
    choose_weights,
    grid_mean,
)
from diapason.anticipate.quantiles import (
    GRID,
    SCORE_LEVELS,
    cdf,
    climatology_quantiles,
    exceedance,
    point_grid,
    randomized_pit,
    recent_quantiles,
    score_quantiles,
)
from diapason.anticipate.scores import pinball_crps
from diapason.anticipate.synthetic import lognormal_truth

LEVELS = np.array(SCORE_LEVELS)


def test_pinball_crps_by_hand() -> None:
    # Two levels, 0.25 and 0.75, quantiles 2 and 6; observed 10: both below the count,
    # losses 0.25 * 8 and 0.75 * 4, mean 2.5, times 2: 5.0.
    two = np.array([0.25, 0.75])
    assert pinball_crps(np.array([10.0]), np.array([[2.0, 6.0]]), two)[0] == pytest.approx(5.0)
    # Observed 0: losses 0.75 * 2 and 0.25 * 6, mean 1.5, times 2: 3.0.
    assert pinball_crps(np.array([0.0]), np.array([[2.0, 6.0]]), two)[0] == pytest.approx(3.0)
    # Observed 4, inside: 0.25 * 2 and 0.25 * 2, mean 0.5, times 2: 1.0.
    assert pinball_crps(np.array([4.0]), np.array([[2.0, 6.0]]), two)[0] == pytest.approx(1.0)


def test_pinball_crps_of_a_point_is_the_absolute_error_over_the_nine_levels() -> None:
    observed = np.array([3.0, 0.0, 120.0])
    point = np.array([1.0, 4.0, 100.0])
    found = pinball_crps(observed, score_quantiles(point_grid(point)), LEVELS)
    assert list(found) == pytest.approx([2.0, 4.0, 20.0])


def test_pinball_crps_of_the_nine_levels_by_hand() -> None:
    quantiles = np.array([[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0]])
    # Observed 5: levels whose quantile is below 5 lose level * (5 - q), the others
    # (1 - level) * (q - 5).
    losses = [
        0.05 * 5,
        0.1 * 4,
        0.25 * 3,
        0.4 * 2,
        0.5 * 1,
        0.6 * 0,
        0.25 * 1,
        0.1 * 3,
        0.05 * 5,
    ]
    expected = 2.0 * sum(losses) / 9
    assert pinball_crps(np.array([5.0]), quantiles, LEVELS)[0] == pytest.approx(expected)


def test_grid_distribution_function_pit_and_exceedance() -> None:
    # A row whose quantiles are the levels times 100: uniform on [0, 100].
    grid = GRID[None, :] * 100.0
    assert cdf(grid, np.array([50.0]))[0] == pytest.approx(0.5)
    assert cdf(grid, np.array([27.5]))[0] == pytest.approx(0.275)
    assert exceedance(grid, np.array([50.0]))[0] == pytest.approx(1.0 - 0.495)
    # Far above every quantile: small, positive, smaller further up (ranked).
    far, farther = exceedance(np.vstack([grid, grid]), np.array([400.0, 4000.0]))
    assert 0.0 < farther < far < 0.005
    # An atom: a quiet series, zero up to the 60 % level.
    quiet = np.where(GRID <= 0.6, 0.0, 10.0 * (GRID - 0.6))[None, :]
    assert cdf(quiet, np.array([0.0]), strict=True)[0] == 0.0
    assert cdf(quiet, np.array([0.0]))[0] == pytest.approx(0.6)
    pit = randomized_pit(np.repeat(quiet, 3, 0), np.zeros(3), np.array([0.0, 0.5, 1.0]))
    assert list(pit) == pytest.approx([0.0, 0.3, 0.6])


def test_climatologies_of_a_known_past() -> None:
    past = np.arange(24, dtype=float)[None, :]
    median = climatology_quantiles(past)[0, list(GRID).index(0.5)]
    assert median == pytest.approx(11.5)
    zeros = recent_quantiles(np.zeros((1, 24)), 2.0, 0.3)
    assert np.all(zeros == 0.0)
    # Recent values weigh more: a series that stepped from 10 to 100 a few periods ago
    # has its recency-weighted median near 100, its climatology's near 10.
    stepped = np.r_[np.full(20, 10.0), np.full(4, 100.0)][None, :]
    assert recent_quantiles(stepped, 2.0, 0.3)[0, list(GRID).index(0.5)] > 60.0
    assert climatology_quantiles(stepped)[0, list(GRID).index(0.5)] == pytest.approx(10.0)


def test_calibration_on_past_pits_repairs_a_too_narrow_forecast() -> None:
    # Truth: log-normal with sigma 1; forecast: same median, sigma 0.4 (far too sure).
    observed, narrow = lognormal_truth(4000, seed=1, forecast_sigma=0.4)
    assert np.all(narrow > 0)
    uniform = np.random.default_rng(2).uniform(size=len(observed))
    levels = calibration_map(narrow, observed, uniform, rounds=1)
    # New series from the same process: calibrated with what the past taught.
    fresh, fresh_narrow = lognormal_truth(4000, seed=3, forecast_sigma=0.4)
    _, truth = lognormal_truth(4000, seed=3)
    repaired = calibrate(fresh_narrow, np.zeros(4000, dtype=int), {0: levels})

    def coverage(grid: np.ndarray) -> float:
        chosen = score_quantiles(grid)
        return float(np.mean((chosen[:, 0] <= fresh) & (fresh <= chosen[:, -1])))

    assert coverage(fresh_narrow) < 0.6
    assert coverage(repaired) == pytest.approx(0.9, abs=0.03)
    score = {
        name: float(np.mean(pinball_crps(fresh, score_quantiles(grid), LEVELS)))
        for name, grid in (("narrow", fresh_narrow), ("repaired", repaired), ("truth", truth))
    }
    assert score["truth"] <= score["repaired"] < score["narrow"]
    # A row of a band without a map is left alone.
    untouched = calibrate(fresh_narrow, np.ones(4000, dtype=int), {0: levels})
    assert np.array_equal(untouched, fresh_narrow)


def test_calibration_of_counts_with_atoms_at_zero() -> None:
    # Quiet series: zero nine times in ten; the forecasts put an atom at zero of 20 % to
    # 95 % (too little, for most), the rest spread up to 10. Calibrated on past periods,
    # the PIT of new periods is uniform.
    rng = np.random.default_rng(5)

    def draw(rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        atom = rng.uniform(0.2, 0.95, rows)[:, None]
        grid = np.where(GRID[None, :] <= atom, 0.0, 10.0 * (GRID[None, :] - atom) / (1 - atom))
        quiet = rng.uniform(size=rows) < 0.9
        observed = np.where(quiet, 0.0, rng.integers(1, 10, rows).astype(float))
        return grid, observed, rng.uniform(size=rows)

    past, seen, uniform = draw(6000)
    levels = calibration_map(past, seen, uniform)
    fresh, later, draws = draw(6000)
    pit = randomized_pit(calibrate(fresh, np.zeros(6000, dtype=int), {0: levels}), later, draws)
    density = np.histogram(pit, bins=10, range=(0.0, 1.0))[0] / 600
    assert np.all(np.abs(density - 1.0) < 0.3), density
    before = np.histogram(randomized_pit(fresh, later, draws), bins=10, range=(0, 1))[0] / 600
    assert before[0] > 1.5


def test_blend_weights_find_the_true_distribution() -> None:
    observed, truth = lognormal_truth(3000, seed=4)
    _, wide = lognormal_truth(3000, seed=4, forecast_sigma=2.5)
    shifted = truth * 3.0
    components = np.stack([score_quantiles(g) for g in (wide, truth, shifted)])
    weights = choose_weights(components, observed)
    assert sum(weights) == pytest.approx(1.0)
    assert weights[1] >= 0.8
    # Truth halfway between two wrong forecasts: the blend takes both halves.
    low, high = truth * 0.5, truth * 1.5
    halves = choose_weights(np.stack([score_quantiles(g) for g in (low, high, wide)]), observed)
    assert halves[0] == pytest.approx(0.5, abs=0.1) and halves[1] == pytest.approx(0.5, abs=0.1)


def test_grid_mean_of_a_point_and_of_a_uniform() -> None:
    assert grid_mean(point_grid(np.array([7.0])))[0] == pytest.approx(7.0)
    assert grid_mean(GRID[None, :] * 100.0)[0] == pytest.approx(50.0, abs=0.5)
