"""Alerts: planted escalations are found, one alert per episode, written once, valid STIX."""

from __future__ import annotations

import numpy as np
import pytest
from stix2validator import ValidationOptions, validate_instance

from diapason.anticipate.alerts import (
    CHANGE_POINT,
    UPPER_TAIL,
    Alert,
    alert_object,
    detect_alerts,
)
from diapason.anticipate.publish import publish_alerts
from diapason.anticipate.series import Series
from diapason.anticipate.synthetic import Escalation, synthetic_series
from diapason.audit import AuditLog
from diapason.domain.extensions import (
    ALERT_EXTENSION_ID,
    TLP_2_0_IDS,
    extension_definitions,
    extension_schema,
)
from diapason.store.sql import SqlStore


def quiet_then_surge(surge: list[float], name: str = "ML/all") -> Series:
    """Four quiet years of noisy counts around 5 a month, then ``surge``."""
    rng = np.random.default_rng(7)
    quiet = rng.poisson(5.0, 48).astype(float)
    return Series(name, "month", 2020 * 12, np.r_[quiet, np.array(surge)])


def test_planted_escalations_are_found() -> None:
    series, planted = synthetic_series(30, 120, seed=1)
    alerts, notes = detect_alerts(series, window=96)
    assert not notes
    by_name = {s.name: s for s in series}

    def found(truth: Escalation) -> bool:
        first = by_name[truth.series].label(truth.first)
        last = by_name[truth.series].label(truth.last)
        return any(
            a.series == truth.series and a.period_start <= last and a.period_end >= first
            for a in alerts
        )

    # Planted escalations are 2-5 periods at 4-8 times the level: nearly all are found
    # (a short one at 4 times a noisy level can hide in the noise).
    assert sum(found(truth) for truth in planted) >= 0.85 * len(planted)
    # Alerts are episodes, not periods: far fewer than the periods scanned.
    assert len(alerts) < 0.05 * 30 * 96


def test_one_alert_per_episode_with_its_explanation() -> None:
    series = quiet_then_surge([40.0, 55.0, 4.0, 60.0, 5.0, 6.0, 4.0, 5.0, 6.0, 5.0])
    alerts, _ = detect_alerts([series], window=12)
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert.period_start == "2024-01" and alert.period_end == "2024-04"
    assert UPPER_TAIL in alert.kinds
    assert alert.observed in (40.0, 55.0, 60.0)
    assert alert.expected_low <= alert.expected_mean <= alert.expected_high < alert.observed
    assert 0 <= alert.probability < 0.01
    text = alert.explanation()
    assert "ML/all" in text and f"{alert.observed:.0f} observed" in text
    french = alert.explanation("fr")
    assert "queue haute de sa prévision" in french and f"{alert.observed:.0f} observés" in french
    # A page names the series, the months and the figures its readers' way.
    shown = alert.explanation(
        "fr",
        series="Mali · tous les événements",
        period=lambda period: {"2024-01": "janvier 2024", "2024-04": "avril 2024"}[period],
        number=lambda value, decimals: f"{value:.{decimals}f}".replace(".", ","),
    )
    assert shown.startswith("Mali · tous les événements : ")
    assert "de janvier 2024 à avril 2024" in shown and "ML/all" not in shown
    mean = f"{alert.expected_mean:.1f}".replace(".", ",")
    assert f"la prévision attendait {mean} (" in shown
    assert shown.endswith(" %.") and "e-" not in shown


def test_a_sustained_rise_is_a_change_point() -> None:
    series = quiet_then_surge([9.0, 10.0, 11.0, 10.0, 12.0, 11.0])
    alerts, _ = detect_alerts([series], window=8)
    assert alerts and CHANGE_POINT in alerts[-1].kinds


def test_same_data_same_alert_ids() -> None:
    series = quiet_then_surge([40.0, 3.0, 5.0])
    first, _ = detect_alerts([series], window=6)
    again, _ = detect_alerts([series], window=10)
    assert [a.stix_id for a in first] == [a.stix_id for a in again]


def test_too_short_history_gives_no_alert_and_says_why() -> None:
    alerts, notes = detect_alerts([Series("a", "month", 0, np.array([1.0, 90.0]))])
    assert alerts == [] and "alerts need at least 25" in notes[0]


def test_alert_objects_pass_the_stix_validator() -> None:
    alerts, _ = detect_alerts([quiet_then_surge([40.0, 55.0])], window=6)
    obj = alert_object(
        alerts[0],
        created="2024-03-01T00:00:00.000Z",
        modified="2024-03-01T00:00:00.000Z",
        created_by="identity--6ba7b810-9dad-41d1-80b4-00c04fd430c8",
        marking_refs=[TLP_2_0_IDS["amber"]],
    )
    assert obj["extensions"] == {ALERT_EXTENSION_ID: {"extension_type": "new-sdo"}}
    result = validate_instance(obj, ValidationOptions(version="2.1"))
    assert result.is_valid, [str(e) for e in result.errors]
    definition = next(d for d in extension_definitions() if d["id"] == ALERT_EXTENSION_ID)
    assert definition["extension_types"] == ["new-sdo"]
    assert validate_instance(definition, ValidationOptions(version="2.1")).is_valid
    schema = extension_schema(ALERT_EXTENSION_ID)
    assert set(schema["required"]) <= set(obj)


def test_alerts_are_written_once_and_a_grown_episode_is_a_new_version(store: SqlStore) -> None:
    audit = AuditLog(store.engine)
    base = [40.0, 55.0, 5.0, 4.0]
    alerts, _ = detect_alerts([quiet_then_surge(base)], window=6)
    markings = {"ML/all": {TLP_2_0_IDS["green"]}}

    def publish(found: list[Alert]) -> tuple[list[str], list[str]]:
        done = publish_alerts(
            store,
            audit,
            found,
            actor="test",
            created_by=None,
            markings=markings,
            default_markings=[TLP_2_0_IDS["amber"]],
        )
        return done.written, done.unchanged

    written, unchanged = publish(alerts)
    assert written == [alerts[0].stix_id] and unchanged == []
    stored = store.get(alerts[0].stix_id)
    assert stored is not None
    assert stored.object["object_marking_refs"] == [TLP_2_0_IDS["green"]]
    # Running the detection again writes nothing.
    again, _ = detect_alerts([quiet_then_surge(base)], window=6)
    assert publish(again) == ([], [alerts[0].stix_id])
    assert len(store.versions(alerts[0].stix_id)) == 1
    # The episode grows by a period: same object, new version.
    grown, _ = detect_alerts([quiet_then_surge([*base[:2], 70.0, 5.0, 4.0])], window=7)
    assert [a.stix_id for a in grown] == [alerts[0].stix_id]
    written, _ = publish(grown)
    assert written == [alerts[0].stix_id]
    versions = store.versions(alerts[0].stix_id)
    assert len(versions) == 2
    assert versions[-1].object["period_end"] == "2024-03"
    assert versions[-1].object["created"] == versions[0].object["created"]
    entries = [e for e in audit.entries() if e.action == "create"]
    assert len(entries) == 2 and entries[0].object_ids == (alerts[0].stix_id,)


@pytest.mark.parametrize("level", [0.0, 0.5])
def test_level_bounds_the_upper_tail(level: float) -> None:
    alerts, _ = detect_alerts([quiet_then_surge([40.0, 5.0])], window=6, level=level)
    assert alerts
    assert any(UPPER_TAIL in a.kinds for a in alerts) == (level > 0)
