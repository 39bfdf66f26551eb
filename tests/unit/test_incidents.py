from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from omp.domain import incidents
from omp.domain.alarms import Severity
from omp.domain.errors import Conflict, ValidationFailed
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
    assert (inc.alarm_count, inc.open_alarm_count) == (3, 3)
    assert inc.affected_resources == ("i-1", "i-2") and inc.resources == {"i-1": 2, "i-2": 1}
    assert inc.title == "a1 and 2 more"
    assert [e.kind for e in inc.timeline] == ["opened"]
    body = inc.to_dict()
    assert body["opened_at"] == "2026-03-01T12:00:00.000Z" and body["severity"] == "warning"
    assert body["alarm_count"] == 3 and "alarms" not in body  # members are paged apart


def test_open_incident_validation():
    with pytest.raises(ValidationFailed):
        incidents.open_incident(incident_id="inc_1", group_key="g", alarms=(), now=T0)
    with pytest.raises(ValidationFailed):
        incident(alarm(1), alarm(1))


def test_add_alarm_raises_severity_and_counts():
    inc = incidents.add_alarm(incident(), alarm(2, Severity.CRITICAL, "db-1"), LATER)
    assert inc.severity is Severity.CRITICAL and inc.version == 2
    assert inc.affected_resources == ("db-1",) and inc.alarm_count == 2
    assert [e.kind for e in inc.timeline] == ["opened"]  # per-alarm changes: on the members


def test_resources_are_bounded():
    inc = incident()
    for i in range(2, incidents.MAX_RESOURCES + 5):
        inc = incidents.add_alarm(inc, alarm(i, resource=f"r-{i:03d}"), LATER)
    assert len(inc.resources) == incidents.MAX_RESOURCES and inc.resources_truncated
    assert inc.alarm_count == incidents.MAX_RESOURCES + 4


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
    inc = incidents.alarm_resolved(inc, alarm(1), LATER)
    assert inc.status is IncidentStatus.OPEN and inc.open_alarm_count == 1
    inc = incidents.alarm_resolved(inc, alarm(2), LATER)
    assert inc.status is IncidentStatus.RESOLVED and inc.resolved_by == "auto"
    assert [e.kind for e in inc.timeline][-1] == "resolved"


def test_auto_resolve_can_be_turned_off():
    off = IncidentPolicy(auto_resolve=False)
    inc = incidents.alarm_resolved(incident(), alarm(1), LATER, off)
    assert inc.status is IncidentStatus.OPEN and inc.all_alarms_resolved


def test_alarm_resolved_twice_is_a_no_op():
    inc = incidents.alarm_resolved(incident(alarm(1), alarm(2)), alarm(1), LATER)
    resolved_member = replace(alarm(1), resolved=True)
    assert incidents.alarm_resolved(inc, resolved_member, LATER) is inc


def test_alarm_reopened_counts_as_firing_again():
    inc = incidents.alarm_resolved(incident(alarm(1), alarm(2)), alarm(1), LATER)
    inc = incidents.alarm_reopened(inc, replace(alarm(1), resolved=True), LATER)
    assert inc.open_alarm_count == 2
    assert incidents.alarm_reopened(inc, alarm(1), LATER) is inc  # not resolved: no change
    inc = incidents.alarm_resolved(inc, alarm(2), LATER)
    assert inc.status is IncidentStatus.OPEN


def test_resolved_incident_takes_no_alarms():
    inc = incidents.resolve(incident(), LATER, "me")
    with pytest.raises(Conflict):
        incidents.add_alarm(inc, alarm(2), LATER)


def test_timeline_is_bounded():
    inc = incident()
    for _ in range(incidents.MAX_TIMELINE + 10):
        inc = incidents.acknowledge(inc, LATER, "me") if inc.status is IncidentStatus.OPEN else inc
        inc = replace(inc, status=IncidentStatus.OPEN)
    assert len(inc.timeline) == incidents.MAX_TIMELINE and inc.timeline[0].kind == "opened"


def test_merge_moves_counters_and_closes_the_source():
    target = incident(alarm(1, Severity.MINOR, "a"), inc_id="inc_a")
    source = incident(alarm(2), alarm(3, Severity.CRITICAL, "a"), inc_id="inc_b")
    source = incidents.alarm_resolved(source, alarm(2), LATER)
    merged, closed = incidents.merge(target, source, LATER, "me")
    assert (merged.alarm_count, merged.open_alarm_count) == (3, 2)
    assert merged.severity is Severity.CRITICAL and merged.resources == {"a": 2}
    assert closed.status is IncidentStatus.MERGED and closed.merged_into == "inc_a"
    assert not closed.active and closed.alarm_count == 0
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


def test_split_several_alarms_and_name_the_split():
    a1, a2, a3 = alarm(1), alarm(2, resource="db"), alarm(3, resource="web")
    inc = incident(a1, a2, a3)
    left, new = incidents.split(inc, (a2, a3, a2), new_incident_id="inc_new", now=LATER, actor="me")
    assert left.alarm_count == 1 and left.version == inc.version + 1 and not left.resources
    assert new.alarm_count == 2 and new.affected_resources == ("db", "web")
    assert new.group_key == incidents.split_group_key("inc_new") and new.rule == "split"
    assert incidents.splits_made(left) == ["inc_new"] and incidents.splits_made(inc) == []
    with pytest.raises(Conflict):  # every alarm would leave
        incidents.split(inc, (a1, a2, a3), new_incident_id="x", now=LATER, actor="m")
    with pytest.raises(ValidationFailed):
        incidents.split(inc, (), new_incident_id="x", now=LATER, actor="m")
    many = tuple(alarm(i) for i in range(incidents.MAX_SPLIT + 1))
    with pytest.raises(ValidationFailed):
        incidents.split(
            incident(*many, alarm(999)), many, new_incident_id="x", now=LATER, actor="m"
        )


def test_split_an_alarm_out():
    inc = incident(alarm(1), alarm(2, Severity.CRITICAL, "db"))
    left, new = incidents.split(
        inc, (alarm(2, Severity.CRITICAL, "db"),), new_incident_id="inc_new", now=LATER, actor="me"
    )
    assert left.alarm_count == 1 and left.severity is Severity.WARNING
    assert new.id == "inc_new" and new.alarm_count == 1 and new.affected_resources == ("db",)
    with pytest.raises(Conflict):
        incidents.split(left, (alarm(1),), new_incident_id="inc_x", now=LATER, actor="me")


def test_split_leaving_only_resolved_alarms_auto_resolves():
    inc = incidents.alarm_resolved(incident(alarm(1), alarm(2)), alarm(1), LATER)
    left, new = incidents.split(inc, (alarm(2),), new_incident_id="inc_new", now=LATER, actor="me")
    assert left.status is IncidentStatus.RESOLVED and new.status is IncidentStatus.OPEN
    assert left.version == inc.version + 1 and new.version == 1


def test_events():
    inc = incident()
    opened = incidents.event_for(None, inc, "c", [alarm(1)])
    assert opened.detail_type == "IncidentOpened"
    assert opened.detail["incident"]["alarm_ids"] == ["alm_1"]
    acked = incidents.acknowledge(inc, LATER, "me")
    assert incidents.event_for(inc, acked, "me").detail_type == "IncidentUpdated"
    done = incidents.resolve(acked, LATER, "me")
    event = incidents.event_for(acked, done, "me")
    assert event.detail_type == "IncidentResolved"
    assert event.detail["incident"]["status"] == "resolved"
