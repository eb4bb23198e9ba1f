"""Backtest: roll the forecast origin through the history and score every forecast.

For whom: ``diapason anticipate backtest``, the benchmark, and anyone deciding whether to
trust the forecasts. From every origin with two years of past, each method forecasts the
next 1..H periods from what was known then (the model refits, reweights and recalibrates
itself every year on what was known then, see ``ensemble``). Methods:

- ``model``: the ensemble forecast (``ensemble``), a distribution;
- ``last``: the last value (persistence), a point forecast;
- ``seasonal``: the value one year before the target (seasonal naive), a point forecast;
- ``mean``: the mean of the last two years (24 months), a point forecast;
- ``climatology``: the empirical quantiles of the last two years, a distribution.

Scores (issue 24): the **pinball CRPS** over the nine ``SCORE_LEVELS`` (a point
forecast's is its absolute error) and the **skill** ``1 - CRPS / CRPS of the best
baseline`` of that slice; how often the 5-95 % and 25-75 % intervals held the count; the
PIT histogram of the distributions; the Brier score of *exceedance* (above the 90th
percentile of the series' past); the average precision of *escalations* (the count is at
least twice the mean of the last 3 periods before the origin, and at least 5), ranked by
the probability each method gives it: read from the model's distribution, the share of
the last two years at or above the threshold for the climatology, 0 or 1 for a point.

Slices: overall, per horizon, per group of series (``groups``; the rest is ``other``), per
series; and per period: ``all`` forecasts, or with ``split`` a **development** period (every
target before the split) and a **held-out** one (every origin from the month before the
split on, so that the held-out forecasts are those issued once the split's first period
was still unseen).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from diapason.anticipate.ensemble import ensemble_forecasts, min_history
from diapason.anticipate.periods import format_period, season_length
from diapason.anticipate.quantiles import (
    SCORE_LEVELS,
    climatology_quantiles,
    exceedance,
    point_grid,
    randomized_pit,
    score_quantiles,
)
from diapason.anticipate.rolling import REFIT_EVERY
from diapason.anticipate.scores import average_precision, brier, pinball_crps
from diapason.anticipate.series import FloatArray, Series, align
from diapason.errors import DiapasonError

METHODS = ("model", "last", "seasonal", "mean", "climatology")
BASELINES = METHODS[1:]
DISTRIBUTIONS = ("model", "climatology")
EXCEEDANCE_QUANTILE = 0.9
ESCALATION_FACTOR = 2.0
ESCALATION_MINIMUM = 5.0
PIT_BINS = 10
OTHER = "other"


class BacktestError(DiapasonError, ValueError):
    """A backtest that cannot run (too little history, a split outside the data)."""


@dataclass(frozen=True)
class ScoreRow:
    """One line of a table: a slice (``overall``, a horizon, a group or a series) of a
    period, for one method."""

    period: str  # all, development or held-out
    kind: str  # overall, horizon, group or series
    key: str
    method: str
    crps: float
    skill: float  # 1 - crps / crps of the slice's best baseline
    best_baseline: str
    brier: float
    average_precision: float  # NaN when the slice had no escalation
    coverage90: float  # NaN for a point forecast
    coverage50: float
    forecasts: int
    escalations: int

    @property
    def series(self) -> str:
        """The series' name for a series row, ``overall`` for the overall row."""
        return self.key

    def as_dict(self) -> dict[str, object]:
        def number(value: float) -> float | None:
            return None if np.isnan(value) else value

        return {
            "period": self.period,
            "slice": self.kind,
            "key": self.key,
            "method": self.method,
            "crps": self.crps,
            "skill": number(self.skill),
            "best_baseline": self.best_baseline,
            "brier": self.brier,
            "average_precision": number(self.average_precision),
            "coverage_5_95": number(self.coverage90),
            "coverage_25_75": number(self.coverage50),
            "forecasts": self.forecasts,
            "escalations": self.escalations,
        }


@dataclass(frozen=True)
class Histogram:
    """The PIT histogram of a method over a period: the share of forecasts per tenth,
    times 10 (1.0 everywhere when calibrated)."""

    period: str
    method: str
    density: tuple[float, ...]

    def as_dict(self) -> dict[str, object]:
        return {"period": self.period, "method": self.method, "density": list(self.density)}


