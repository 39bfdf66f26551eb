import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from omp.adapters.dynamo_alerting_config import MemoryAlertingConfigStore
from omp.adapters.memory import (
    FixedClock,
    MemoryAlarmRepository,
    MemoryAlertStateStore,
    MemoryIncidentRepository,
    MemoryPublisher,
)
from omp.adapters.memory_silences import (
    MemoryInhibitionRuleStore,
    MemoryMaintenanceWindowStore,
    MemorySilenceStore,
)
from omp.analytics.correlation import LabelGroupRule, MemoryGroupStore
from omp.domain.alarms import AlarmStatus
from omp.domain.dedup import Action, DedupPolicy, alarm_id_for
from omp.domain.errors import Conflict
from omp.domain.incidents import IncidentStatus
from omp.domain.ingest import IngestEnvelope
from omp.domain.signals import Signal, SignalSeverity, SignalStatus, UnparseablePayload
from omp.runtime import container
from omp.services import pipeline
from omp.services.pipeline import PipelineConfig, PipelinePorts
from tests.support import load_handler

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class FakePayloads:
    def __init__(self, objects=None):
        self.objects = objects or {}

    def get(self, bucket, key):
        if (bucket, key) not in self.objects:
            raise UnparseablePayload(f"s3://{bucket}/{key} does not exist")
        return self.objects[(bucket, key)]


def make_ports(payloads=None):
    repo = MemoryAlarmRepository()
    return PipelinePorts(
        states=MemoryAlertStateStore(),
        alarms=repo,
        reopener=repo,
        incidents=MemoryIncidentRepository(),
        groups=MemoryGroupStore(),
        events=MemoryPublisher(),
        clock=FixedClock(T0 + timedelta(hours=1)),
        payloads=payloads or FakePayloads(),
    )


@pytest.fixture
def ports():
    return make_ports()


def at(minute):
    return (T0 + timedelta(minutes=minute)).isoformat().replace("+00:00", "Z")


def am_alert(status, fp, start, end=None, **labels):
    return {
        "status": status,
        "labels": {"alertname": "DiskFull", "instance": f"{fp}:9100", **labels},
        "annotations": {"summary": f"disk full on {fp}"},
        "startsAt": at(start),
        "endsAt": at(end) if end is not None else "0001-01-01T00:00:00Z",
        "fingerprint": fp,
    }


def am_envelope(*alerts, source="alertmanager"):
    payload = {"version": "4", "groupKey": '{}:{alertname="DiskFull"}', "alerts": list(alerts)}
    return IngestEnvelope(
        source=source,
        received_at=at(0),
        principal="key_am",
        request_id="req-1",
        payload=payload,
    )


def sig(status, minute, fp="fp1", **labels):
    return Signal(
        source="alertmanager",
        fingerprint=fp,
        status=status,
        name="HighLatency",
        severity=SignalSeverity.MAJOR,
        observed_at=T0 + timedelta(minutes=minute),
        labels={"alertname": "HighLatency", **labels},
        resource="api-1",
    )


def kinds(ports):
    return [e.detail_type for e in ports.events.events]


def test_create_stores_an_api_alarm_an_incident_and_events(ports):
    [result] = pipeline.process(
        am_envelope(am_alert("firing", "fpA", 0, severity="critical")), ports
    )
    assert result.action is Action.CREATE
    alarm_id = alarm_id_for("alertmanager", "fpA", T0)
    assert result.alarm_id == alarm_id
    alarm = ports.alarms.get(alarm_id)
    assert alarm.status is AlarmStatus.OPEN
    assert alarm.source == "alertmanager" and alarm.resource == "fpA:9100"
    assert alarm.severity.value == "critical" and alarm.message == "disk full on fpA"
    assert (
        alarm.labels["alertname"] == "DiskFull" and alarm.triggered_at == "2026-03-01T12:00:00.000Z"
    )
    assert alarm.created_by == "key_am"
    state = ports.states.states[("alertmanager", "fpA")]
    assert state.alarm_id == alarm_id and state.occurrences == 1
    [incident] = ports.incidents.incidents.values()
    assert ports.incidents.alarm_ids(incident.id) == (alarm_id,) and incident.rule == "alertname"
    assert kinds(ports) == ["AlarmRaised", "IncidentOpened"]
    assert ports.events.events[0].detail["notify"] is True
    timeline = ports.states.entries[alarm_id]
    assert [e.kind for e in timeline] == ["created", "correlated"]


