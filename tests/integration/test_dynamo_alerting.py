"""The alert pipeline's DynamoDB stores (moto here; DynamoDB Local in tests/conformance).

Only the `dynamodb` fixture is used, so the conformance tier re-runs these unchanged. Where the
claim is "one write", the DynamoDB operations the adapter's client sends are counted with a
botocore `before-call` hook.
"""

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from omp.adapters import aws
from omp.adapters.dynamo_alerting import (
    DynamoAlertStateStore,
    DynamoCorrelationGroupStore,
    DynamoIncidentRepository,
)
from omp.adapters.dynamo_timeline import timeline_sk
from omp.analytics import correlation
from omp.analytics.correlation import AlarmFacts, Group, LabelGroupRule, Outcome, TopologyRule
from omp.domain import dedup, incidents
from omp.domain.alarms import Severity
from omp.domain.dedup import Action, AlertState, AlertStatus, RepeatUpdate, TimelineEntry
from omp.domain.errors import BadRequest, Conflict, NotFound
from omp.domain.incidents import IncidentAlarm, IncidentStatus
from omp.domain.pagination import encode_token
from omp.domain.queries import TimeRange
from omp.domain.signals import Signal, SignalSeverity, SignalStatus
from omp.ports import AlertStateStore, CorrelationGroupStore, IncidentRepository
from tests import support

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
TABLE = support.PREFIX + "monitoring"


@pytest.fixture
def states(dynamodb) -> AlertStateStore:
    return DynamoAlertStateStore(TABLE)


@pytest.fixture
def incident_repo(dynamodb) -> IncidentRepository:
    return DynamoIncidentRepository(TABLE)


@pytest.fixture
def groups(dynamodb) -> CorrelationGroupStore:
    return DynamoCorrelationGroupStore(TABLE)


@pytest.fixture
def calls(dynamodb):
    """The DynamoDB operations the adapters' client sends, in order."""
    seen: list[str] = []

    def hook(model, **_):
        seen.append(model.name)

    events = aws.client("dynamodb").meta.events
    events.register("before-call.dynamodb", hook)
    yield seen
    events.unregister("before-call.dynamodb", hook)


def _signal(status=SignalStatus.FIRING, at=NOW, fingerprint="fp-1", source="alertmanager"):
    return Signal(
        source=source,
        fingerprint=fingerprint,
        status=status,
        name="HighCPU",
        severity=SignalSeverity.MAJOR,
        observed_at=at,
    )


def _state(**changes):
    base = AlertState(
        source="cloudwatch",
        fingerprint="arn:aws:cloudwatch:eu-west-1:123456789012:alarm:cpu#high",
        alarm_id=dedup.alarm_id_for("cloudwatch", "fp", NOW),
        status=AlertStatus.OPEN,
        occurrences=1,
        first_seen=NOW,
        last_seen=NOW,
        last_change=NOW,
        changes=(NOW,),
    )
    return replace(base, **changes)


# ---- alert state ------------------------------------------------------------------------------


def test_alert_state_round_trip_keeps_every_field(states):
    plus2 = timezone(timedelta(hours=2))
    state = _state(
        first_seen=datetime(2026, 3, 10, 13, 59, 59, 123456, tzinfo=plus2),
        last_seen=NOW + timedelta(microseconds=7),
        flapping=True,
        suppressed=True,
        changes=(NOW - timedelta(minutes=3), NOW),
        occurrences=12,
        version=4,
    )
    states.put(state, None)
    assert states.get(state.source, state.fingerprint) == state
    assert states.get(state.source, "other") is None
    assert states.get("alertmanager", state.fingerprint) is None


def test_put_is_one_conditional_write(states, calls):
    state = _state()
    states.put(state, None)
    assert calls == ["PutItem"]
    with pytest.raises(Conflict):
        states.put(state, None)  # a racing consumer's create: the other one won
    moved = replace(state, status=AlertStatus.RESOLVED, version=2)
    states.put(moved, 1)
    with pytest.raises(Conflict):  # stale: read at version 1, stored is 2 now
        states.put(replace(state, status=AlertStatus.ACKNOWLEDGED, version=2), 1)
    with pytest.raises(Conflict):  # an expected version for a state that does not exist
        states.put(_state(fingerprint="missing"), 1)
    assert states.get(state.source, state.fingerprint) == moved


