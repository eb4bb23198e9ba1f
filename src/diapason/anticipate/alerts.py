"""Early warning: episodes of counts above what was forecast, as STIX alerts.

For whom: ``diapason anticipate alerts`` and the web interface. Each period of the scan
window is forecast one step ahead from what was known before it (see ``rolling``). A
period is flagged when

- **upper-tail**: the forecast gave a count at least as high as the one observed a
  probability below ``level`` (1% by default), or
- **change-point**: a CUSUM of the log-likelihood ratio of "the mean has doubled" against
  the forecast (the negative binomial CUSUM of count surveillance, Höhle and Paul 2008)
  passes its threshold: a run of periods each only a little high.

Flagged periods less than two periods apart form one **episode**, and an episode gives one
alert: its first and last period, its most surprising period (lowest probability), what
was observed there, the forecast mean and 5-95% range, and the probability. The alert's id
derives from the series and the episode's first period, so running the detection again
finds the same alert: unchanged, it is not written again; grown (a later period joined),
it is written as a new version of the same object.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from diapason.anticipate.model import Design, ModelError, min_history, nb_parameters
from diapason.anticipate.rolling import REFIT_EVERY, rolling_forecasts
from diapason.anticipate.series import Series, align
from diapason.domain.extensions import ALERT_EXTENSION_ID, NAMESPACE
from diapason.domain.grading import Lang
from diapason.domain.stix import new_object

ALERT_TYPE = "x-diapason-alert"
UPPER_TAIL = "upper-tail"
CHANGE_POINT = "change-point"
LEVEL = 0.01
WINDOW = 24
CUSUM_RATIO = 2.0  # the shift the CUSUM looks for: the mean doubled
CUSUM_THRESHOLD = 3.5  # log-likelihood ratio (about 33 to 1)
_MERGE_GAP = 1  # periods: a quiet period between two flagged ones does not end an episode


_WORDS: dict[str, dict[str, str]] = {
    "en": {
        UPPER_TAIL: "an observed count in the upper tail of its forecast",
        CHANGE_POINT: "a change point (a sustained rise)",
        "and": " and ",
        "one": "in {start}",
        "span": "from {start} to {end}",
        "text": (
            "{series}: {kinds} {when}. In {peak}, {observed} observed where "
            "the forecast expected {mean} (90% range {low}-{high}); a count this "
            "high had a probability of {probability}."
        ),
    },
    "fr": {
        UPPER_TAIL: "un nombre observé dans la queue haute de sa prévision",
        CHANGE_POINT: "une rupture (une hausse durable)",
        "and": " et ",
        "one": "en {start}",
        "span": "de {start} à {end}",
        "text": (
            "{series} : {kinds} {when}. En {peak}, {observed} observés quand "
            "la prévision attendait {mean} (intervalle à 90 % {low}-{high}) ; un "
            "nombre aussi élevé avait une probabilité de {probability}."
        ),
    },
}


@dataclass(frozen=True)
class Alert:
    """One episode of one series, explained: what was expected, what was seen, how likely."""

    series: str
    frequency: str
    kinds: tuple[str, ...]
    period_start: str
    period_end: str
    peak_period: str
    observed: float
    expected_mean: float
    expected_low: float
    expected_high: float
    probability: float

    @property
    def stix_id(self) -> str:
        """Deterministic: the same episode always has the same id."""
        name = f"{self.series}|{self.frequency}|{self.period_start}"
        return f"{ALERT_TYPE}--{uuid.uuid5(NAMESPACE, f'{ALERT_TYPE}:{name}')}"

    def explanation(
        self,
        lang: Lang = "en",
        *,
        series: str | None = None,
        period: Callable[[str], str] = str,
        number: Callable[[float, int], str] | None = None,
    ) -> str:
        """What the alert says, in English or French (the STIX description is English,
        with the series' key, periods as ``YYYY-MM`` and plain figures). A page passes
        the series as its readers name it, and its own ways of writing periods and
        numbers (``number(value, decimals)``)."""
        words = _WORDS[lang]
        kinds = words["and"].join(words[kind] for kind in self.kinds)
        span = "one" if self.period_start == self.period_end else "span"
        when = words[span].format(start=period(self.period_start), end=period(self.period_end))

        def figure(value: float, decimals: int) -> str:
            return number(value, decimals) if number else f"{value:.{decimals}f}"

        probability = f"{self.probability:.3g}"
        if number is not None:
            # As a percentage with two significant figures: « 0,005 % », "1.2%".
            percent = self.probability * 100
            decimals = max(0, 1 - math.floor(math.log10(percent))) if percent > 0 else 0
            probability = number(percent, decimals) + (" %" if lang == "fr" else "%")
        return words["text"].format(
            series=series or self.series,
            kinds=kinds,
            when=when,
            peak=period(self.peak_period),
            observed=figure(self.observed, 0),
            mean=figure(self.expected_mean, 1),
            low=figure(self.expected_low, 0),
            high=figure(self.expected_high, 0),
            probability=probability,
        )

    def properties(self) -> dict[str, Any]:
        """The alert's own STIX properties (what re-detection compares)."""
        return {
            "name": f"Early warning: {self.series} {self.period_start}"
            + (f" to {self.period_end}" if self.period_end != self.period_start else ""),
            "description": self.explanation(),
            "series": self.series,
            "frequency": self.frequency,
            "alert_kinds": list(self.kinds),
            "period_start": self.period_start,
            "period_end": self.period_end,
            "peak_period": self.peak_period,
            "observed": self.observed,
            "expected_mean": round(self.expected_mean, 3),
            "expected_low": self.expected_low,
            "expected_high": self.expected_high,
            "probability": round(self.probability, 6),
        }

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.stix_id, **self.properties()}