@dataclass(frozen=True)
class BacktestResult:
    """The tables of scores, the PIT histograms and what the run covered."""

    rows: tuple[ScoreRow, ...]
    histograms: tuple[Histogram, ...]
    horizons: int
    origins: int
    series: int
    escalations: int
    periods: tuple[tuple[str, str, str], ...]  # (name, first origin, last target) labels

    def row(
        self, method: str, *, period: str = "all", kind: str = "overall", key: str = "overall"
    ) -> ScoreRow:
        return next(
            r
            for r in self.rows
            if (r.period, r.kind, r.key, r.method) == (period, kind, key, method)
        )

    def overall(self, method: str, period: str = "all") -> ScoreRow:
        return self.row(method, period=period)

    def table(self, period: str, kind: str) -> list[ScoreRow]:
        return [r for r in self.rows if r.period == period and r.kind == kind]

    def crps_improvement(self, baseline: str, period: str = "all") -> float:
        """How much lower the model's overall CRPS is than ``baseline``'s, as a fraction."""
        return 1.0 - self.overall("model", period).crps / self.overall(baseline, period).crps

    def series_won(self, baseline: str, period: str = "all") -> int:
        """In how many series the model's CRPS is below ``baseline``'s."""
        rows = self.table(period, "series")
        by_key = {(r.key, r.method): r.crps for r in rows}
        names = {r.key for r in rows}
        return sum(1 for name in names if by_key[(name, "model")] < by_key[(name, baseline)])

    def as_dict(self) -> dict[str, object]:
        return {
            "horizons": self.horizons,
            "origins": self.origins,
            "series": self.series,
            "escalations": self.escalations,
            "score_levels": list(SCORE_LEVELS),
            "periods": [
                {"period": name, "first_origin": first, "last_target": last}
                for name, first, last in self.periods
            ],
            "crps_improvement": {b: self.crps_improvement(b) for b in BASELINES},
            "rows": [row.as_dict() for row in self.rows],
            "pit_histograms": [h.as_dict() for h in self.histograms],
        }


@dataclass
class _Columns:
    """Every scored forecast, one entry per (origin, horizon) block of all the series."""

    origin: list[np.ndarray] = field(default_factory=list)
    horizon: list[np.ndarray] = field(default_factory=list)
    series: list[np.ndarray] = field(default_factory=list)
    exceed: list[np.ndarray] = field(default_factory=list)
    escalation: list[np.ndarray] = field(default_factory=list)
    scores: dict[str, dict[str, list[FloatArray]]] = field(default_factory=dict)

    def add(self, method: str, **values: FloatArray) -> None:
        table = self.scores.setdefault(method, {})
        for name, value in values.items():
            table.setdefault(name, []).append(value)

    def arrays(self) -> tuple[dict[str, np.ndarray], dict[str, dict[str, FloatArray]]]:
        common = {
            "origin": np.concatenate(self.origin),
            "horizon": np.concatenate(self.horizon),
            "series": np.concatenate(self.series),
            "exceed": np.concatenate(self.exceed),
            "escalation": np.concatenate(self.escalation),
        }
        scores = {
            method: {name: np.concatenate(parts) for name, parts in table.items()}
            for method, table in self.scores.items()
        }
        return common, scores


def _point_scores(
    observed: FloatArray,
    point: FloatArray,
    levels: FloatArray,
    exceed_level: FloatArray,
    escalation_level: FloatArray,
) -> dict[str, FloatArray]:
    nothing = np.full(len(observed), np.nan)
    return {
        "crps": pinball_crps(observed, score_quantiles(point_grid(point)), levels),
        "exceed": (point > exceed_level).astype(float),
        "escalate": (point >= escalation_level).astype(float),
        "inside90": nothing,
        "inside50": nothing,
        "pit": nothing,
    }


def _distribution_scores(
    observed: FloatArray, quantiles: FloatArray, levels: FloatArray, pit: FloatArray
) -> dict[str, FloatArray]:
    chosen = score_quantiles(quantiles)
    outer = (chosen[:, 0] <= observed) & (observed <= chosen[:, -1])
    inner_low, inner_high = chosen[:, SCORE_LEVELS.index(0.25)], chosen[:, SCORE_LEVELS.index(0.75)]
    inner = (inner_low <= observed) & (observed <= inner_high)
    return {
        "crps": pinball_crps(observed, chosen, levels),
        "inside90": outer.astype(float),
        "inside50": inner.astype(float),
        "pit": pit,
    }


