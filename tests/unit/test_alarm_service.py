import pytest

from omp.adapters.memory import (
    FixedClock,
    MemoryAlarmRepository,
    MemoryAlertStateStore,
    MemoryPublisher,
)
from omp.domain import dedup
from omp.domain.alarms import AlarmQuery, AlarmStatus, CreateAlarm
from omp.domain.errors import BadRequest, Conflict, NotFound, TransientError
from omp.domain.queries import TimeRange
from omp.services import alarms


@pytest.fixture
def ports():
    return {"repo": MemoryAlarmRepository(), "events": MemoryPublisher(), "clock": FixedClock()}


def _create(ports, **fields):
    body = {"name": "disk full", "severity": "critical", **fields}
    return alarms.create_alarm(CreateAlarm.model_validate(body), actor="me", **ports)


def _change(ports, alarm_id, target, **kw):
    return alarms.change_status(
        alarm_id,
        target,
        actor="you",
        comment=kw.get("comment"),
        expected_version=kw.get("version"),
        **ports,
    )


def test_create_stores_and_publishes_alarm_raised(ports):
    alarm = _create(ports)
    assert ports["repo"].get(alarm.id) == alarm
    assert [e.detail_type for e in ports["events"].events] == ["AlarmRaised"]


def test_ack_then_resolve_publishes_each_step(ports):
    alarm = _create(ports)
    acked = _change(ports, alarm.id, AlarmStatus.ACKNOWLEDGED, comment="looking")
    assert (acked.status, acked.version, acked.acknowledged_by, acked.comment) == (
        AlarmStatus.ACKNOWLEDGED,
        2,
        "you",
        "looking",
    )
    resolved = _change(ports, alarm.id, AlarmStatus.RESOLVED, version=2)
    assert resolved.status is AlarmStatus.RESOLVED and resolved.resolved_by == "you"
    assert [e.detail_type for e in ports["events"].events] == [
        "AlarmRaised",
        "AlarmAcknowledged",
        "AlarmResolved",
    ]


def test_disallowed_transition_is_a_conflict_and_publishes_nothing(ports):
    alarm = _create(ports)
    _change(ports, alarm.id, AlarmStatus.RESOLVED)
    with pytest.raises(Conflict) as err:
        _change(ports, alarm.id, AlarmStatus.ACKNOWLEDGED)
    assert err.value.code == "INVALID_TRANSITION"
    assert len(ports["events"].events) == 2


def test_stale_version_is_a_conflict(ports):
    alarm = _create(ports)
    with pytest.raises(Conflict) as err:
        _change(ports, alarm.id, AlarmStatus.RESOLVED, version=7)
    assert err.value.code == "VERSION_CONFLICT"


@pytest.mark.parametrize(
    "alarm_id", ["alm_01ARZ3NDEKTSV4RRFFQ69G5FAV", "nope", "inc_01ARZ3NDEKTSV4RRFFQ69G5FAV"]
)
def test_unknown_ids_are_not_found(ports, alarm_id):
    with pytest.raises(NotFound) as err:
        alarms.get_alarm(alarm_id, repo=ports["repo"])
    assert err.value.code == "ALARM_NOT_FOUND"
    with pytest.raises(NotFound):
        _change(ports, alarm_id, AlarmStatus.RESOLVED)


def test_list_filters_and_pages(ports):
    for i in range(5):
        ports["clock"].advance(60)
        _create(ports, resource=f"i-{i % 2}", severity="major" if i % 2 else "minor")
    window = TimeRange.build(None, None, ports["clock"].now())
    page = alarms.list_alarms(
        AlarmQuery(window=window, limit=2, resource="i-0"), repo=ports["repo"]
    )
    assert len(page.items) == 2 and page.next_token
    rest = alarms.list_alarms(
        AlarmQuery(window=window, limit=2, resource="i-0", next_token=page.next_token),
        repo=ports["repo"],
    )
    assert len(rest.items) == 1 and rest.next_token is None
    assert all(a.resource == "i-0" for a in page.items + rest.items)
    with pytest.raises(BadRequest):
        alarms.list_alarms(AlarmQuery(window=window, next_token="%%%"), repo=ports["repo"])


def _source_alarm(ports, states):
    """An alarm as the pipeline stores it: from a source, with its dedup state."""
    alarm = _create(ports).model_copy(update={"source": "generic", "fingerprint": "fp"})
    ports["repo"].alarms[alarm.id] = alarm
    now = ports["clock"].now()
    states.put(
        dedup.AlertState(
            source="generic",
            fingerprint="fp",
            alarm_id=alarm.id,
            status=dedup.AlertStatus.OPEN,
            occurrences=3,
            first_seen=now,
            last_seen=now,
            last_change=now,
            changes=(now,),
        ),
        None,
    )
    return alarm


def test_a_source_alarm_moves_its_dedup_state_and_counts_on_its_timeline(ports):
    states = MemoryAlertStateStore()
    alarm = _source_alarm(ports, states)
    _change(ports | {"states": states}, alarm.id, AlarmStatus.ACKNOWLEDGED)
    assert states.get("generic", "fp").status is dedup.AlertStatus.ACKNOWLEDGED
    people = ports["repo"].people_timeline(alarm.id)
    (entry,) = states.timeline(alarm.id, people=people).items
    assert (entry.kind, entry.occurrences, entry.actor) == ("acknowledged", 3, "you")


class _Throttled(MemoryAlertStateStore):
    def get(self, source, fingerprint):
        raise TransientError("throttled", code="THROTTLED")


def test_a_throttled_dedup_state_does_not_undo_the_answer_or_lose_the_event(ports):
    states = _Throttled()
    alarm = _source_alarm(ports, MemoryAlertStateStore())
    resolved = _change(ports | {"states": states}, alarm.id, AlarmStatus.RESOLVED)
    assert resolved.status is AlarmStatus.RESOLVED
    assert ports["events"].events[-1].detail_type == "AlarmResolved"
    (entry,) = ports["repo"].people_timeline(alarm.id)
    assert (entry.kind, entry.occurrences) == ("resolved", 0)