def test_a_repeat_is_one_update_and_increments(states, calls):
    state = _state(occurrences=3)
    states.put(state, None)
    calls.clear()
    later = NOW + timedelta(minutes=1)
    assert states.repeat(state.source, state.fingerprint, RepeatUpdate(state.alarm_id, later))
    assert calls == ["UpdateItem"]
    stored = states.get(state.source, state.fingerprint)
    assert stored == replace(state, occurrences=4, last_seen=later)  # version untouched
    assert stored == dedup.apply_repeat(state, RepeatUpdate(state.alarm_id, later))


def test_a_repeat_that_is_a_replay_or_stale_returns_false(states, calls):
    state = _state()
    states.put(state, None)
    later = NOW + timedelta(minutes=1)
    assert states.repeat(state.source, state.fingerprint, RepeatUpdate(state.alarm_id, later))
    calls.clear()
    # the same last_seen again (a replay), an older one, another alarm id, no state at all
    assert not states.repeat(state.source, state.fingerprint, RepeatUpdate(state.alarm_id, later))
    assert not states.repeat(state.source, state.fingerprint, RepeatUpdate(state.alarm_id, NOW))
    assert not states.repeat(
        state.source, state.fingerprint, RepeatUpdate("alm_OTHER", later + timedelta(1))
    )
    assert not states.repeat(state.source, "nope", RepeatUpdate(state.alarm_id, later))
    assert calls == ["UpdateItem"] * 4
    assert states.get(state.source, state.fingerprint).occurrences == 2


def test_a_repeat_on_a_resolved_state_returns_false(states):
    state = _state(status=AlertStatus.RESOLVED)
    states.put(state, None)
    update = RepeatUpdate(state.alarm_id, NOW + timedelta(minutes=5))
    assert not states.repeat(state.source, state.fingerprint, update)
    assert states.get(state.source, state.fingerprint) == state
    acked = _state(fingerprint="acked", status=AlertStatus.ACKNOWLEDGED)
    states.put(acked, None)
    assert states.repeat(acked.source, acked.fingerprint, update)


def test_flapping_states_are_listed_until_a_repeat_clears_it(states, calls):
    quiet = [
        _state(fingerprint=f"fp-{i}", flapping=True, last_change=NOW - timedelta(minutes=i))
        for i in range(3)
    ]
    for s in quiet:
        states.put(s, None)
    states.put(_state(fingerprint="calm"), None)
    first = states.flapping(limit=2)
    assert [s.fingerprint for s in first.items] == ["fp-2", "fp-1"]  # longest quiet first
    rest = states.flapping(limit=2, next_token=first.next_token)
    assert [s.fingerprint for s in rest.items] == ["fp-0"]
    calls.clear()
    update = RepeatUpdate(quiet[1].alarm_id, NOW + timedelta(hours=1), clear_flapping=True)
    assert states.repeat(quiet[1].source, "fp-1", update)
    assert calls == ["UpdateItem"]
    assert not states.get(quiet[1].source, "fp-1").flapping
    assert [s.fingerprint for s in states.flapping().items] == ["fp-2", "fp-0"]
    with pytest.raises(BadRequest):
        states.flapping(next_token=encode_token({"k": {"pk": {"S": "x"}}}))


def test_the_dedup_decisions_applied_to_the_store(states, calls):
    """create -> repeat -> replay -> resolve -> reopen, each decision written as it says."""

    def handle(signal, now):
        decision = dedup.apply(states.get(signal.source, signal.fingerprint), signal, now)
        calls.clear()
        if decision.repeat is not None:
            assert states.repeat(signal.source, signal.fingerprint, decision.repeat)
            assert calls == ["UpdateItem"]
        elif decision.state is not None:
            states.put(decision.state, decision.expected_version)
            assert calls == ["PutItem"]
        if decision.timeline:
            states.append_timeline(decision.timeline)
        return decision

    t = [NOW + timedelta(minutes=i) for i in range(5)]
    created = handle(_signal(at=t[0]), t[0])
    assert created.action is Action.CREATE
    assert handle(_signal(at=t[1]), t[1]).action is Action.REPEAT
    assert handle(_signal(at=t[1]), t[2]).action is Action.IGNORE
    assert handle(_signal(SignalStatus.RESOLVED, at=t[2]), t[2]).action is Action.RESOLVE
    reopened = handle(_signal(at=t[3]), t[3])
    assert reopened.action is Action.REOPEN and reopened.new_alarm
    state = states.get("alertmanager", "fp-1")
    assert (state.alarm_id, state.occurrences, state.version) == (reopened.alarm_id, 1, 3)
    first = states.timeline(created.alarm_id).items
    assert [(e.kind, e.occurrences) for e in first] == [("created", 1), ("resolved", 2)]
    assert [e.kind for e in states.timeline(reopened.alarm_id).items] == ["created"]


