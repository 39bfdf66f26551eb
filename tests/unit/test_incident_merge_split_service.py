"""The merge and split use cases on in-memory ports: concurrency, idempotence, side effects;
and `dedup.by_person`, what an API acknowledge/resolve does to the dedup state."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from omp.adapters.memory import (
    FixedClock,
    MemoryAlertStateStore,
    MemoryIncidentRepository,
    MemoryPublisher,
)
from omp.analytics.correlation import Group, MemoryGroupStore
from omp.domain import dedup, incidents
from omp.domain.alarms import Severity
from omp.domain.dedup import AlertState, AlertStatus
from omp.domain.errors import Conflict
from omp.domain.incidents import IncidentAlarm, IncidentStatus
from omp.services import incidents as service

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
A, B, C = (f"inc_01ARZ3NDEKTSV4RRFFQ69G5FA{c}" for c in "VWX")


def _members(*names):
    return tuple(IncidentAlarm(f"alm_{n}", Severity.MAJOR, f"r-{n}", n) for n in names)


def _incident(inc_id, *names, group_key=None):
    return incidents.open_incident(
        incident_id=inc_id, group_key=group_key or f"g-{inc_id}", alarms=_members(*names), now=T0
    )


@pytest.fixture
def ports():
    repo, groups = MemoryIncidentRepository(), MemoryGroupStore()
    for inc_id, names in ((A, ("1",)), (B, ("2",)), (C, ("3", "4"))):
        inc = _incident(inc_id, *names)
        repo.put_new(inc, _members(*names))
        groups.save(Group(inc.group_key, "r", T0, T0, inc.alarm_count, incident_id=inc.id))
    return {
        "repo": repo,
        "groups": groups,
        "events": MemoryPublisher(),
        "clock": FixedClock(T0 + timedelta(minutes=5)),
    }


def test_merge_several_repoints_groups_and_publishes(ports):
    target, merged = service.merge(A, [B, C, B], actor="me", expected_version=None, **ports)
    assert target.alarm_count == 4
    assert ports["repo"].alarm_ids(A) == ("alm_1", "alm_2", "alm_3", "alm_4")
    assert ports["repo"].alarm_ids(B) == ()  # moved
    assert [m.status for m in merged] == [IncidentStatus.MERGED] * 2
    assert ports["groups"].group(f"g-{B}").incident_id == A
    assert ports["groups"].group(f"g-{C}").incident_id == A
    kinds = [e.detail_type for e in ports["events"].events]
    assert kinds == ["IncidentUpdated", "IncidentResolved", "IncidentResolved"]
    again, _ = service.merge(A, [B], actor="me", expected_version=None, **ports)
    assert again == target and len(ports["events"].events) == 3


def test_a_concurrent_change_is_a_409_and_writes_nothing(ports):
    repo = ports["repo"]

    class Racing(MemoryIncidentRepository):
        """Someone acknowledges the source between our read and our write."""

        def __init__(self):
            self.incidents = repo.incidents
            self.members = repo.members

        def save_all(self, writes):
            b = self.incidents[B]
            self.incidents[B] = replace(b, version=b.version + 1)
            super().save_all(writes)

    ports["repo"] = Racing()
    with pytest.raises(Conflict) as raced:
        service.merge(A, [B], actor="me", expected_version=None, **ports)
    assert raced.value.code == "VERSION_CONFLICT"
    assert repo.get(A).alarm_count == 1 and ports["events"].events == []
    assert repo.alarm_ids(A) == ("alm_1",) and repo.alarm_ids(B) == ("alm_2",)
    assert ports["groups"].group(f"g-{B}").incident_id == B


def test_split_is_idempotent_and_links_alarms_to_a_group(ports):
    states = MemoryAlertStateStore()
    left, new, created = service.split(
        C, ["alm_4"], actor="me", expected_version=None, states=states, **ports
    )
    assert created and left.alarm_count == 1 and new.alarm_count == 1
    assert ports["repo"].alarm_ids(C) == ("alm_3",) and ports["repo"].alarm_ids(new.id) == (
        "alm_4",
    )
    group = ports["groups"].group(incidents.split_group_key(new.id))
    assert group is not None and group.incident_id == new.id and group.is_active
    (entry,) = states.timeline("alm_4").items
    assert entry.kind == "correlated" and entry.note == group.key
    ports["clock"].advance(60)
    left2, new2, created2 = service.split(
        C, ["alm_4"], actor="me", expected_version=1, states=states, **ports
    )
    assert not created2 and new2 == new and left2 == left
    assert len(states.timeline("alm_4").items) == 1


def _state(status=AlertStatus.OPEN):
    return AlertState(
        source="generic",
        fingerprint="f",
        alarm_id="alm_1",
        status=status,
        occurrences=3,
        first_seen=T0,
        last_seen=T0 + timedelta(minutes=2),
        last_change=T0,
        version=4,
    )


def test_by_person_moves_the_state_in_the_sources_time():
    now = T0 + timedelta(hours=1)
    acked, entry = dedup.by_person(_state(), "alm_1", AlertStatus.ACKNOWLEDGED, now, "ana", "hm")
    assert acked.status is AlertStatus.ACKNOWLEDGED and acked.version == 5
    assert acked.last_change == T0 + timedelta(minutes=2)  # last_seen, not `now`
    assert acked.changes == ()  # not a flapping change
    assert (entry.kind, entry.actor, entry.note, entry.occurrences) == (
        "acknowledged",
        "ana",
        "hm",
        3,
    )
    resolved, _ = dedup.by_person(acked, "alm_1", AlertStatus.RESOLVED, now, "ana")
    assert resolved.status is AlertStatus.RESOLVED
    # nothing to write: another alarm's state, the same status, a state the source resolved
    assert dedup.by_person(_state(), "alm_9", AlertStatus.RESOLVED, now, "a")[0] is None
    assert dedup.by_person(_state(), "alm_1", AlertStatus.OPEN, now, "a")[0] is None
    assert (
        dedup.by_person(_state(AlertStatus.RESOLVED), "alm_1", AlertStatus.ACKNOWLEDGED, now, "a")[
            0
        ]
        is None
    )
    assert dedup.by_person(None, "alm_1", AlertStatus.RESOLVED, now, "a")[0] is None


def test_the_pipeline_follows_a_chain_of_merges():
    from omp.adapters.memory import MemoryAlarmRepository
    from omp.domain.ingest import IngestEnvelope
    from omp.services import pipeline
    from omp.services.pipeline import PipelinePorts

    repo = MemoryAlarmRepository()
    ports = PipelinePorts(
        states=MemoryAlertStateStore(),
        alarms=repo,
        reopener=repo,
        incidents=MemoryIncidentRepository(),
        groups=MemoryGroupStore(),
        events=MemoryPublisher(),
        clock=FixedClock(T0 + timedelta(hours=1)),
    )

    def send(status, *services):
        alerts = [
            {"name": s, "status": status, "labels": {"service": s}, "fingerprint": s}
            for s in services
        ]
        when = "2026-03-01T12:00:00Z" if status == "firing" else "2026-03-01T12:30:00Z"
        envelope = IngestEnvelope("generic", when, "key:t", None, payload={"alerts": alerts})
        pipeline.process(envelope, ports)

    send("firing", "a", "b", "c")
    by_service = {
        ports.incidents.alarms(i.id).items[0].name: i.id for i in ports.incidents.incidents.values()
    }
    common = {
        "actor": "me",
        "expected_version": None,
        "repo": ports.incidents,
        "groups": ports.groups,
        "events": ports.events,
        "clock": ports.clock,
    }
    service.merge(by_service["b"], [by_service["a"]], **common)  # a -> b
    service.merge(by_service["c"], [by_service["b"]], **common)  # b -> c: a's group still says b
    send("resolved", "a", "b")
    assert ports.incidents.get(by_service["c"]).status is IncidentStatus.OPEN
    send("resolved", "c")
    final = ports.incidents.get(by_service["c"])
    assert final.status is IncidentStatus.RESOLVED and final.resolved_by == "auto"
    members = ports.incidents.alarms(final.id).items
    assert len(members) == 3 and all(a.resolved for a in members)