def backtest(
    series: Sequence[Series],
    *,
    horizons: int = 6,
    refit_every: int = REFIT_EVERY,
    on_origin: Callable[[int, int], None] | None = None,
    include_model: bool = True,
    groups: Mapping[str, Sequence[str]] | None = None,
    split: int | None = None,
    score_from: int | None = None,
) -> BacktestResult:
    """Backtest the model and the baselines on ``series`` (one frequency).

    ``groups``: named sets of series names, scored apart (the rest as ``other``).
    ``split``: a period index: a development period (targets before it) and a held-out
    one (origins from the period before it). ``score_from``: the first origin scored (the
    model still learns from every earlier one). ``on_origin(done, total)`` reports
    progress. Without ``include_model``, the baselines only (the benchmark's anchor).
    """
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
    first_scored = first_origin

    def label(column: int) -> str:
        return format_period(aligned.start + column, aligned.frequency)

    if score_from is not None:
        first_scored = max(first_origin, score_from - aligned.start)
        if first_scored > last_origin:
            raise BacktestError(
                f"--score-from {format_period(score_from, aligned.frequency)}: no origin "
                f"to score after it (the data ends {label(length - 1)})"
            )
    split_column = None
    if split is not None:
        split_column = split - aligned.start
        if not first_scored + 1 < split_column <= last_origin + 1:
            raise BacktestError(
                f"split {format_period(split, aligned.frequency)}: must leave forecasts on "
                f"both sides, between {label(first_scored + 2)} and {label(last_origin + 1)}"
            )
    membership = _membership(aligned.names, groups or {})
    season = season_length(aligned.frequency)
    width = 2 * season
    levels = np.array(SCORE_LEVELS)
    issued = (
        ensemble_forecasts(
            counts,
            aligned.frequency,
            aligned.start,
            first_origin,
            last_origin,
            horizons,
            refit_every=refit_every,
        )
        if include_model
        else None
    )
    columns = _Columns()
    total = last_origin - first_origin + 1
    rows_per_block = len(aligned.names)
    for origin in range(first_origin, last_origin + 1):
        past = counts[:, : origin + 1]
        window = counts[:, max(origin - width + 1, 0) : origin + 1]
        exceed_level = np.quantile(past, EXCEEDANCE_QUANTILE, axis=1)
        recent = np.mean(counts[:, max(origin - 2, 0) : origin + 1], axis=1)
        escalation_level = np.ceil(np.maximum(ESCALATION_FACTOR * recent, ESCALATION_MINIMUM))
        climatology = climatology_quantiles(window)
        mean = np.mean(window, axis=1)
        for horizon in range(1, horizons + 1):
            forecast = next(issued) if issued is not None else None
            if origin + horizon > length - 1:
                continue
            if forecast is not None and (forecast.origin, forecast.horizon) != (origin, horizon):
                raise AssertionError("ensemble forecasts out of step with the backtest")
            if origin < first_scored:
                continue
            observed = counts[:, origin + horizon]
            columns.origin.append(np.full(rows_per_block, origin))
            columns.horizon.append(np.full(rows_per_block, horizon))
            columns.series.append(np.arange(rows_per_block))
            columns.exceed.append(observed > exceed_level)
            columns.escalation.append(observed >= escalation_level)
            uniform = np.random.default_rng([origin, horizon, 1]).uniform(size=rows_per_block)
            if forecast is not None:
                quantiles = forecast.quantiles
                columns.add(
                    "model",
                    **_distribution_scores(
                        observed, quantiles, levels, randomized_pit(quantiles, observed, uniform)
                    ),
                    exceed=exceedance(quantiles, np.floor(exceed_level) + 1.0),
                    escalate=exceedance(quantiles, escalation_level),
                )
            seasonal_column = origin + horizon - season
            if seasonal_column > origin:
                seasonal_column -= season
            for method, point in (
                ("last", counts[:, origin]),
                ("seasonal", counts[:, max(seasonal_column, 0)]),
                ("mean", mean),
            ):
                columns.add(
                    method, **_point_scores(observed, point, levels, exceed_level, escalation_level)
                )
            below = np.mean(window < observed[:, None], axis=1)
            at_most = np.mean(window <= observed[:, None], axis=1)
            columns.add(
                "climatology",
                **_distribution_scores(
                    observed, climatology, levels, below + uniform * (at_most - below)
                ),
                exceed=np.mean(window > exceed_level[:, None], axis=1),
                escalate=np.mean(window >= escalation_level[:, None], axis=1),
            )
        if on_origin is not None:
            on_origin(origin - first_origin + 1, total)
    common, scores = columns.arrays()
    periods = _periods(common, split_column, first_scored, length)
    methods = METHODS if include_model else BASELINES
    rows: list[ScoreRow] = []
    histograms: list[Histogram] = []
    for name, selected in periods:
        rows.extend(
            _slices(name, selected, common, scores, methods, aligned.names, membership, horizons)
        )
        for method in DISTRIBUTIONS:
            if method in scores:
                pit = scores[method]["pit"][selected]
                counted, _ = np.histogram(pit, bins=PIT_BINS, range=(0.0, 1.0))
                density = tuple(float(v) for v in counted * PIT_BINS / max(len(pit), 1))
                histograms.append(Histogram(name, method, density))
    labels = tuple(
        (
            name,
            format_period(aligned.start + int(common["origin"][selected].min()), aligned.frequency),
            format_period(
                aligned.start + int((common["origin"] + common["horizon"])[selected].max()),
                aligned.frequency,
            ),
        )
        for name, selected in periods
    )
    return BacktestResult(
        tuple(rows),
        tuple(histograms),
        horizons,
        last_origin - first_scored + 1,
        len(aligned.names),
        int(np.sum(common["escalation"])),
        labels,
    )


