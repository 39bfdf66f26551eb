from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from omp.domain import alarms
from omp.domain.alarms import AlarmStatus, CreateAlarm
from omp.domain.errors import Conflict, ValidationFailed
from omp.domain.ids import id_time_ms, is_id, new_id, ulid

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _alarm(**overrides):
    request = CreateAlarm(name="cpu high", severity="major", **overrides)
    return alarms.new_alarm(request, alarm_id=new_id("alm"), now=NOW, actor="me")


def test_new_alarm_is_open_version_one_with_rfc3339_times():
    alarm = _alarm(labels={"team": "sre"}, resource="i-1")
    assert alarm.status is AlarmStatus.OPEN
    assert alarm.version == 1
    assert alarm.triggered_at == "2026-03-01T12:00:00.000Z"
    assert alarm.created_by == "me"


def test_triggered_at_is_normalised_to_utc():
    alarm = _alarm(triggered_at="2026-03-01T13:30:00+02:00")
    assert alarm.triggered_at == "2026-03-01T11:30:00.000Z"


def test_triggered_at_far_in_the_future_is_refused():
    with pytest.raises(ValidationFailed):
        _alarm(triggered_at=(NOW + timedelta(hours=1)).isoformat())


@pytest.mark.parametrize(
    "body",
    [
        {"name": "", "severity": "major"},
        {"name": "x", "severity": "fatal"},
        {"name": "x", "severity": "major", "unknown": 1},
        {"name": "x", "severity": "major", "labels": {"bad key": "v"}},
        {"name": "x", "severity": "major", "labels": {f"k{i}": "v" for i in range(65)}},
        {"name": "x", "severity": "major", "triggered_at": "2026-03-01T12:00:00"},
        {"name": "x" * 257, "severity": "major"},
    ],
)
def test_invalid_bodies_are_rejected(body):
    with pytest.raises((ValidationError, ValueError)):
        CreateAlarm.model_validate(body)


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        (AlarmStatus.OPEN, AlarmStatus.ACKNOWLEDGED, True),
        (AlarmStatus.OPEN, AlarmStatus.RESOLVED, True),
        (AlarmStatus.ACKNOWLEDGED, AlarmStatus.RESOLVED, True),
        (AlarmStatus.ACKNOWLEDGED, AlarmStatus.ACKNOWLEDGED, False),
        (AlarmStatus.RESOLVED, AlarmStatus.ACKNOWLEDGED, False),
        (AlarmStatus.RESOLVED, AlarmStatus.RESOLVED, False),
    ],
)
def test_lifecycle(current, target, allowed):
    if allowed:
        alarms.check_transition("alm_x", current, target)
    else:
        with pytest.raises(Conflict) as err:
            alarms.check_transition("alm_x", current, target)
        assert err.value.code == "INVALID_TRANSITION"


def test_events_are_named_for_the_status():
    alarm = _alarm()
    event = alarms.event_for(alarm, "me")
    assert (event.source, event.detail_type) == ("omp.monitoring", "AlarmRaised")
    assert event.detail["alarm"]["id"] == alarm.id and event.detail["actor"] == "me"


def test_ids_are_prefixed_ulids_carrying_their_time():
    ms = int(NOW.timestamp() * 1000)
    value = new_id("alm", ms)
    assert is_id(value, "alm") and not is_id(value, "inc") and not is_id("alm_nope", "alm")
    assert id_time_ms(value) == ms
    assert len(ulid()) == 26 and ulid() != ulid()


@pytest.mark.parametrize(
    ("source", "detail_type"), [("monitoring", "AlarmRaised"), ("omp.monitoring", "alarm_raised")]
)
def test_domain_event_names_are_checked(source, detail_type):
    from omp.domain.events import DomainEvent

    with pytest.raises(ValueError):
        DomainEvent(source=source, detail_type=detail_type, detail={})
