"""PagerDuty Events API v2: trigger, acknowledge, resolve; PagerDuty's validation rules."""

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from omp.domain.signals import SignalSeverity, SignalStatus, UnparseablePayload
from omp.sources import pagerduty

SAMPLES = Path(__file__).resolve().parents[2] / "events" / "sources"
RECEIVED = datetime(2024, 5, 6, 12, 0, tzinfo=UTC)


def load(name):
    return json.loads((SAMPLES / name).read_text())


def test_trigger():
    [signal] = pagerduty.normalise(load("pagerduty_trigger.json"), received_at=RECEIVED)
    assert signal.source == "pagerduty"
    assert signal.fingerprint == "disk-prod-datapipe03"
    assert signal.status is SignalStatus.FIRING
    assert signal.name == "DISK at 99% on machine prod-datapipe03.example.com"
    assert signal.message == signal.name
    assert signal.severity is SignalSeverity.CRITICAL
    assert signal.resource == "prod-datapipe03.example.com"
    assert signal.observed_at == datetime(2015, 7, 17, 8, 42, 58, 315000, tzinfo=UTC)
    assert signal.url == "https://monitoring.example.com"
    assert signal.labels["component"] == "mysql"
    assert signal.labels["group"] == "prod-datapipe"
    assert signal.labels["class"] == "disk"
    assert signal.labels["pd_severity"] == "critical"
    assert "R0123456789abcdef" not in json.dumps(signal.labels)  # the routing key is hashed
    assert signal.annotations["detail_free space"] == "1%"
    assert signal.annotations["detail_load avg"] == "0.75"
    assert signal.annotations["link_0"] == "https://monitoring.example.com/hosts/prod-datapipe03"
    assert signal.annotations["client"] == "Sample Monitoring Service"


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("pagerduty_acknowledge.json", SignalStatus.ACKNOWLEDGED),
        ("pagerduty_resolve.json", SignalStatus.RESOLVED),
    ],
)
def test_acknowledge_and_resolve_need_only_the_dedup_key(name, status):
    [signal] = pagerduty.normalise(load(name), received_at=RECEIVED)
    assert signal.fingerprint == "disk-prod-datapipe03"
    assert signal.status is status
    assert signal.observed_at == RECEIVED


def test_trigger_without_dedup_key_gets_a_deterministic_one():
    payload = load("pagerduty_trigger_without_dedup_key.json")
    [signal] = pagerduty.normalise(payload, received_at=RECEIVED)
    assert signal.fingerprint.startswith("omp-")
    assert signal.fingerprint == pagerduty.generated_dedup_key(
        payload["routing_key"], payload["payload"]
    )
    assert signal.severity is SignalSeverity.MAJOR  # PD "error"
    assert signal.observed_at == RECEIVED  # no payload.timestamp
    [again] = pagerduty.normalise(copy.deepcopy(payload), received_at=RECEIVED)
    assert again == signal
    other = copy.deepcopy(payload)
    other["routing_key"] = "another-routing-key-0000000000000"
    assert pagerduty.normalise(other)[0].fingerprint != signal.fingerprint


def test_observed_at_defaults_to_now_without_timestamp_or_received_at():
    before = datetime.now(UTC)
    [signal] = pagerduty.normalise(load("pagerduty_resolve.json"))
    assert before <= signal.observed_at <= datetime.now(UTC)


@pytest.mark.parametrize(
    ("severity", "expected"),
    [
        ("critical", SignalSeverity.CRITICAL),
        ("error", SignalSeverity.MAJOR),
        ("warning", SignalSeverity.WARNING),
        ("info", SignalSeverity.INFO),
    ],
)
def test_severity_mapping(severity, expected):
    payload = load("pagerduty_trigger.json")
    payload["payload"]["severity"] = severity
    assert pagerduty.normalise(payload)[0].severity is expected


def test_summary_of_exactly_1024_characters_is_accepted():
    payload = load("pagerduty_trigger.json")
    payload["payload"]["summary"] = "x" * 1024
    assert pagerduty.normalise(payload)[0].name == "x" * 1024


def _pd(name, mutate):
    payload = load(name)
    mutate(payload)
    return payload


def _trigger(mutate):
    return _pd("pagerduty_trigger.json", mutate)


BAD = {
    "huge-summary": (
        _trigger(lambda p: p["payload"].update(summary="x" * 1025)),
        "1025 characters",
    ),
    "no-summary": (_trigger(lambda p: p["payload"].pop("summary")), "summary is required"),
    "empty-summary": (
        _trigger(lambda p: p["payload"].update(summary="  ")),
        "summary must not be empty",
    ),
    "summary-not-string": (
        _trigger(lambda p: p["payload"].update(summary=["a"])),
        "summary must be a string",
    ),
    "no-source": (_trigger(lambda p: p["payload"].pop("source")), "source is required"),
    "no-severity": (_trigger(lambda p: p["payload"].pop("severity")), "severity"),
    "bad-severity": (_trigger(lambda p: p["payload"].update(severity="major")), "severity"),
    "severity-uppercase": (
        _trigger(lambda p: p["payload"].update(severity="CRITICAL")),
        "severity",
    ),
    "bad-timestamp": (
        _trigger(lambda p: p["payload"].update(timestamp="last tuesday")),
        "timestamp",
    ),
    "no-payload": (_trigger(lambda p: p.pop("payload")), "body.payload"),
    "payload-not-object": (_trigger(lambda p: p.update(payload="x")), "body.payload"),
    "no-routing-key": (_trigger(lambda p: p.pop("routing_key")), "routing_key"),
    "routing-key-number": (_trigger(lambda p: p.update(routing_key=42)), "routing_key"),
    "bad-action": (_trigger(lambda p: p.update(event_action="escalate")), "event_action"),
    "no-action": (_trigger(lambda p: p.pop("event_action")), "event_action"),
    "dedup-key-too-long": (_trigger(lambda p: p.update(dedup_key="k" * 256)), "dedup_key"),
    "dedup-key-number": (_trigger(lambda p: p.update(dedup_key=7)), "dedup_key"),
    "links-not-list": (_trigger(lambda p: p.update(links={"href": "x"})), "links"),
    "link-without-href": (_trigger(lambda p: p.update(links=[{"text": "x"}])), "href"),
    "image-without-src": (_trigger(lambda p: p.update(images=[{"href": "x"}])), "src"),
    "component-not-string": (_trigger(lambda p: p["payload"].update(component=1)), "component"),
    "ack-without-dedup-key": (
        _pd("pagerduty_acknowledge.json", lambda p: p.pop("dedup_key")),
        "dedup_key is required",
    ),
    "resolve-without-dedup-key": (
        _pd("pagerduty_resolve.json", lambda p: p.pop("dedup_key")),
        "dedup_key is required",
    ),
    "not-an-object": ([{"event_action": "trigger"}], "JSON object"),
}


@pytest.mark.parametrize(("payload", "reason"), BAD.values(), ids=BAD.keys())
def test_bad_pagerduty_events(payload, reason):
    with pytest.raises(UnparseablePayload, match=reason):
        pagerduty.normalise(copy.deepcopy(payload))


@pytest.mark.parametrize("name", sorted(p.name for p in SAMPLES.glob("pagerduty_*.json")))
def test_replay_gives_identical_signals(name):
    assert pagerduty.normalise(load(name), received_at=RECEIVED) == pagerduty.normalise(
        load(name), received_at=RECEIVED
    )
