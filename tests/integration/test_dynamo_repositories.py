"""The DynamoDB repositories against a DynamoDB API (moto here; DynamoDB Local in tests/conformance).

Only the `dynamodb` fixture is used, so the conformance tier re-runs these unchanged.
"""

from datetime import UTC, datetime, timedelta

import pytest

from omp.adapters.dynamo_alarms import DynamoAlarmRepository
from omp.adapters.dynamo_security import DynamoApiKeyStore, DynamoAuditLog
from omp.domain import alarms as domain
from omp.domain import dedup
from omp.domain.alarms import AlarmQuery, AlarmStatus, CreateAlarm
from omp.domain.audit import AuditEntry, AuditQuery
from omp.domain.dedup import AlertStatus
from omp.domain.errors import BadRequest, Conflict, NotFound
from omp.domain.ids import new_id
from omp.domain.queries import TimeRange
from tests import support

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def repo(dynamodb):
    return DynamoAlarmRepository(support.PREFIX + "monitoring")


def _alarm(repo, *, minutes_ago=0, **fields):
    triggered = NOW - timedelta(minutes=minutes_ago)
    request = CreateAlarm.model_validate(
        {"name": "cpu", "severity": "major", "triggered_at": triggered.isoformat(), **fields}
    )
    alarm = domain.new_alarm(
        request, alarm_id=new_id("alm", int(triggered.timestamp() * 1000)), now=NOW, actor="me"
    )
    repo.put_new(alarm)
    return alarm


def _changes(target):
    return domain.transition_changes(target, now=NOW, actor="you", comment=None)


def test_put_get_round_trip(repo):
    alarm = _alarm(repo, labels={"team": "sre", "env": "prod"}, resource="arn:aws:ec2:x")
    assert repo.get(alarm.id) == alarm
    assert repo.get(new_id("alm")) is None


def test_put_new_twice_conflicts(repo):
    alarm = _alarm(repo)
    with pytest.raises(Conflict) as err:
        repo.put_new(alarm)
    assert err.value.code == "ALARM_EXISTS"


def test_change_status_is_one_conditional_write(repo):
    alarm = _alarm(repo)
    acked = repo.change_status(
        alarm.id, AlarmStatus.ACKNOWLEDGED, _changes(AlarmStatus.ACKNOWLEDGED), expected_version=1
    )
    assert (acked.status, acked.version, acked.acknowledged_by) == (
        AlarmStatus.ACKNOWLEDGED,
        2,
        "you",
    )
    assert repo.get(alarm.id) == acked


def test_change_status_names_the_failed_condition(repo):
    alarm = _alarm(repo)
    with pytest.raises(Conflict) as err:
        repo.change_status(
            alarm.id, AlarmStatus.RESOLVED, _changes(AlarmStatus.RESOLVED), expected_version=3
        )
    assert err.value.code == "VERSION_CONFLICT"
    repo.change_status(
        alarm.id, AlarmStatus.RESOLVED, _changes(AlarmStatus.RESOLVED), expected_version=None
    )
    with pytest.raises(Conflict) as err:
        repo.change_status(
            alarm.id,
            AlarmStatus.ACKNOWLEDGED,
            _changes(AlarmStatus.ACKNOWLEDGED),
            expected_version=None,
        )
    assert err.value.code == "INVALID_TRANSITION"
    with pytest.raises(NotFound):
        repo.change_status(
            new_id("alm"),
            AlarmStatus.RESOLVED,
            _changes(AlarmStatus.RESOLVED),
            expected_version=None,
        )


def _person(alarm_id, status, minute, comment=""):
    return dedup.person_entry(alarm_id, status, NOW + timedelta(minutes=minute), "you", comment)


def test_a_person_change_and_its_timeline_entry_are_one_write(repo):
    alarm = _alarm(repo)
    assert repo.people_timeline(alarm.id) == []
    ack = _person(alarm.id, AlertStatus.ACKNOWLEDGED, 1, "looking")
    acked = repo.change_status(
        alarm.id,
        AlarmStatus.ACKNOWLEDGED,
        _changes(AlarmStatus.ACKNOWLEDGED),
        expected_version=1,
        entry=ack,
    )
    assert repo.get(alarm.id) == acked  # the entries are not fields of the alarm
    late = _person(alarm.id, AlertStatus.ACKNOWLEDGED, 2)
    with pytest.raises(Conflict):  # a refused change keeps no entry
        repo.change_status(
            alarm.id,
            AlarmStatus.ACKNOWLEDGED,
            _changes(AlarmStatus.ACKNOWLEDGED),
            expected_version=None,
            entry=late,
        )
    done = _person(alarm.id, AlertStatus.RESOLVED, 3)
    repo.change_status(
        alarm.id,
        AlarmStatus.RESOLVED,
        _changes(AlarmStatus.RESOLVED),
        expected_version=2,
        entry=done,
    )
    assert repo.people_timeline(alarm.id) == [ack, done]
    assert repo.people_timeline(new_id("alm")) is None