# ---- timeline -----------------------------------------------------------------------------


def _entry(alarm_id, minute, kind, recorded=NOW):
    return TimelineEntry(
        alarm_id=alarm_id,
        at=NOW + timedelta(minutes=minute),
        recorded_at=recorded,
        kind=kind,
        status=AlertStatus.OPEN,
        occurrences=minute + 1,
        note=f"note {minute}",
    )


def test_timeline_is_ordered_idempotent_and_pages(states, calls):
    alarm = "alm_01JTIMELINE0000000000000"
    states.append_timeline([_entry(alarm, 0, "created")])
    assert calls == ["PutItem"]
    calls.clear()
    decision = [_entry(alarm, 5, "flapping_ended"), _entry(alarm, 5, "reopened")]
    decision.append(_entry(alarm, 5, "flapping_started"))
    states.append_timeline(decision)
    assert calls == ["TransactWriteItems"]  # one decision's entries appear together
    states.append_timeline(decision)  # a retry stores nothing twice
    states.append_timeline([_entry("alm_other", 1, "created")])
    everything = states.timeline(alarm).items
    assert [e.kind for e in everything] == [
        "created",
        "flapping_ended",
        "reopened",
        "flapping_started",
    ]
    assert everything[1] == decision[0]
    seen, token = [], None
    while True:
        page = states.timeline(alarm, limit=3, next_token=token)
        seen += page.items
        token = page.next_token
        if not token:
            break
    assert seen == everything
    first = states.timeline(alarm, limit=1)
    with pytest.raises(BadRequest):  # another alarm's token
        states.timeline("alm_other", next_token=first.next_token)
    with pytest.raises(BadRequest):
        states.timeline(alarm, next_token="garbage!")


def test_people_entries_merge_into_the_timeline_pages(states, calls):
    alarm = "alm_01JTIMELINE0000000000001"
    stored = [_entry(alarm, 0, "created"), _entry(alarm, 5, "resolved"), _entry(alarm, 9, "x")]
    for entry in stored:
        states.append_timeline([entry])
    ack = dedup.person_entry(alarm, AlertStatus.ACKNOWLEDGED, NOW + timedelta(minutes=3), "you")
    late = dedup.person_entry(alarm, AlertStatus.RESOLVED, NOW + timedelta(minutes=20), "you")
    # The same change stored again with its count (what `put` does for a source's alarm).
    counted = replace(ack, occurrences=4)
    states.append_timeline([counted])
    people = [ack, late]
    calls.clear()
    everything = states.timeline(alarm, people=people).items
    assert calls == ["Query"]
    assert everything == [stored[0], counted, stored[1], stored[2], late]
    for limit in (1, 2, 3):
        seen, token = [], None
        while True:
            page = states.timeline(alarm, limit=limit, next_token=token, people=people)
            seen += page.items
            token = page.next_token
            if not token:
                break
        assert seen == everything, limit
    # A token issued before people's entries moved to the alarm item (DynamoDB's last key).
    old = encode_token(
        {"k": {"pk": {"S": f"ALARM#{alarm}"}, "sk": {"S": timeline_sk(stored[1], 0)}}}
    )
    assert states.timeline(alarm, next_token=old, people=people).items == [stored[2], late]
    for forged in ("T#" + "9" * 2000, "T#\ud800", "A"):  # only an entry's key is a token
        with pytest.raises(BadRequest):
            states.timeline(alarm, next_token=encode_token({"alarm": alarm, "after": forged}))


def test_put_with_timeline_writes_both_or_neither(states, calls):
    state = _state()
    states.put(state, None)
    entry = replace(_entry(state.alarm_id, 1, "acknowledged"), status=AlertStatus.ACKNOWLEDGED)
    calls.clear()
    moved = replace(state, status=AlertStatus.ACKNOWLEDGED, version=state.version + 1)
    states.put(moved, state.version, [entry])
    assert calls == ["TransactWriteItems"]
    assert states.get(state.source, state.fingerprint) == moved
    assert states.timeline(state.alarm_id).items == [entry]
    other = replace(_entry(state.alarm_id, 2, "resolved"), status=AlertStatus.RESOLVED)
    with pytest.raises(Conflict) as err:  # a stale version: neither is written
        states.put(replace(moved, status=AlertStatus.RESOLVED), state.version, [other])
    assert err.value.code == "VERSION_CONFLICT"
    assert states.timeline(state.alarm_id).items == [entry]