@dataclass(frozen=True)
class _Flag:
    column: int
    kind: str
    probability: float
    observed: float
    mean: float
    low: float
    high: float


def detect_alerts(
    series: Sequence[Series],
    *,
    window: int = WINDOW,
    level: float = LEVEL,
    refit_every: int = REFIT_EVERY,
) -> tuple[list[Alert], list[str]]:
    """Alerts over the last ``window`` periods of each series, and notes on series that
    could not be scanned (too little history: no alert is better than a made-up one)."""
    aligned = align(series)
    length = aligned.counts.shape[1]
    needed = min_history(aligned.frequency) + 1
    if length < needed:
        return [], [
            f"{length} periods of history: alerts need at least {needed} (the model must "
            "have two years to learn from before it can call a count surprising)"
        ]
    design = Design.of(aligned.counts, aligned.frequency, aligned.start)
    first_origin = max(min_history(aligned.frequency) - 1, length - 1 - window)
    flags: dict[int, list[_Flag]] = {row: [] for row in range(len(aligned.names))}
    cusum = np.zeros(len(aligned.names))
    try:
        issued_all = list(
            rolling_forecasts(design, first_origin, length - 2, 1, refit_every=refit_every)
        )
    except ModelError as error:
        return [], [f"no alerts: the model cannot be fitted ({error})"]
    for issued in issued_all:
        column = issued.origin + 1
        observed = aligned.counts[:, column]
        size, p = nb_parameters(issued.mean, issued.alpha)
        upper = stats.nbinom.sf(observed - 1, size, p)
        low = stats.nbinom.ppf(0.05, size, p)
        high = stats.nbinom.ppf(0.95, size, p)
        shifted = CUSUM_RATIO * issued.mean
        ratio = observed * np.log(CUSUM_RATIO) - (observed + size) * np.log(
            (size + shifted) / (size + issued.mean)
        )
        cusum = np.maximum(0.0, cusum + ratio)
        for row in range(len(aligned.names)):
            kind = None
            if upper[row] < level and observed[row] > 0:
                kind = UPPER_TAIL
            elif cusum[row] > CUSUM_THRESHOLD and observed[row] > issued.mean[row]:
                kind = CHANGE_POINT
            if kind is not None:
                # A signal restarts the CUSUM: the evidence is spent on this period, so a
                # surge that has ended does not keep flagging the periods after it.
                cusum[row] = 0.0
                flags[row].append(
                    _Flag(
                        column,
                        kind,
                        float(upper[row]),
                        float(observed[row]),
                        float(issued.mean[row]),
                        float(low[row]),
                        float(high[row]),
                    )
                )
    alerts = []
    for row, found in flags.items():
        for episode in _episodes(found):
            alerts.append(_alert(aligned.series(row), episode))
    return alerts, []


def _episodes(flags: list[_Flag]) -> list[list[_Flag]]:
    episodes: list[list[_Flag]] = []
    for flag in flags:
        if episodes and flag.column - episodes[-1][-1].column <= _MERGE_GAP + 1:
            episodes[-1].append(flag)
        else:
            episodes.append([flag])
    return episodes


def _alert(series: Series, episode: list[_Flag]) -> Alert:
    peak = min(episode, key=lambda flag: (flag.probability, -flag.observed))
    kinds = tuple(
        kind for kind in (UPPER_TAIL, CHANGE_POINT) if any(f.kind == kind for f in episode)
    )
    return Alert(
        series=series.name,
        frequency=series.frequency,
        kinds=kinds,
        period_start=series.label(episode[0].column),
        period_end=series.label(episode[-1].column),
        peak_period=series.label(peak.column),
        observed=peak.observed,
        expected_mean=peak.mean,
        expected_low=peak.low,
        expected_high=peak.high,
        probability=peak.probability,
    )


def alert_object(
    alert: Alert,
    *,
    created: str,
    modified: str,
    created_by: str | None,
    marking_refs: Sequence[str],
) -> dict[str, Any]:
    """The ``x-diapason-alert`` STIX object of an alert (a new SDO declared by Diapason's
    alert extension-definition)."""
    return new_object(
        ALERT_TYPE,
        object_id=alert.stix_id,
        created=created,
        now=modified,
        created_by_ref=created_by,
        markings=sorted(set(marking_refs)),
        **alert.properties(),
        extensions={ALERT_EXTENSION_ID: {"extension_type": "new-sdo"}},
    )
