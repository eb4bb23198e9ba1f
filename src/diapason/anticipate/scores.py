"""Proper scores of probabilistic count forecasts, as the ViEWS early-warning system uses.

For whom: the backtest. The **pinball CRPS** the forecasts are judged by (issue 24): the
CRPS approximated from quantiles, ``2/K * sum_k pinball_k(y - q_k)`` over the K levels
(``quantiles.SCORE_LEVELS``: nine, 0.05 to 0.95), in the units of the counts, lower is
better; with levels symmetric about 0.5 a point forecast's pinball CRPS is its absolute
error. Also the exact CRPS of a negative binomial in closed form (Wei & Held 2014, as in
the R package scoringRules), of a point forecast and of an empirical distribution; the
Brier score of a binary event; the average precision of a ranking of binary events.
"""

from __future__ import annotations

import numpy as np
from scipy import special, stats

from diapason.anticipate.series import FloatArray


def crps_negative_binomial(observed: FloatArray, mean: FloatArray, alpha: FloatArray) -> FloatArray:
    """CRPS of NB2(mean, alpha) forecasts against observed counts (same shape)."""
    observed, mean, alpha = np.broadcast_arrays(observed, mean, alpha)
    size = 1.0 / alpha
    p = size / (size + mean)
    # The negative binomial CDF is a regularised incomplete beta function; called directly,
    # it is several times faster than through scipy.stats (this runs in the model's fit).
    below = special.betainc(size, observed + 1.0, p)
    below_shifted = np.where(
        observed >= 1, special.betainc(size + 1.0, np.maximum(observed, 1.0), p), 0.0
    )
    hypergeometric = special.hyp2f1(size + 1.0, 0.5, 2.0, -4.0 * (1.0 - p) / p**2)
    first = observed * (2.0 * below - 1.0)
    second = (1.0 - p) * size / p**2 * (p * (2.0 * below_shifted - 1.0) + hypergeometric)
    result: FloatArray = first - second
    # The hypergeometric term overflows for large means of nearly Poisson forecasts, where
    # the negative binomial is as good as normal: use the normal's closed-form CRPS there.
    broken = ~np.isfinite(result)
    if np.any(broken):
        sd = np.sqrt(mean[broken] + alpha[broken] * mean[broken] ** 2)
        z = (observed[broken] - mean[broken]) / sd
        result[broken] = sd * (
            z * (2.0 * stats.norm.cdf(z) - 1.0) + 2.0 * stats.norm.pdf(z) - 1.0 / np.sqrt(np.pi)
        )
    return result


def pinball_crps(observed: FloatArray, quantiles: FloatArray, levels: FloatArray) -> FloatArray:
    """The pinball CRPS of each row of ``quantiles`` (rows, K) at ``levels`` (K) against
    ``observed`` (rows): ``2/K * sum_k max(l_k (y - q_k), (l_k - 1) (y - q_k))``."""
    error = observed[:, None] - quantiles
    loss = np.maximum(levels * error, (levels - 1.0) * error)
    result: FloatArray = 2.0 * np.mean(loss, axis=1)
    return result


def crps_point(observed: FloatArray, forecast: FloatArray) -> FloatArray:
    """CRPS of a point forecast: the absolute error."""
    result: FloatArray = np.abs(observed - forecast)
    return result


def crps_empirical(observed: FloatArray, samples: FloatArray) -> FloatArray:
    """CRPS of empirical distributions: ``samples`` is (rows, n), ``observed`` (rows, k);
    result (rows, k). ``E|X - y| - E|X - X'| / 2`` with the pairwise term from the sorted
    samples, so the cost is linear in n after the sort."""
    n = samples.shape[1]
    spread = np.mean(np.abs(samples[:, :, None] - observed[:, None, :]), axis=1)
    ordered = np.sort(samples, axis=1)
    weights = 2.0 * np.arange(1, n + 1) - n - 1
    pairwise = 2.0 * (ordered @ weights) / (n * n)
    result: FloatArray = spread - pairwise[:, None] / 2.0
    return result


def brier(probability: FloatArray, happened: np.ndarray) -> float:
    """Mean Brier score of probabilities for binary outcomes (0 best, 1 worst)."""
    return float(np.mean((probability - happened.astype(float)) ** 2))


def average_precision(score: FloatArray, happened: np.ndarray) -> float:
    """Average precision of a ranking by ``score`` (ties ranked together, as scikit-learn
    does); NaN when no event happened (nothing to find)."""
    positives = int(np.sum(happened))
    if positives == 0:
        return float("nan")
    order = np.argsort(-score, kind="mergesort")
    ranked_score = score[order]
    ranked_truth = happened[order].astype(float)
    true_cumulative = np.cumsum(ranked_truth)
    # The last index of each run of tied scores: precision and recall are read there.
    last_of_tie = np.r_[np.nonzero(np.diff(ranked_score))[0], len(ranked_score) - 1]
    true_positives = true_cumulative[last_of_tie]
    precision = true_positives / (last_of_tie + 1)
    recall = true_positives / positives
    recall_steps = np.diff(np.r_[0.0, recall])
    return float(np.sum(recall_steps * precision))