# ---- incidents ----------------------------------------------------------------------------


def _members(n=0, alarms=2):
    return tuple(
        IncidentAlarm(
            alarm_id=f"alm_{n}_{i}",
            severity=Severity.CRITICAL if i == 1 else Severity.MINOR,
            resource=f"host-{i}" if i else None,
            name=f"alarm {i}",
        )
        for i in range(alarms)
    )


def _incident(n=0, *, at=NOW, alarms=2):
    return incidents.open_incident(
        incident_id=correlation.incident_id_for(f"g{n}", at),
        group_key=f"g{n}",
        alarms=_members(n, alarms),
        now=at,
        rule="by-service",
    )


def _put(repo, n=0, *, at=NOW, alarms=2):
    incident = _incident(n, at=at, alarms=alarms)
    repo.put_new(incident, _members(n, alarms))
    return incident


def test_incident_round_trip_and_put_new_once(incident_repo, calls):
    incident = _put(incident_repo)
    assert calls == ["TransactWriteItems"]  # the summary and its members together
    assert incident_repo.get(incident.id) == incident
    assert incident_repo.alarms(incident.id).items == list(_members())
    acked = incidents.acknowledge(incident, NOW + timedelta(minutes=1), "ana", "on it")
    member = _members()[0]
    resolved = incidents.alarm_resolved(acked, member, NOW + timedelta(minutes=2))
    incident_repo.save(acked, 1)
    incident_repo.update_alarm(resolved, 2, replace(member, resolved=True))
    assert incident_repo.get(incident.id) == resolved and resolved.open_alarm_count == 1
    assert incident_repo.alarm(incident.id, member.alarm_id).resolved
    assert incident_repo.get("inc_missing") is None
    with pytest.raises(Conflict) as err:
        incident_repo.put_new(incident, _members())  # a racing consumer derived the same id
    assert err.value.code == "INCIDENT_EXISTS"


def test_incident_save_is_one_conditional_write(incident_repo, calls):
    incident = _put(incident_repo)
    acked = incidents.acknowledge(incident, NOW, "ana")
    calls.clear()
    incident_repo.save(acked, 1)
    assert calls == ["PutItem"]
    stale = incidents.resolve(incident, NOW, "bob")  # built from version 1
    with pytest.raises(Conflict) as err:
        incident_repo.save(stale, 1)
    assert (err.value.code, err.value.details) == ("VERSION_CONFLICT", {"version": 2})
    assert incident_repo.get(incident.id) == acked
    with pytest.raises(NotFound):
        incident_repo.save(_incident(9), 1)


def test_a_join_is_one_transaction_and_a_redelivered_join_counts_once(incident_repo, calls):
    incident = _put(incident_repo)
    member = IncidentAlarm("alm_new", Severity.MAJOR, "host-9", "new")
    joined = incidents.add_alarm(incident, member, NOW)
    calls.clear()
    assert incident_repo.add_alarm(joined, 1, member)
    assert calls == ["TransactWriteItems"]
    # the redelivery re-reads the incident (version 2) and joins again: nothing is written
    again = incidents.add_alarm(joined, member, NOW)
    assert not incident_repo.add_alarm(again, 2, member)
    stored = incident_repo.get(incident.id)
    assert stored == joined and stored.alarm_count == 3
    assert len(incident_repo.alarms(incident.id).items) == 3
    other = IncidentAlarm("alm_other", Severity.MAJOR)
    with pytest.raises(Conflict) as err:  # a stale version, the member new: a conflict
        incident_repo.add_alarm(incidents.add_alarm(incident, other, NOW), 1, other)
    assert err.value.code == "VERSION_CONFLICT"
    assert incident_repo.alarm(incident.id, "alm_other") is None


