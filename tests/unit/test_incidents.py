from datetime import UTC, datetime, timedelta

import pytest

from omp.domain import incidents
from omp.domain.alarms import Severity
from omp.domain.errors import Conflict, NotFound, ValidationFailed
from omp.domain.incidents import IncidentAlarm, IncidentPolicy, IncidentStatus

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LATER = T0 + timedelta(minutes=5)


def alarm(i, severity=Severity.WARNING, resource=None):
    return IncidentAlarm(alarm_id=f"alm_{i}", severity=severity, resource=resource, name=f"a{i}")


def incident(*alarms, inc_id="inc_1"):
    return incidents.open_incident(
        incident_id=inc_id, group_key="g", alarms=alarms or (alarm(1),), now=T0, rule="r"
    )


@pytest.mark.parametrize(
    ("severities", "expected"),
    [
        ([Severity.INFO], Severity.INFO),
        ([Severity.WARNING, Severity.CRITICAL, Severity.MINOR], Severity.CRITICAL),
        ([Severity.MINOR, Severity.MAJOR], Severity.MAJOR),
        ([Severity.INFO, Severity.WARNING], Severity.WARNING),
    ],
)
def test_severity_is_the_highest_of_its_alarms(severities, expected):
    inc = incident(*(alarm(i, s) for i, s in enumerate(severities)))
    assert inc.severity is expected


def test_open_incident():
    inc = incident(alarm(1, resource="i-2"), alarm(2, resource="i-1"), alarm(3, resource="i-1"))
    assert inc.status is IncidentStatus.OPEN and inc.version == 1
    assert inc.alarm_ids == ("alm_1", "alm_2", "alm_3")
    assert inc.affected_resources == ("i-1", "i-2")
    assert inc.title == "a1 and 2 more"
    assert [e.kind for e in inc.timeline] == ["opened"]
    body = inc.to_dict()
    assert body["opened_at"] == "2026-03-01T12:00:00.000Z" and body["severity"] == "warning"


def test_open_incident_validation():
    with pytest.raises(ValidationFailed):
        incidents.open_incident(incident_id="inc_1", group_key="g", alarms=(), now=T0)
    with pytest.raises(ValidationFailed):
        incident(alarm(1), alarm(1))


def test_add_alarm_raises_severity_and_is_idempotent():
    inc = incidents.add_alarm(incident(), alarm(2, Severity.CRITICAL, "db-1"), LATER)
    assert inc.severity is Severity.CRITICAL and inc.version == 2
    assert inc.affected_resources == ("db-1",)
    assert incidents.add_alarm(inc, alarm(2, Severity.CRITICAL, "db-1"), LATER) is inc


@pytest.mark.parametrize(
    ("steps", "status"),
    [
        (["ack"], IncidentStatus.ACKNOWLEDGED),
        (["resolve"], IncidentStatus.RESOLVED),
        (["ack", "resolve"], IncidentStatus.RESOLVED),
        (["ack", "ack"], Conflict),
        (["resolve", "ack"], Conflict),
        (["resolve", "resolve"], Conflict),
    ],
)
def test_lifecycle(steps, status):
    inc = incident()
    do = {
        "ack": lambda i: incidents.acknowledge(i, LATER, "me"),
        "resolve": lambda i: incidents.resolve(i, LATER, "me", "fixed"),
    }
    if status is Conflict:
        with pytest.raises(Conflict):
            for step in steps:
                inc = do[step](inc)
    else:
        for step in steps:
            inc = do[step](inc)
        assert inc.status is status


def test_auto_resolve_when_all_alarms_resolved():
    inc = incident(alarm(1), alarm(2))
    inc = incidents.alarm_resolved(inc, "alm_1", LATER)
    assert inc.status is IncidentStatus.OPEN
    inc = incidents.alarm_resolved(inc, "alm_2", LATER)
    assert inc.status is IncidentStatus.RESOLVED and inc.resolved_by == "auto"
    assert [e.kind for e in inc.timeline][-1] == "resolved"


def test_auto_resolve_can_be_turned_off():
    off = IncidentPolicy(auto_resolve=False)
    inc = incidents.alarm_resolved(incident(), "alm_1", LATER, off)
    assert inc.status is IncidentStatus.OPEN and inc.all_alarms_resolved


def test_alarm_resolved_twice_is_a_no_op_and_unknown_alarm_is_not_found():
    inc = incidents.alarm_resolved(incident(alarm(1), alarm(2)), "alm_1", LATER)
    assert incidents.alarm_resolved(inc, "alm_1", LATER) is inc
    with pytest.raises(NotFound):
        incidents.alarm_resolved(inc, "alm_9", LATER)


