"""The silence, maintenance-window and inhibition-rule stores against a DynamoDB API (moto here;
DynamoDB Local in tests/conformance/test_dynamodb_local_silences.py). Only the `dynamodb`
fixture is used, so the conformance tier re-runs these unchanged."""

from datetime import UTC, datetime, timedelta

import pytest

from omp.adapters.dynamo_silences import (
    DynamoInhibitionRuleStore,
    DynamoMaintenanceWindowStore,
    DynamoSilenceStore,
)
from omp.domain.errors import BadRequest, Conflict, NotFound
from omp.domain.ids import new_id
from omp.domain.inhibition import InhibitionRuleRecord, InhibitRule
from omp.domain.matchers import Matcher, parse_matchers
from omp.domain.silences import (
    MaintenanceWindow,
    RecurringSchedule,
    Silence,
    SilenceRecord,
    SilenceState,
)
from tests import support

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
TABLE = support.PREFIX + "monitoring"


@pytest.fixture
def silence_store(dynamodb):
    return DynamoSilenceStore(TABLE)


@pytest.fixture
def window_store(dynamodb):
    return DynamoMaintenanceWindowStore(TABLE)


@pytest.fixture
def rule_store(dynamodb):
    return DynamoInhibitionRuleStore(TABLE)


def silence(start_min=0, end_min=60, **fields):
    values = {
        "id": new_id("sil"),
        "matchers": parse_matchers('{alertname="DiskFull", instance=~"db-[0-9]+"}'),
        "starts_at": NOW + timedelta(minutes=start_min),
        "ends_at": NOW + timedelta(minutes=end_min),
        "created_by": "alice",
        "created_at": NOW,
        "comment": "resize",
    }
    return Silence(**(values | fields))


def test_silence_round_trip_and_conflict(silence_store):
    record = SilenceRecord(silence(ticket="CHG-1"))
    silence_store.put_new(record)
    assert silence_store.get(record.silence.id) == record
    assert silence_store.get(new_id("sil")) is None
    with pytest.raises(Conflict) as err:
        silence_store.put_new(record)
    assert err.value.code == "SILENCE_EXISTS"


def test_save_is_conditional_on_the_version_and_keeps_the_flags(silence_store):
    record = SilenceRecord(silence())
    silence_store.put_new(record)
    assert silence_store.mark(record.silence.id, "warned_at", NOW)
    expired = record.silence.expire(NOW + timedelta(minutes=5))
    saved = silence_store.save(SilenceRecord(expired), expected_version=1)
    assert saved.version == 2 and saved.silence == expired and saved.warned_at == NOW
    assert silence_store.get(record.silence.id) == saved
    with pytest.raises(Conflict) as err:
        silence_store.save(SilenceRecord(expired), expected_version=1)
    assert err.value.code == "VERSION_CONFLICT"
    with pytest.raises(NotFound) as missing:
        silence_store.save(SilenceRecord(silence()), expected_version=1)
    assert missing.value.code == "SILENCE_NOT_FOUND"
    # the index follows the new end: it is expired now, no longer unexpired
    later = NOW + timedelta(minutes=6)
    assert silence_store.unexpired(later) == []
    assert [r.silence.id for r in silence_store.list(SilenceState.EXPIRED, later).items] == [
        record.silence.id
    ]


def test_list_by_state_pages_through_the_filter(silence_store):
    active = [silence(-10, 60 + n) for n in range(5)]
    pending = [silence(30, 90 + n) for n in range(5)]
    expired = [silence(-60, -5 - n) for n in range(3)]
    for s in active + pending + expired:
        silence_store.put_new(SilenceRecord(s))

    def all_pages(state):
        ids, token = [], None
        while True:
            page = silence_store.list(state, NOW, limit=2, next_token=token)
            assert len(page.items) <= 2
            ids += [r.silence.id for r in page.items]
            token = page.next_token
            if not token:
                return ids

    # latest end first
    assert all_pages(SilenceState.ACTIVE) == [s.id for s in reversed(active)]
    assert all_pages(SilenceState.PENDING) == [s.id for s in reversed(pending)]
    assert all_pages(SilenceState.EXPIRED) == [s.id for s in expired]
    assert len(all_pages(None)) == 13
    assert {s.id for s in silence_store.unexpired(NOW)} == {s.id for s in active + pending}


def test_a_token_from_another_listing_is_a_400(silence_store, window_store):
    for n in range(3):
        window_store.put_new(window(n))
    token = window_store.list(limit=1).next_token
    assert token
    with pytest.raises(BadRequest) as err:
        silence_store.list(None, NOW, limit=1, next_token=token)
    assert err.value.code == "INVALID_NEXT_TOKEN"


def test_ending_between_is_inclusive(silence_store):
    inside = [silence(-10, 10), silence(-10, 15)]
    outside = [silence(-10, 16), silence(-60, -61)]
    for s in inside + outside:
        silence_store.put_new(SilenceRecord(s))
    found = silence_store.ending_between(NOW + timedelta(minutes=-60), NOW + timedelta(minutes=15))
    assert [r.silence.id for r in found] == [s.id for s in inside]


def test_mark_once_unmark_and_missing(silence_store):
    record = SilenceRecord(silence())
    silence_store.put_new(record)
    sid = record.silence.id
    assert silence_store.mark(sid, "expiry_announced_at", NOW) is True
    assert silence_store.mark(sid, "expiry_announced_at", NOW) is False
    silence_store.unmark(sid, "expiry_announced_at")
    assert silence_store.mark(sid, "expiry_announced_at", NOW) is True
    assert silence_store.get(sid).expiry_announced_at == NOW
    assert silence_store.mark(new_id("sil"), "warned_at", NOW) is False
    silence_store.unmark(new_id("sil"), "warned_at")  # nothing there: no error
    with pytest.raises(ValueError):
        silence_store.mark(sid, "version", NOW)