def _membership(names: Sequence[str], groups: Mapping[str, Sequence[str]]) -> np.ndarray:
    """The group of each series (``OTHER`` when in none); unknown names are refused."""
    result = np.array([OTHER] * len(names), dtype=object)
    known = set(names)
    for group, members in groups.items():
        missing = sorted(set(members) - known)
        if missing:
            raise BacktestError(f"group {group!r}: no series named {', '.join(missing)}")
        for member in members:
            result[list(names).index(member)] = group
    return result


def _periods(
    common: dict[str, np.ndarray], split: int | None, first: int, length: int
) -> list[tuple[str, np.ndarray]]:
    everything = np.ones(len(common["origin"]), dtype=bool)
    if split is None:
        return [("all", everything)]
    target = common["origin"] + common["horizon"]
    return [
        ("all", everything),
        ("development", target < split),
        ("held-out", common["origin"] >= split - 1),
    ]


def _slices(
    period: str,
    selected: np.ndarray,
    common: dict[str, np.ndarray],
    scores: dict[str, dict[str, FloatArray]],
    methods: Sequence[str],
    names: Sequence[str],
    membership: np.ndarray,
    horizons: int,
) -> list[ScoreRow]:
    group_of = membership[common["series"]]
    slices: list[tuple[str, str, np.ndarray]] = [("overall", "overall", selected)]
    slices += [
        ("horizon", str(h), selected & (common["horizon"] == h)) for h in range(1, horizons + 1)
    ]
    if len(set(membership)) > 1:
        slices += [("group", g, selected & (group_of == g)) for g in sorted(set(membership))]
    slices += [
        ("series", name, selected & (common["series"] == index)) for index, name in enumerate(names)
    ]
    rows: list[ScoreRow] = []
    for kind, key, chosen in slices:
        if not np.any(chosen):
            continue
        crps = {m: float(np.mean(scores[m]["crps"][chosen])) for m in methods}
        baselines = [b for b in BASELINES if b in crps]
        best = min(baselines, key=lambda b: crps[b])
        happened = common["escalation"][chosen]
        for method in methods:
            table = scores[method]
            rows.append(
                ScoreRow(
                    period,
                    kind,
                    key,
                    method,
                    crps[method],
                    1.0 - crps[method] / crps[best] if crps[best] > 0 else float("nan"),
                    best,
                    brier(table["exceed"][chosen], common["exceed"][chosen]),
                    average_precision(table["escalate"][chosen], happened),
                    float(np.mean(table["inside90"][chosen])),
                    float(np.mean(table["inside50"][chosen])),
                    int(np.sum(chosen)),
                    int(np.sum(happened)),
                )
            )
    return rows
