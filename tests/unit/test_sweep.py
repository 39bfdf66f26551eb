"""The scheduled sweep on in-memory ports: pending groups open once their persist threshold
passes (no new alarm needed), and alerts that stopped flapping settle and notify once."""

from datetime import UTC, datetime, timedelta

from omp.adapters.memory import (
    FixedClock,
    MemoryAlarmRepository,
    MemoryAlertStateStore,
    MemoryIncidentRepository,
    MemoryPublisher,
)
from omp.analytics.correlation import LabelGroupRule, MemoryGroupStore
from omp.domain.incidents import IncidentStatus
from omp.domain.ingest import IngestEnvelope
from omp.services import pipeline, sweep
from omp.services.pipeline import PipelineConfig, PipelinePorts

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def make_ports():
    repo = MemoryAlarmRepository()
    return PipelinePorts(
        states=MemoryAlertStateStore(),
        alarms=repo,
        reopener=repo,
        incidents=MemoryIncidentRepository(),
        groups=MemoryGroupStore(),
        events=MemoryPublisher(),
        clock=FixedClock(T0),
    )


def send(ports, config, status, minute, name="disk", service="db"):
    alert = {
        "name": name,
        "status": status,
        "labels": {"service": service},
        "fingerprint": name,
        "starts_at": (T0 + timedelta(minutes=minute)).isoformat(),
    }
    envelope = IngestEnvelope("generic", T0.isoformat(), "key:t", None, payload=alert)
    return pipeline.process(envelope, ports, config)


def at(ports, minute):
    ports.clock.current = T0 + timedelta(minutes=minute)


def kinds(ports):
    return [e.detail_type for e in ports.events.events]


def test_a_pending_group_opens_when_its_alarm_has_persisted():
    ports = make_ports()
    rule = LabelGroupRule(name="svc", by=("service",), open_after=timedelta(minutes=10))
    config = PipelineConfig(rules=(rule,))
    send(ports, config, "firing", 0)
    assert ports.incidents.incidents == {} and len(ports.groups.pending()) == 1
    at(ports, 5)
    assert sweep.sweep(ports, config) == sweep.SweepResult(opened=0, settled=0)
    at(ports, 11)
    assert sweep.sweep(ports, config).opened == 1
    (incident,) = ports.incidents.incidents.values()
    assert incident.status is IncidentStatus.OPEN and incident.alarm_count == 1
    assert kinds(ports)[-1] == "IncidentOpened" and ports.groups.pending() == []
    assert sweep.sweep(ports, config).opened == 0  # opened once
    # The alarm found its incident through its group: its resolve resolves the incident.
    send(ports, config, "resolved", 12)
    assert ports.incidents.get(incident.id).status is IncidentStatus.RESOLVED


def test_a_blip_that_resolved_while_pending_never_opens():
    ports = make_ports()
    config = PipelineConfig(
        rules=(LabelGroupRule(name="svc", by=("service",), open_after=timedelta(minutes=10)),)
    )
    send(ports, config, "firing", 0)
    send(ports, config, "resolved", 2)
    at(ports, 30)
    assert sweep.sweep(ports, config).opened == 0 and ports.incidents.incidents == {}


def test_an_alert_that_stopped_flapping_settles_and_notifies_once():
    ports, config = make_ports(), PipelineConfig()
    for minute, status in enumerate(["firing", "resolved", "firing", "resolved", "firing"]):
        send(ports, config, status, minute)
    state = ports.states.get("generic", "disk")
    assert state.flapping
    at(ports, 20)  # 16 minutes quiet: not yet
    assert sweep.sweep(ports, config).settled == 0
    before = len(ports.events.events)
    at(ports, 40)
    assert sweep.sweep(ports, config).settled == 1
    settled = ports.states.get("generic", "disk")
    assert not settled.flapping and settled.version == state.version + 1
    (event,) = ports.events.events[before:]
    assert event.detail["notify"] is True and event.detail["flapping"] is False
    assert [e.kind for e in ports.states.timeline(state.alarm_id).items][-1] == "flapping_ended"
    assert sweep.sweep(ports, config).settled == 0  # once
    assert len(ports.events.events) == before + 1