def test_a_repeat_is_exactly_one_store_call_and_nothing_else(ports):
    pipeline.process_signal(sig(SignalStatus.FIRING, 0), ports, PipelineConfig())
    ports.states.calls.clear()
    events, incidents = len(ports.events.events), dict(ports.incidents.incidents)
    alarms = {k: v.model_copy() for k, v in ports.alarms.alarms.items()}
    result = pipeline.process_signal(sig(SignalStatus.FIRING, 1), ports, PipelineConfig())
    assert result.action is Action.REPEAT
    assert ports.states.calls == ["get", "repeat"]  # the read that decides, then ONE write
    assert ports.states.states[("alertmanager", "fp1")].occurrences == 2
    assert len(ports.events.events) == events
    assert ports.incidents.incidents == incidents and ports.alarms.alarms == alarms


def test_a_replayed_envelope_is_ignored_and_writes_nothing(ports):
    envelope = am_envelope(am_alert("firing", "fpA", 0), am_alert("firing", "fpB", 1))
    pipeline.process(envelope, ports)
    ports.states.calls.clear()
    events = len(ports.events.events)
    again = pipeline.process(IngestEnvelope.from_json(envelope.to_json()), ports)
    assert [r.action for r in again] == [Action.IGNORE, Action.IGNORE]
    assert set(ports.states.calls) == {"get"}
    assert len(ports.alarms.alarms) == 2 and len(ports.events.events) == events


def test_resolve_resolves_the_alarm_and_auto_resolves_the_incident(ports):
    pipeline.process(am_envelope(am_alert("firing", "fpA", 0)), ports)
    [result] = pipeline.process(am_envelope(am_alert("resolved", "fpA", 0, 5)), ports)
    assert result.action is Action.RESOLVE
    alarm = ports.alarms.get(result.alarm_id)
    assert alarm.status is AlarmStatus.RESOLVED and alarm.resolved_by == "key_am"
    [incident] = ports.incidents.incidents.values()
    assert incident.status is IncidentStatus.RESOLVED and incident.resolved_by == "auto"
    assert ports.groups.group(incident.group_key).closed
    assert kinds(ports)[-2:] == ["AlarmResolved", "IncidentResolved"]
    assert ports.states.states[("alertmanager", "fpA")].status.value == "resolved"


def test_acknowledge_acknowledges_the_alarm_only(ports):
    pipeline.process_signal(sig(SignalStatus.FIRING, 0), ports, PipelineConfig())
    result = pipeline.process_signal(sig(SignalStatus.ACKNOWLEDGED, 2), ports, PipelineConfig())
    assert result.action is Action.ACKNOWLEDGE
    assert ports.alarms.get(result.alarm_id).status is AlarmStatus.ACKNOWLEDGED
    assert kinds(ports)[-1] == "AlarmAcknowledged"
    [incident] = ports.incidents.incidents.values()
    assert incident.status is IncidentStatus.OPEN


def test_reopen_after_resolve_is_a_new_alarm_linked_to_the_previous(ports):
    config = PipelineConfig()
    first = pipeline.process_signal(sig(SignalStatus.FIRING, 0), ports, config)
    pipeline.process_signal(sig(SignalStatus.RESOLVED, 5), ports, config)
    again = pipeline.process_signal(sig(SignalStatus.FIRING, 10), ports, config)
    assert again.action is Action.REOPEN and again.alarm_id != first.alarm_id
    assert ports.alarms.get(first.alarm_id).status is AlarmStatus.RESOLVED
    assert ports.alarms.get(again.alarm_id).status is AlarmStatus.OPEN
    raised = [e for e in ports.events.events if e.detail_type == "AlarmRaised"]
    assert raised[-1].detail["previous_alarm_id"] == first.alarm_id
    # the first incident resolved and its group closed: the new alarm opens a new incident
    assert len(ports.incidents.incidents) == 2
    assert kinds(ports)[-2:] == ["AlarmRaised", "IncidentOpened"]