def test_merge_commits_summaries_then_moves_members_in_chunks(incident_repo, calls):
    target, source = _put(incident_repo, 1), _put(incident_repo, 2, alarms=120)
    merged, closed = incidents.merge(target, source, NOW, "ana")
    incident_repo.save(incidents.acknowledge(source, NOW, "bob"), 1)  # source moves on
    calls.clear()
    with pytest.raises(Conflict):
        incident_repo.save_all([(merged, 1), (closed, 1)])
    assert calls == ["TransactWriteItems"]
    assert incident_repo.get(target.id) == target  # nothing written
    source = incident_repo.get(source.id)
    merged, closed = incidents.merge(target, source, NOW, "ana")
    incident_repo.save_all([(merged, 1), (closed, 2)])
    assert incident_repo.get(closed.id).merged_into == target.id
    assert incident_repo.get(target.id).alarm_count == 122
    calls.clear()
    assert incident_repo.move_alarms(source.id, target.id) == 120
    assert calls.count("TransactWriteItems") == 3  # 49 + 49 + 22
    assert incident_repo.move_alarms(source.id, target.id) == 0  # a retry: nothing left
    assert incident_repo.alarms(source.id).items == []
    everything, token = [], None
    while True:
        page = incident_repo.alarms(target.id, limit=50, next_token=token)
        everything += page.items
        token = page.next_token
        if not token:
            break
    assert len(everything) == 122 == len({a.alarm_id for a in everything})
    with pytest.raises(BadRequest):  # another incident's token
        incident_repo.alarms(source.id, next_token=incident_repo.alarms(target.id, 1).next_token)


def test_split_is_one_transaction_of_summaries_and_members(incident_repo, calls):
    incident = _put(incident_repo, 1, alarms=4)
    moving = _members(1, 4)[1:3]
    remaining, new = incidents.split(
        incident, moving, new_incident_id="inc_split", now=NOW, actor="ana"
    )
    calls.clear()
    incident_repo.split(remaining, 1, new, moving)
    assert calls == ["TransactWriteItems"]
    assert incident_repo.get("inc_split") == new and incident_repo.get(incident.id) == remaining
    assert [a.alarm_id for a in incident_repo.alarms("inc_split").items] == ["alm_1_1", "alm_1_2"]
    assert sorted(incident_repo.alarms_of(incident.id, ["alm_1_0", "alm_1_1", "alm_1_3"])) == [
        "alm_1_0",
        "alm_1_3",
    ]
    with pytest.raises(Conflict):  # the alarms are gone: nothing written
        incident_repo.split(remaining, 2, replace(new, id="inc_split2"), moving)
    assert incident_repo.get("inc_split2") is None


def test_incidents_list_by_time_and_status_pages_without_gaps(incident_repo):
    made = [_incident(i, at=NOW - timedelta(hours=7 * i)) for i in range(9)]  # ~2.5 days
    for i, incident in enumerate(made):
        incident_repo.put_new(incident, _members(i))
    incident_repo.save(incidents.resolve(made[1], NOW, "ana"), 1)
    incident_repo.save(incidents.acknowledge(made[4], NOW, "ana"), 1)
    window = TimeRange.build(None, NOW, NOW)

    def collect(status=None):
        seen, token = [], None
        while True:
            page = incident_repo.list(window, status=status, limit=2, next_token=token)
            assert len(page.items) <= 2
            seen += [i.id for i in page.items]
            token = page.next_token
            if not token:
                return seen

    ids = [i.id for i in made]
    assert collect() == ids
    assert collect(IncidentStatus.OPEN) == [i for n, i in enumerate(ids) if n not in (1, 4)]
    assert collect(IncidentStatus.RESOLVED) == [ids[1]]
    assert collect(IncidentStatus.ACKNOWLEDGED) == [ids[4]]
    listed = incident_repo.list(window, limit=1).items[0]
    assert listed == made[0]
    narrow = TimeRange.build(NOW - timedelta(hours=8), NOW, NOW)
    assert [i.id for i in incident_repo.list(narrow).items] == ids[:2]


def test_incident_list_refuses_a_foreign_token(incident_repo):
    for i in range(3):
        _put(incident_repo, i)
    window = TimeRange.build(None, NOW, NOW)
    by_time = incident_repo.list(window, limit=1).next_token
    assert by_time
    with pytest.raises(BadRequest):  # a token of the listing by status
        incident_repo.list(window, status=IncidentStatus.OPEN, next_token=by_time)
    with pytest.raises(BadRequest):
        incident_repo.list(window, next_token="garbage!")
    alarms_token = encode_token({"d": "ALARMS#2026-03-10", "k": None})
    with pytest.raises(BadRequest):
        incident_repo.list(window, next_token=alarms_token)


# ---- correlation groups -------------------------------------------------------------------


def _group(key, *resources, incident_id="inc_1", pending=(), closed=False, at=NOW):
    return Group(
        key=key,
        rule="by-service",
        first_at=at,
        last_at=at + timedelta(minutes=1),
        size=max(1, len(pending)),
        resources=frozenset(resources),
        incident_id=incident_id,
        pending=pending,
        closed=closed,
    )


