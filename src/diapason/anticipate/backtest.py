"""Backtest: roll the forecast origin through the history and score every forecast.

For whom: ``diapason anticipate backtest``, the benchmark, and anyone deciding whether to
trust the forecasts. From every origin with two years of past, each method forecasts the
next 1..H periods from what was known then; the model is refitted every year (see
``rolling``). Methods:

- ``model``: the negative binomial regression (``model``);
- ``last``: the last value (persistence), a point forecast;
- ``historical``: the empirical distribution of every past value (its mean is the
  historical mean), a distribution;
- ``seasonal``: the value one year before the target (seasonal naive), a point forecast.

Scores, per series and overall: CRPS; the Brier score of *exceedance* (the target is above
the 90th percentile of the series' past at the origin); the average precision of
*escalations* (the target reaches at least twice the mean of the last 3 periods, and at
least 5) ranked by each method's probability of one. A point forecast gives probability 0
or 1.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from diapason.anticipate.model import Design, ModelError, min_history, nb_parameters
from diapason.anticipate.rolling import REFIT_EVERY, rolling_forecasts
from diapason.anticipate.scores import (
    average_precision,
    brier,
    crps_empirical,
    crps_negative_binomial,
    crps_point,
)
from diapason.anticipate.series import Aligned, FloatArray, Series, align
from diapason.errors import DiapasonError

METHODS = ("model", "last", "historical", "seasonal")
BASELINES = METHODS[1:]
EXCEEDANCE_QUANTILE = 0.9
ESCALATION_FACTOR = 2.0
ESCALATION_MINIMUM = 5.0


class BacktestError(DiapasonError, ValueError):
    """A backtest that cannot run (too little history)."""


@dataclass
class _Scores:
    """Every scored forecast of one method, as (series, forecast) matrices built by columns."""

    crps: list[FloatArray] = field(default_factory=list)
    exceed_probability: list[FloatArray] = field(default_factory=list)
    escalation_probability: list[FloatArray] = field(default_factory=list)

    def matrices(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        return (
            np.stack(self.crps, axis=1),
            np.stack(self.exceed_probability, axis=1),
            np.stack(self.escalation_probability, axis=1),
        )


@dataclass(frozen=True)
class ScoreRow:
    """One line of the backtest table: a series (or ``overall``) and a method."""

    series: str
    method: str
    crps: float
    brier: float
    average_precision: float  # NaN when the series had no escalation
    forecasts: int

    def as_dict(self) -> dict[str, object]:
        return {
            "series": self.series,
            "method": self.method,
            "crps": self.crps,
            "brier": self.brier,
            "average_precision": None
            if np.isnan(self.average_precision)
            else self.average_precision,
            "forecasts": self.forecasts,
        }


@dataclass(frozen=True)
class BacktestResult:
    """The table of scores, and what the run covered."""

    rows: tuple[ScoreRow, ...]
    horizons: int
    origins: int
    series: int
    escalations: int

    def _has(self, method: str) -> bool:
        return any(r.method == method for r in self.rows)

    def overall(self, method: str) -> ScoreRow:
        return next(r for r in self.rows if r.series == "overall" and r.method == method)

    def crps_improvement(self, baseline: str) -> float:
        """How much lower the model's overall CRPS is than ``baseline``'s, as a fraction."""
        return 1.0 - self.overall("model").crps / self.overall(baseline).crps

    def series_won(self, baseline: str) -> int:
        """In how many series the model's CRPS is below ``baseline``'s."""
        by_key = {(r.series, r.method): r.crps for r in self.rows if r.series != "overall"}
        names = {r.series for r in self.rows if r.series != "overall"}
        return sum(1 for name in names if by_key[(name, "model")] < by_key[(name, baseline)])

    def as_dict(self) -> dict[str, object]:
        return {
            "horizons": self.horizons,
            "origins": self.origins,
            "series": self.series,
            "escalations": self.escalations,
            "crps_improvement": {
                b: self.crps_improvement(b) for b in BASELINES if self._has("model")
            },
            "rows": [row.as_dict() for row in self.rows],
        }


def backtest(
    series: Sequence[Series],
    *,
    horizons: int = 6,
    refit_every: int = REFIT_EVERY,
    on_origin: Callable[[int, int], None] | None = None,
    include_model: bool = True,
) -> BacktestResult:
    """Backtest the model and the baselines on ``series`` (one frequency); ``on_origin(done,
    total)`` reports progress. Without ``include_model``, the baselines only (the
    benchmark's anchor)."""
    aligned = align(series)
    counts = aligned.counts
    length = counts.shape[1]
    first_origin = min_history(aligned.frequency) - 1
    last_origin = length - 2
    if last_origin < first_origin:
        raise BacktestError(
            f"{length} periods of history: a backtest needs at least "
            f"{first_origin + 2} ({min_history(aligned.frequency)} to learn, 1 to score)"
        )
    design = Design.of(counts, aligned.frequency, aligned.start)
    happened_exceed: list[np.ndarray] = []
    happened_escalation: list[np.ndarray] = []
    total = last_origin - first_origin + 1

    def origin_context(origin: int) -> tuple[FloatArray, FloatArray]:
        # Thresholds known at the origin: the exceedance level and the escalation level.
        exceed_level = np.quantile(counts[:, : origin + 1], EXCEEDANCE_QUANTILE, axis=1)
        recent = np.mean(counts[:, max(origin - 2, 0) : origin + 1], axis=1)
        escalation_level = np.ceil(np.maximum(ESCALATION_FACTOR * recent, ESCALATION_MINIMUM))
        return exceed_level, escalation_level

    methods = METHODS if include_model else BASELINES
    scores = {method: _Scores() for method in methods}
    issued_all = (
        rolling_forecasts(design, first_origin, last_origin, horizons, refit_every=refit_every)
        if include_model
        else None
    )
    try:
        for origin in range(first_origin, last_origin + 1):
            exceed_level, escalation_level = origin_context(origin)
            past = counts[:, : origin + 1]
            for horizon in range(1, min(horizons, length - 1 - origin) + 1):
                observed = counts[:, origin + horizon]
                happened_exceed.append(observed > exceed_level)
                happened_escalation.append(observed >= escalation_level)
                if issued_all is not None:
                    issued = next(issued_all)
                    # The rolling forecasts come in this loop's order; say so if they drift.
                    if (issued.origin, issued.horizon) != (origin, horizon):
                        raise AssertionError("rolling forecasts out of step with the backtest")
                    size, p = nb_parameters(issued.mean, issued.alpha)
                    model = scores["model"]
                    model.crps.append(crps_negative_binomial(observed, issued.mean, issued.alpha))
                    model.exceed_probability.append(stats.nbinom.sf(exceed_level, size, p))
                    model.escalation_probability.append(
                        stats.nbinom.sf(escalation_level - 1, size, p)
                    )
                for method, point in (
                    ("last", counts[:, origin]),
                    ("seasonal", counts[:, design.seasonal_column(origin, horizon)]),
                ):
                    scores[method].crps.append(crps_point(observed, point))
                    scores[method].exceed_probability.append((point > exceed_level).astype(float))
                    scores[method].escalation_probability.append(
                        (point >= escalation_level).astype(float)
                    )
                historical = scores["historical"]
                historical.crps.append(crps_empirical(observed[:, None], past)[:, 0])
                historical.exceed_probability.append(np.mean(past > exceed_level[:, None], axis=1))
                historical.escalation_probability.append(
                    np.mean(past >= escalation_level[:, None], axis=1)
                )
            if on_origin is not None:
                on_origin(origin - first_origin + 1, total)
    except ModelError as error:
        raise BacktestError(f"the model cannot be fitted: {error}") from None
    exceed = np.stack(happened_exceed, axis=1)
    escalation = np.stack(happened_escalation, axis=1)
    rows = _table(aligned, methods, scores, exceed, escalation)
    return BacktestResult(tuple(rows), horizons, total, len(aligned.names), int(np.sum(escalation)))


def _table(
    aligned: Aligned,
    methods: Sequence[str],
    scores: dict[str, _Scores],
    exceed: np.ndarray,
    escalation: np.ndarray,
) -> list[ScoreRow]:
    rows: list[ScoreRow] = []
    for method in methods:
        crps, exceed_probability, escalation_probability = scores[method].matrices()
        rows.append(
            ScoreRow(
                "overall",
                method,
                float(np.mean(crps)),
                brier(exceed_probability.ravel(), exceed.ravel()),
                average_precision(escalation_probability.ravel(), escalation.ravel()),
                crps.size,
            )
        )
        for index, name in enumerate(aligned.names):
            rows.append(
                ScoreRow(
                    name,
                    method,
                    float(np.mean(crps[index])),
                    brier(exceed_probability[index], exceed[index]),
                    average_precision(escalation_probability[index], escalation[index]),
                    crps.shape[1],
                )
            )
    return rows