def test_flapping_reopens_the_same_alarm_and_holds_notifications(ports):
    config = PipelineConfig(dedup=DedupPolicy(flap_changes=3))
    results = [
        pipeline.process_signal(sig(status, minute), ports, config)
        for status, minute in [
            (SignalStatus.FIRING, 0),
            (SignalStatus.RESOLVED, 1),
            (SignalStatus.FIRING, 2),  # third change: a new alarm, now flapping
            (SignalStatus.RESOLVED, 3),
            (SignalStatus.FIRING, 4),  # flapping: the SAME alarm reopens
        ]
    ]
    assert [r.action for r in results] == ["create", "resolve", "reopen", "resolve", "reopen"]
    assert results[4].alarm_id == results[2].alarm_id != results[0].alarm_id
    assert len(ports.alarms.alarms) == 2
    alarm = ports.alarms.get(results[4].alarm_id)
    assert alarm.status is AlarmStatus.OPEN and alarm.resolved_at is None
    state = ports.states.states[("alertmanager", "fp1")]
    assert state.flapping
    raised = [e for e in ports.events.events if e.detail_type == "AlarmRaised"]
    assert raised[-1].detail["notify"] is False and raised[-1].detail["flapping"] is True
    timeline = [e.kind for e in ports.states.entries[results[4].alarm_id]]
    assert "flapping_started" in timeline and timeline.count("reopened") == 1


def test_alarms_of_one_group_correlate_into_one_incident(ports):
    envelope = am_envelope(
        am_alert("firing", "fpA", 0), am_alert("firing", "fpB", 1), am_alert("firing", "fpC", 2)
    )
    results = pipeline.process(envelope, ports)
    [incident] = ports.incidents.incidents.values()
    assert set(ports.incidents.alarm_ids(incident.id)) == {r.alarm_id for r in results}
    assert kinds(ports).count("IncidentOpened") == 1
    assert kinds(ports).count("IncidentUpdated") == 2
    # resolving two of three keeps it open; the third resolves it
    pipeline.process(
        am_envelope(am_alert("resolved", "fpA", 0, 5), am_alert("resolved", "fpB", 1, 5)), ports
    )
    assert ports.incidents.get(incident.id).status is IncidentStatus.OPEN
    pipeline.process(am_envelope(am_alert("resolved", "fpC", 2, 6)), ports)
    assert ports.incidents.get(incident.id).status is IncidentStatus.RESOLVED


def test_a_pending_group_opens_at_its_threshold_and_a_resolved_blip_leaves_it(ports):
    rule = LabelGroupRule(name="svc", by=("service",), open_after_alarms=2)
    config = PipelineConfig(rules=(rule,))
    a = pipeline.process_signal(sig(SignalStatus.FIRING, 0, "a", service="api"), ports, config)
    assert ports.incidents.incidents == {}
    pipeline.process_signal(sig(SignalStatus.RESOLVED, 1, "a", service="api"), ports, config)
    assert ports.groups.group("svc|service=api") is None  # the blip left; the group is gone
    b = pipeline.process_signal(sig(SignalStatus.FIRING, 2, "b", service="api"), ports, config)
    c = pipeline.process_signal(sig(SignalStatus.FIRING, 3, "c", service="api"), ports, config)
    [incident] = ports.incidents.incidents.values()
    assert (
        set(ports.incidents.alarm_ids(incident.id)) == {b.alarm_id, c.alarm_id}
        and incident.alarm_count == 2
        and a.alarm_id not in ports.incidents.alarm_ids(incident.id)
    )


def test_a_conflict_is_retried_once_after_a_re_read(ports):
    store = ports.states
    original, failures = store.put, []

    def put(state, expected):
        if not failures:
            failures.append(state)
            raise Conflict("raced", code="VERSION_CONFLICT")
        original(state, expected)

    store.put = put
    result = pipeline.process_signal(sig(SignalStatus.FIRING, 0), ports, PipelineConfig())
    assert result.action is Action.CREATE and len(failures) == 1
    assert len(ports.alarms.alarms) == 1 and len(ports.incidents.incidents) == 1


