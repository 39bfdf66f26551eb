"""om-platform's generic alert JSON."""

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from omp.domain.signals import SignalSeverity, SignalStatus, UnparseablePayload
from omp.sources import generic

SAMPLES = Path(__file__).resolve().parents[2] / "events" / "sources"
RECEIVED = datetime(2024, 5, 6, 12, 0, tzinfo=UTC)


def load(name):
    return json.loads((SAMPLES / name).read_text())


def test_alerts_list():
    backup, cert = generic.normalise(load("generic_alerts.json"), received_at=RECEIVED)
    assert backup.source == "generic"
    assert backup.fingerprint == "backup-orders-db"
    assert backup.status is SignalStatus.FIRING
    assert backup.name == "BackupFailed"
    assert backup.severity is SignalSeverity.MAJOR
    assert backup.message == "Nightly backup of orders-db failed"
    assert backup.resource == "orders-db"
    assert backup.labels == {"env": "prod", "team": "dba"}
    assert backup.annotations == {"runbook": "https://runbooks.example.com/backup"}
    assert backup.url == "https://backup.example.com/jobs/981"
    assert backup.observed_at == datetime(2024, 5, 6, 2, 0, 5, tzinfo=UTC)

    assert cert.status is SignalStatus.RESOLVED
    assert cert.severity is SignalSeverity.INFO
    assert cert.labels == {"env": "prod", "days_left": "89"}
    assert cert.observed_at == datetime(2024, 5, 6, 2, 0, tzinfo=UTC)
    assert cert.fingerprint == generic.fingerprint(
        "CertificateExpiring", "shop.example.com", cert.labels
    )
    assert len(cert.fingerprint) == 32


def test_single_alert_object():
    [signal] = generic.normalise(load("generic_single_alert.json"), received_at=RECEIVED)
    assert signal.name == "QueueStalled"
    assert signal.status is SignalStatus.FIRING  # default
    assert signal.severity is SignalSeverity.WARNING  # "warn"
    assert signal.resource == "arn:aws:sqs:us-east-1:123456789012:orders"


def test_minimal_alert_uses_defaults_and_received_at():
    [signal] = generic.normalise({"name": "Ping"}, received_at=RECEIVED)
    assert signal.status is SignalStatus.FIRING
    assert signal.severity is SignalSeverity.WARNING
    assert signal.observed_at == RECEIVED
    assert signal.resource is None


def test_default_fingerprint_covers_name_resource_and_labels():
    base = {"name": "A", "resource": "r", "labels": {"x": "1", "y": "2"}}
    fp = generic.normalise(base)[0].fingerprint
    assert generic.normalise({**base, "labels": {"y": "2", "x": "1"}})[0].fingerprint == fp
    assert (
        generic.normalise({**base, "message": "changed", "severity": "critical"})[0].fingerprint
        == fp
    )
    assert generic.normalise({**base, "resource": "other"})[0].fingerprint != fp
    assert generic.normalise({**base, "labels": {"x": "1"}})[0].fingerprint != fp
    assert generic.normalise({**base, "name": "B"})[0].fingerprint != fp


def test_configurable_fingerprint_labels():
    one = {
        "name": "HighLatency",
        "resource": "api-1",
        "labels": {"service": "checkout", "pod": "a"},
    }
    two = {
        "name": "HighLatency",
        "resource": "api-2",
        "labels": {"service": "checkout", "pod": "b"},
    }
    by_service = ["name", "service"]
    assert (
        generic.normalise(one, fingerprint_labels=by_service)[0].fingerprint
        == generic.normalise(two, fingerprint_labels=by_service)[0].fingerprint
    )
    assert (
        generic.normalise(one, fingerprint_labels=["name", "resource"])[0].fingerprint
        != generic.normalise(two, fingerprint_labels=["name", "resource"])[0].fingerprint
    )
    # order and repeats of the configured names do not matter
    assert (
        generic.normalise(one, fingerprint_labels=["service", "name", "service"])[0].fingerprint
        == generic.normalise(one, fingerprint_labels=by_service)[0].fingerprint
    )
    # a label shadows the pseudo-label of the same name
    assert (
        generic.normalise({"name": "X", "labels": {"name": "y"}}, fingerprint_labels=["name"])[
            0
        ].fingerprint
        != generic.normalise({"name": "X"}, fingerprint_labels=["name"])[0].fingerprint
    )
    # an explicit fingerprint always wins
    assert (
        generic.normalise({**one, "fingerprint": "mine"}, fingerprint_labels=by_service)[
            0
        ].fingerprint
        == "mine"
    )


BAD = {
    "alerts-empty": ({"alerts": []}, "empty"),
    "alerts-not-list": ({"alerts": {"name": "x"}}, "alerts"),
    "alert-not-object": ({"alerts": [1]}, r"alerts\[0\]"),
    "no-name": ({"alerts": [{"status": "firing"}]}, "name is required"),
    "empty-name": ({"name": ""}, "name must not be empty"),
    "name-not-string": ({"name": 3}, "name must be a string"),
    "bad-status": ({"name": "x", "status": "ok"}, "status"),
    "status-not-string": ({"name": "x", "status": True}, "status"),
    "severity-not-string": ({"name": "x", "severity": 5}, "severity"),
    "labels-not-object": ({"name": "x", "labels": ["a"]}, "labels"),
    "label-value-list": ({"name": "x", "labels": {"a": [1]}}, "labels.a"),
    "annotations-not-object": ({"name": "x", "annotations": "a"}, "annotations"),
    "bad-starts-at": ({"name": "x", "starts_at": "soon"}, "starts_at"),
    "resource-not-string": ({"name": "x", "resource": {"id": 1}}, "resource"),
    "fingerprint-not-string": ({"name": "x", "fingerprint": 1}, "fingerprint"),
    "too-many-alerts": ({"alerts": [{"name": "x"}] * 1001}, "more than 1000"),
    "not-an-object": ("just text", "JSON object"),
}


@pytest.mark.parametrize(("payload", "reason"), BAD.values(), ids=BAD.keys())
def test_bad_generic_payloads(payload, reason):
    with pytest.raises(UnparseablePayload, match=reason):
        generic.normalise(copy.deepcopy(payload))


@pytest.mark.parametrize("name", ["generic_alerts.json", "generic_single_alert.json"])
def test_replay_gives_identical_signals(name):
    assert generic.normalise(load(name), received_at=RECEIVED) == generic.normalise(
        load(name), received_at=RECEIVED
    )