def test_alarm_reopened_counts_as_firing_again():
    inc = incidents.alarm_resolved(incident(alarm(1), alarm(2)), "alm_1", LATER)
    inc = incidents.alarm_reopened(inc, "alm_1", LATER)
    assert not inc.alarm("alm_1").resolved
    inc = incidents.alarm_resolved(inc, "alm_2", LATER)
    assert inc.status is IncidentStatus.OPEN


def test_resolved_incident_takes_no_alarms():
    inc = incidents.resolve(incident(), LATER, "me")
    with pytest.raises(Conflict):
        incidents.add_alarm(inc, alarm(2), LATER)


def test_merge_moves_alarms_and_closes_the_source():
    target = incident(alarm(1, Severity.MINOR), inc_id="inc_a")
    source = incident(alarm(1), alarm(2, Severity.CRITICAL), inc_id="inc_b")
    merged, closed = incidents.merge(target, source, LATER, "me")
    assert merged.alarm_ids == ("alm_1", "alm_2") and merged.severity is Severity.CRITICAL
    assert closed.status is IncidentStatus.MERGED and closed.merged_into == "inc_a"
    assert not closed.active
    with pytest.raises(ValidationFailed, match="itself") as into_self:
        incidents.merge(target, target, LATER, "me")
    assert into_self.value.code == "MERGE_INTO_SELF"
    with pytest.raises(ValidationFailed) as not_active:
        incidents.merge(merged, closed, LATER, "me")
    assert not_active.value.code == "INCIDENT_NOT_ACTIVE"
    with pytest.raises(ValidationFailed):
        incidents.merge(incidents.resolve(target, LATER, "me"), source, LATER, "me")
    assert incidents.event_for(source, closed, "me").detail_type == "IncidentResolved"
    assert incidents.event_for(target, merged, "me").detail_type == "IncidentUpdated"


def test_split_several_alarms_and_find_an_earlier_split():
    inc = incident(alarm(1), alarm(2, resource="db"), alarm(3, resource="web"))
    left, new = incidents.split(
        inc, ("alm_2", "alm_3", "alm_2"), new_incident_id="inc_new", now=LATER, actor="me"
    )
    assert left.alarm_ids == ("alm_1",) and left.version == inc.version + 1
    assert new.alarm_ids == ("alm_2", "alm_3") and new.affected_resources == ("db", "web")
    assert new.group_key == incidents.split_group_key("inc_new") and new.rule == "split"
    assert incidents.split_from(left, ("alm_2", "alm_3")) == "inc_new"
    assert incidents.split_from(left, ("alm_3",)) == "inc_new"
    assert incidents.split_from(left, ("alm_1",)) is None  # still there: not split yet
    assert incidents.split_from(inc, ("alm_2",)) is None
    with pytest.raises(Conflict):  # every alarm would leave
        incidents.split(inc, ("alm_1", "alm_2", "alm_3"), new_incident_id="x", now=LATER, actor="m")
    with pytest.raises(ValidationFailed):
        incidents.split(inc, (), new_incident_id="x", now=LATER, actor="m")


def test_split_an_alarm_out():
    inc = incident(alarm(1), alarm(2, Severity.CRITICAL, "db"))
    left, new = incidents.split(inc, "alm_2", new_incident_id="inc_new", now=LATER, actor="me")
    assert left.alarm_ids == ("alm_1",) and left.severity is Severity.WARNING
    assert new.id == "inc_new" and new.alarm_ids == ("alm_2",) and new.affected_resources == ("db",)
    with pytest.raises(Conflict):
        incidents.split(left, "alm_1", new_incident_id="inc_x", now=LATER, actor="me")
    with pytest.raises(NotFound):
        incidents.split(inc, "alm_9", new_incident_id="inc_x", now=LATER, actor="me")


def test_split_leaving_only_resolved_alarms_auto_resolves():
    inc = incidents.alarm_resolved(incident(alarm(1), alarm(2)), "alm_1", LATER)
    left, new = incidents.split(inc, "alm_2", new_incident_id="inc_new", now=LATER, actor="me")
    assert left.status is IncidentStatus.RESOLVED and new.status is IncidentStatus.OPEN


def test_events():
    inc = incident()
    assert incidents.event_for(None, inc, "c").detail_type == "IncidentOpened"
    acked = incidents.acknowledge(inc, LATER, "me")
    assert incidents.event_for(inc, acked, "me").detail_type == "IncidentUpdated"
    done = incidents.resolve(acked, LATER, "me")
    event = incidents.event_for(acked, done, "me")
    assert event.detail_type == "IncidentResolved"
    assert event.detail["incident"]["status"] == "resolved"