def test_past_its_cap_a_person_entry_is_an_item_of_its_own(repo):
    """An alarm the pipeline reopens again and again: the item keeps MAX_PEOPLE_ENTRIES entries
    (it would otherwise grow past 400 KB and refuse every change); later entries are `T#` items
    and the timeline still reads every one, in order."""
    from omp.adapters.dynamo_alarms import MAX_PEOPLE_ENTRIES
    from omp.adapters.dynamo_alerting import DynamoAlertStateStore

    alarm = _alarm(repo)
    made = []
    for cycle in range(MAX_PEOPLE_ENTRIES):  # twice the cap: an ack and a resolve a cycle
        for n, (target, status) in enumerate(
            ((AlarmStatus.ACKNOWLEDGED, AlertStatus.ACKNOWLEDGED),
             (AlarmStatus.RESOLVED, AlertStatus.RESOLVED))
        ):  # fmt: skip
            entry = _person(alarm.id, status, 10 * cycle + n, "é" * 4096)
            repo.change_status(
                alarm.id, target, _changes(target), expected_version=None, entry=entry
            )
            made.append(entry)
        repo.reopen(alarm.id, {"updated_at": NOW.isoformat()})
    assert repo.people_timeline(alarm.id) == made[:MAX_PEOPLE_ENTRIES]
    states = DynamoAlertStateStore(support.PREFIX + "monitoring")
    people = repo.people_timeline(alarm.id)
    assert states.timeline(alarm.id, limit=200, people=people).items == made
    assert repo.get(alarm.id).status is AlarmStatus.OPEN


def _ids(page):
    return [a.id for a in page.items]


def test_list_by_time_status_resource_and_filters_pages_without_gaps(repo):
    made = [
        _alarm(
            repo,
            minutes_ago=i * 60 * 7,
            resource=f"host-{i % 3}",
            severity="critical" if i % 2 else "minor",
            source="cloudwatch" if i % 4 else "api",
        )
        for i in range(12)  # spread over ~3.5 days
    ]
    repo.change_status(
        made[0].id, AlarmStatus.RESOLVED, _changes(AlarmStatus.RESOLVED), expected_version=None
    )
    window = TimeRange.build(None, NOW, NOW)

    def collect(**filters):
        seen, token = [], None
        while True:
            page = repo.list(AlarmQuery(window=window, limit=2, next_token=token, **filters))
            assert len(page.items) <= 2
            seen += _ids(page)
            token = page.next_token
            if not token:
                return seen

    newest_first = [a.id for a in made]
    assert collect() == newest_first
    assert collect(status=AlarmStatus.OPEN) == newest_first[1:]
    assert collect(status=AlarmStatus.RESOLVED) == [made[0].id]
    assert collect(resource="host-1") == [a.id for a in made if a.resource == "host-1"]
    assert collect(severity="critical", source="cloudwatch") == [
        a.id for a in made if a.severity == "critical" and a.source == "cloudwatch"
    ]
    assert collect(name="nope") == []
    narrow = TimeRange.build(NOW - timedelta(hours=8), NOW, NOW)
    assert _ids(repo.list(AlarmQuery(window=narrow, limit=50))) == [made[0].id, made[1].id]


def test_foreign_next_token_is_400(repo):
    with pytest.raises(BadRequest):
        repo.list(AlarmQuery(window=TimeRange.build(None, NOW, NOW), next_token="garbage!"))


def test_audit_log_records_once_and_lists_newest_first(dynamodb):
    log = DynamoAuditLog(support.PREFIX + "security")

    def entry(i):
        return AuditEntry(
            event_id=f"e-{i}",
            time=f"2026-03-10T0{i}:00:00Z",
            source="omp.monitoring",
            detail_type="AlarmRaised",
            actor="me",
            resources=[],
            detail={"n": i},
        )

    assert log.record(entry(1)) and log.record(entry(2))
    assert not log.record(entry(1))
    page = log.list(AuditQuery(window=TimeRange.build(None, NOW, NOW), limit=10))
    assert [e.event_id for e in page.items] == ["e-2", "e-1"]
    only = log.list(AuditQuery(window=TimeRange.build(None, NOW, NOW), detail_type="Nope"))
    assert only.items == []


def test_api_keys_round_trip(dynamodb):
    keys = DynamoApiKeyStore(support.PREFIX + "security")
    keys.put("abc", {"principal": "ci", "roles": ["operator"], "revoked": False})
    assert keys.find("abc")["roles"] == ["operator"]
    assert keys.find("def") is None


def test_reopen_moves_only_a_resolved_alarm_back_to_open(repo):
    alarm = _alarm(repo)
    assert (
        repo.reopen(alarm.id, {"updated_at": "2026-03-10T12:01:00.000Z"}) == alarm
    )  # already open
    repo.change_status(
        alarm.id,
        AlarmStatus.ACKNOWLEDGED,
        _changes(AlarmStatus.ACKNOWLEDGED),
        expected_version=None,
    )
    with pytest.raises(Conflict) as err:
        repo.reopen(alarm.id, {"updated_at": "2026-03-10T12:05:00.000Z"})
    assert err.value.code == "INVALID_TRANSITION"
    repo.change_status(
        alarm.id, AlarmStatus.RESOLVED, _changes(AlarmStatus.RESOLVED), expected_version=None
    )
    reopened = repo.reopen(alarm.id, {"updated_at": "2026-03-10T12:06:00.000Z"})
    assert (reopened.status, reopened.resolved_at, reopened.version) == (AlarmStatus.OPEN, None, 4)
    window = TimeRange.build(None, NOW, NOW)
    assert [a.id for a in repo.list(AlarmQuery(window=window, status=AlarmStatus.OPEN)).items] == [
        alarm.id
    ]
    assert repo.list(AlarmQuery(window=window, status=AlarmStatus.RESOLVED)).items == []
    assert (
        repo.reopen(alarm.id, {"updated_at": "2026-03-10T12:07:00.000Z"}).version == 4
    )  # idempotent
    with pytest.raises(NotFound):
        repo.reopen(new_id("alm"), {"updated_at": "2026-03-10T12:07:00.000Z"})
