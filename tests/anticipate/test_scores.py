"""Scores against brute-force definitions."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from diapason.anticipate.scores import (
    average_precision,
    brier,
    crps_empirical,
    crps_negative_binomial,
    crps_point,
)


def crps_by_definition(observed: int, mean: float, alpha: float) -> float:
    """sum over k of (F(k) - 1{observed <= k})^2, over the whole practical support."""
    size = 1.0 / alpha
    p = size / (size + mean)
    high = int(max(observed, stats.nbinom.ppf(1 - 1e-13, size, p))) + 5
    k = np.arange(high + 1)
    return float(np.sum((stats.nbinom.cdf(k, size, p) - (observed <= k)) ** 2))


@pytest.mark.parametrize(
    ("observed", "mean", "alpha"),
    [
        (0, 0.5, 1.0),
        (3, 2.0, 0.5),
        (10, 50.0, 2.0),
        (500, 300.0, 0.8),
        (0, 1000.0, 3.0),
        (5, 5.0, 1e-3),
        (40, 3.0, 20.0),
        (2000, 2000.0, 0.01),
        (0, 0.001, 0.1),
    ],
)
def test_negative_binomial_crps_matches_its_definition(
    observed: int, mean: float, alpha: float
) -> None:
    found = crps_negative_binomial(np.array([float(observed)]), np.array([mean]), np.array(alpha))
    # The large-mean, nearly Poisson case uses the normal approximation: 0.1% is its bound.
    assert found[0] == pytest.approx(crps_by_definition(observed, mean, alpha), rel=1e-3)


def test_point_and_empirical_crps() -> None:
    assert list(crps_point(np.array([3.0, 0.0]), np.array([1.0, 4.0]))) == [2.0, 4.0]
    rng = np.random.default_rng(1)
    samples = rng.integers(0, 20, size=(4, 9)).astype(float)
    observed = rng.integers(0, 20, size=(4, 2)).astype(float)
    found = crps_empirical(observed, samples)
    for row in range(4):
        for column in range(2):
            x = samples[row]
            expected = np.mean(np.abs(x - observed[row, column])) - 0.5 * np.mean(
                np.abs(x[:, None] - x[None, :])
            )
            assert found[row, column] == pytest.approx(expected)
    # A single sample is a point forecast.
    assert crps_empirical(np.array([[5.0]]), np.array([[2.0]]))[0, 0] == pytest.approx(3.0)


def test_brier_and_average_precision() -> None:
    happened = np.array([True, False, True, False])
    assert brier(np.array([1.0, 0.0, 1.0, 0.0]), happened) == 0.0
    assert brier(np.array([0.5, 0.5, 0.5, 0.5]), happened) == 0.25
    # Ranking: 0.9 (yes), 0.8 (no), 0.7 (yes), 0.1 (no): AP = (1/1 + 2/3) / 2.
    assert average_precision(np.array([0.9, 0.1, 0.7, 0.8]), happened) == pytest.approx(5 / 6)
    # Ties count together: a constant score has the prevalence as its precision.
    assert average_precision(np.zeros(4), happened) == pytest.approx(0.5)
    assert np.isnan(average_precision(np.array([0.3, 0.2]), np.array([False, False])))