def test_group_round_trip_and_delete(groups):
    member = IncidentAlarm("alm_1", Severity.MAJOR, resource="host-1", name="cpu")
    pending = (correlation.Pending("alm_1", NOW, member),)
    group = _group("svc|service=api", "host-1", "host-2", incident_id=None, pending=pending)
    groups.save(group)
    assert groups.group(group.key) == group
    assert groups.group("nope") is None
    groups.delete(group.key)
    assert groups.group(group.key) is None
    assert list(groups.groups_with_resource("host-1")) == []
    groups.delete(group.key)  # deleting nothing is fine


def test_groups_by_resource_follow_saves_and_closing(groups, calls):
    a = _group("a", "host-1", "host-2")
    b = _group("b", "host-2")
    groups.save(a)
    groups.save(b)
    assert [g.key for g in groups.groups_with_resource("host-2")] == ["a", "b"]
    assert list(groups.groups_with_resource("host-1")) == [a]
    assert list(groups.groups_with_resource("host-9")) == []
    grown = replace(a, resources=a.resources | {"host-3"}, size=2)
    calls.clear()
    groups.save(grown, {"host-3"})
    assert calls == ["BatchWriteItem", "PutItem"]  # only the new resource is written, no read
    calls.clear()
    groups.save(grown, ())
    assert calls == ["PutItem"]
    assert list(groups.groups_with_resource("host-3")) == [grown]
    calls.clear()
    groups.save(correlation.close(grown))  # closed: found by resource no more
    assert calls == ["PutItem", "Query", "BatchWriteItem"]  # its resource items deleted
    assert list(groups.groups_with_resource("host-1")) == []
    assert [g.key for g in groups.groups_with_resource("host-2")] == ["b"]
    assert groups.group("a").closed
    reused = _group("a", "host-7")  # a new group under the same key
    groups.save(reused)
    assert list(groups.groups_with_resource("host-7")) == [reused]
    assert list(groups.groups_with_resource("host-1")) == []


def test_closed_groups_expire(dynamodb, groups):
    groups.save(correlation.close(_group("a", "host-1")))
    groups.save(_group("b", "host-1"))
    key = {"pk": {"S": "CGROUP#a"}, "sk": {"S": "G"}}
    item = dynamodb.get_item(TableName=TABLE, Key=key)["Item"]
    expected = NOW + timedelta(minutes=1) + timedelta(days=7)
    assert int(item["expires_at"]["N"]) == int(expected.timestamp())
    key["pk"] = {"S": "CGROUP#b"}
    assert "expires_at" not in dynamodb.get_item(TableName=TABLE, Key=key)["Item"]


def test_pending_groups(groups):
    member = IncidentAlarm("alm_1", Severity.MAJOR)
    waiting = _group("w", incident_id=None, pending=(correlation.Pending("alm_1", NOW, member),))
    groups.save(waiting)
    groups.save(_group("bound", "host-1"))
    groups.save(correlation.close(_group("gone", incident_id=None)))
    assert groups.pending() == [waiting]
    opened = replace(waiting, incident_id="inc_w", pending=())
    groups.save(opened)
    assert groups.pending() == []


def test_correlation_runs_on_the_dynamo_store(groups):
    """The rules read the DynamoDB store as their `GroupView`, as they read MemoryGroupStore."""
    topology = correlation.MemoryTopology([("host-1", "db-1"), ("db-1", "vol-1")])
    rules = [
        TopologyRule("topology", topology),
        LabelGroupRule("by-service", by=("service",), open_after_alarms=2),
    ]

    def arrive(alarm_id, minute, resource, service):
        alarm = AlarmFacts(
            alarm_id=alarm_id,
            at=NOW + timedelta(minutes=minute),
            resource=resource,
            labels={"service": service},
        )
        decision = correlation.correlate(alarm, rules, groups, alarm.at)
        groups.save(decision.group)
        return decision

    assert arrive("alm_1", 0, "host-1", "api").outcome is Outcome.PENDING
    assert [g.key for g in groups.pending()] == ["by-service|service=api"]
    opened = arrive("alm_2", 1, "host-2", "api")
    assert opened.outcome is Outcome.OPEN and groups.pending() == []
    joined = arrive("alm_3", 2, "vol-1", "storage")  # two hops from host-1
    assert (joined.outcome, joined.incident_id) == (Outcome.JOIN, opened.incident_id)
    assert [g.key for g in groups.groups_with_resource("vol-1")] == ["by-service|service=api"]
    tick = correlation.tick(groups.pending(), rules, NOW + timedelta(hours=1))
    assert tick == []