def window(n=0):
    return MaintenanceWindow(
        id=new_id("mwn"),
        name=f"patch {n}",
        schedule=RecurringSchedule.of("0 2 * * SUN", timedelta(minutes=90), "Europe/Berlin"),
        matchers=(Matcher.parse('env="staging"'),),
        created_by="alice",
        comment="os",
        created_at=NOW + timedelta(minutes=n),
    )


def test_window_round_trip_list_delete(window_store):
    windows = [window(n) for n in range(3)]
    for w in windows:
        window_store.put_new(w)
    assert window_store.get(windows[0].id) == windows[0]
    first = window_store.list(limit=2)
    second = window_store.list(limit=2, next_token=first.next_token)
    assert [w.id for w in first.items + second.items] == [w.id for w in reversed(windows)]
    assert second.next_token is None
    assert window_store.delete(windows[1].id) == windows[1]
    with pytest.raises(NotFound) as err:
        window_store.delete(windows[1].id)
    assert err.value.code == "MAINTENANCE_WINDOW_NOT_FOUND"
    assert {w.id for w in window_store.all()} == {windows[0].id, windows[2].id}
    with pytest.raises(Conflict):
        window_store.put_new(windows[0])


def test_rules_round_trip_in_creation_order(rule_store):
    rules = [
        InhibitionRuleRecord(
            id=new_id("inh"),
            rule=InhibitRule(
                source_matchers=parse_matchers('{alertname="NodeDown", severity="critical"}'),
                target_matchers=parse_matchers('{severity=~"warning|minor"}'),
                equal=("instance", "cluster"),
                name=f"rule {n}",
            ),
            created_by="alice",
            created_at=NOW + timedelta(minutes=n),
        )
        for n in range(3)
    ]
    for r in reversed(rules):
        rule_store.put_new(r)
    assert rule_store.get(rules[0].id) == rules[0]
    assert rule_store.all() == rules
    assert [r.id for r in rule_store.list(limit=5).items] == [r.id for r in rules]
    assert rule_store.delete(rules[0].id) == rules[0]
    with pytest.raises(NotFound) as err:
        rule_store.delete(rules[0].id)
    assert err.value.code == "INHIBITION_RULE_NOT_FOUND"
    assert rule_store.get(rules[0].id) is None
    assert rule_store.all() == rules[1:]


def test_forged_tokens_are_400_not_500(silence_store):
    from omp.domain.pagination import encode_token

    forged = {"pk": {"S": "x"}, "sk": {"N": "1"}, "gsi1pk": {"S": "SILENCES"}, "gsi1sk": "y"}
    for key in (forged, {"pk": 1}, None, ["a"]):
        with pytest.raises(BadRequest):
            silence_store.list(None, NOW, next_token=encode_token({"k": key}))


def test_a_silence_in_year_9999_stores(silence_store):
    far = datetime(9999, 12, 30, tzinfo=UTC)
    record = SilenceRecord(silence(starts_at=far, ends_at=far + timedelta(hours=23)))
    silence_store.put_new(record)
    assert silence_store.get(record.silence.id) == record


def test_alarm_list_filters_on_suppressed(dynamodb):
    from omp.adapters.dynamo_alarms import DynamoAlarmRepository
    from omp.domain.alarms import Alarm, AlarmQuery, AlarmStatus, Severity
    from omp.domain.queries import TimeRange

    repo = DynamoAlarmRepository(TABLE)

    def alarm(n, **fields):
        stamp = (NOW - timedelta(minutes=n)).isoformat().replace("+00:00", "Z")
        values = {
            "id": new_id("alm", int((NOW - timedelta(minutes=n)).timestamp() * 1000)),
            "name": f"a{n}",
            "severity": Severity.MAJOR,
            "message": "",
            "source": "alertmanager",
            "labels": {},
            "status": AlarmStatus.OPEN,
            "triggered_at": stamp,
            "created_at": stamp,
            "updated_at": stamp,
            "created_by": "t",
        }
        return Alarm(**(values | fields))

    held = alarm(1, suppressed=True, suppressed_by=["sil_x", "inh_y"])
    free = alarm(2)
    for a in (held, free):
        repo.put_new(a)
    # an alarm stored before suppression existed: no attribute at all
    legacy = alarm(3)
    item = support_item(legacy)
    dynamodb.put_item(TableName=TABLE, Item=item)
    window = TimeRange(NOW - timedelta(hours=1), NOW)
    assert repo.get(held.id) == held
    for status in (None, AlarmStatus.OPEN):
        query = AlarmQuery(window, status=status, suppressed=True)
        assert [a.id for a in repo.list(query).items] == [held.id]
        query = AlarmQuery(window, status=status, suppressed=False)
        assert [a.id for a in repo.list(query).items] == [free.id, legacy.id]


def support_item(alarm):
    """The alarm's item as the repository wrote it before `suppressed` existed."""
    from omp.adapters.dynamo import to_item
    from omp.adapters.dynamo_alarms import _index_keys

    values = alarm.model_dump(mode="json")
    del values["suppressed"], values["suppressed_by"]
    return to_item({"pk": f"ALARM#{alarm.id}", "sk": "A", **values, **_index_keys(values)})