def test_a_second_conflict_fails_the_signal(ports):
    def put(state, expected):
        raise Conflict("raced", code="VERSION_CONFLICT")

    ports.states.put = put
    with pytest.raises(Conflict):
        pipeline.process_signal(sig(SignalStatus.FIRING, 0), ports, PipelineConfig())


def test_a_racing_consumer_that_created_first_turns_the_create_into_a_no_op(ports):
    other = make_ports()
    other = PipelinePorts(**{**other.__dict__, "states": ports.states, "alarms": ports.alarms})
    pipeline.process_signal(sig(SignalStatus.FIRING, 0), other, PipelineConfig())
    result = pipeline.process_signal(sig(SignalStatus.FIRING, 0), ports, PipelineConfig())
    assert result.action is Action.IGNORE and len(ports.alarms.alarms) == 1


def test_received_at_dates_pagerduty_signals_so_a_redelivery_is_identical(ports):
    body = json.loads((ROOT / "events/sources/pagerduty_trigger.json").read_text())
    body["payload"].pop("timestamp", None)
    envelope = IngestEnvelope("pagerduty", "2026-03-01T12:00:00Z", "key_pd", None, payload=body)
    first = pipeline.normalise(envelope, body)
    assert first == pipeline.normalise(envelope, body)
    assert first[0].observed_at == T0


def test_an_offloaded_payload_is_read_from_s3():
    body = json.loads((ROOT / "events/sources/alertmanager_webhook_v4.json").read_text())
    ports = make_ports(FakePayloads({("b", "k.json"): json.dumps(body).encode()}))
    envelope = IngestEnvelope(
        "alertmanager", at(0), "key_am", None, payload_s3={"bucket": "b", "key": "k.json"}
    )
    results = pipeline.process(envelope, ports)
    assert [r.action for r in results] == ["create", "ignore", "create"]
    missing = IngestEnvelope(
        "alertmanager", at(0), "key_am", None, payload_s3={"bucket": "b", "key": "gone"}
    )
    with pytest.raises(UnparseablePayload, match="does not exist"):
        pipeline.process(missing, ports)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("not json", "not an ingest envelope"),
        (json.dumps([1, 2]), "not an ingest envelope"),
        (json.dumps({"source": "alertmanager"}), "not an ingest envelope"),
        (am_envelope(am_alert("firing", "x", 0), source="nagios").to_json(), "unknown source"),
        (
            IngestEnvelope("alertmanager", at(0), "p", None, payload={"version": "3"}).to_json(),
            "unsupported Alertmanager webhook version",
        ),
        (IngestEnvelope("alertmanager", at(0), "p", None).to_json(), "not a JSON object"),
        (
            IngestEnvelope("generic", "yesterday", "p", None, payload={"name": "x"}).to_json(),
            "received_at",
        ),
    ],
)
def test_a_poison_record_fails_alone_with_its_reason_in_the_log(ports, caplog, body, reason):
    handler = load_handler("monitoring/process_alerts")
    good = am_envelope(am_alert("firing", "fpA", 0)).to_json()
    event = {
        "Records": [
            {"messageId": "m1", "body": good},
            {"messageId": "bad", "body": body},
            {"messageId": "m3", "body": am_envelope(am_alert("firing", "fpB", 1)).to_json()},
        ]
    }
    overrides = {
        "alert_states": ports.states,
        "alarms": ports.alarms,
        "alarm_reopener": ports.reopener,
        "incidents": ports.incidents,
        "correlation_groups": ports.groups,
        "publisher": ports.events,
        "clock": ports.clock,
        "ingest_payloads": ports.payloads,
        "silences": MemorySilenceStore(),
        "maintenance_windows": MemoryMaintenanceWindowStore(),
        "inhibition_rules": MemoryInhibitionRuleStore(),
        "alerting_configs": MemoryAlertingConfigStore(),  # none stored: the defaults
    }
    with caplog.at_level(logging.INFO), container.override(**overrides):
        result = handler.lambda_handler(event, None)
    assert result == {"batchItemFailures": [{"itemIdentifier": "bad"}]}
    assert len(ports.alarms.alarms) == 2
    poison = [r for r in caplog.records if "poison record bad" in r.getMessage()]
    assert poison and reason in poison[0].getMessage()
