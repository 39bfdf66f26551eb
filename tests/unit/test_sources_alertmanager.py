"""Alertmanager webhook v4 and the Grafana unified alerting webhook."""

import copy
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from omp.domain.signals import SignalSeverity, SignalStatus, UnparseablePayload
from omp.sources import alertmanager, grafana
from omp.sources._common import label_set_fingerprint

SAMPLES = Path(__file__).resolve().parents[2] / "events" / "sources"


def load(name):
    return json.loads((SAMPLES / name).read_text())


def test_alertmanager_sample_gives_one_signal_per_alert():
    payload = load("alertmanager_webhook_v4.json")
    first, second, third = alertmanager.normalise(payload)
    group_key = '{}/{team="storage"}:{alertname="DiskFull"}'

    assert first.source == "alertmanager"
    assert first.fingerprint == "8f4b3c2a1d0e9f87"
    assert first.status is SignalStatus.FIRING
    assert first.name == "DiskFull"
    assert first.severity is SignalSeverity.CRITICAL
    assert first.resource == "db-1.example.com:9100"
    assert first.message == "Disk /var/lib/postgresql on db-1 is 97% full"
    assert first.observed_at == datetime(2024, 5, 6, 10, 15, 30, 123456, tzinfo=UTC)
    assert first.ends_at is None  # 0001-01-01T00:00:00Z means no end
    assert first.group_key == group_key
    assert first.labels["mountpoint"] == "/var/lib/postgresql"
    assert first.annotations["runbook_url"] == "https://runbooks.example.com/disk-full"
    assert first.url.startswith("http://prometheus.example.com:9090/graph")

    assert second.status is SignalStatus.RESOLVED
    assert second.fingerprint == "1a2b3c4d5e6f7081"
    assert second.severity is SignalSeverity.WARNING
    assert second.resource == "ingest-7d9f8b6c5-x2x4z"  # the pod label
    assert second.message == "Disk on the ingest pod recovered."  # description, no summary
    assert second.observed_at == datetime(2024, 5, 6, 10, 14, tzinfo=UTC)  # endsAt once resolved
    assert second.ends_at == datetime(2024, 5, 6, 10, 14, tzinfo=UTC)

    assert third.resource == "nfs-share-3"
    assert third.severity is SignalSeverity.CRITICAL  # "page"
    assert third.observed_at == datetime(2024, 5, 6, 8, 16, tzinfo=UTC)
    assert third.url is None
    # no fingerprint in the payload: Prometheus' label-set fingerprint of the alert's labels
    assert third.fingerprint == label_set_fingerprint(payload["alerts"][2]["labels"])


def test_truncated_alerts_are_reported():
    assert alertmanager.truncated_alerts(load("alertmanager_webhook_v4.json")) == 2
    assert alertmanager.truncated_alerts({"alerts": []}) == 0


@pytest.mark.parametrize("value", [-1, "2", 1.5, True, []])
def test_bad_truncated_alerts_is_unparseable(value):
    with pytest.raises(UnparseablePayload, match="truncatedAlerts"):
        alertmanager.truncated_alerts({"truncatedAlerts": value})


def test_label_set_fingerprint_matches_prometheus():
    # test vectors from prometheus/common model/signature_test.go
    assert int(label_set_fingerprint({}), 16) == 14695981039346656037
    labels = {"name": "garland, briggs", "fear": "love is not enough"}
    assert int(label_set_fingerprint(labels), 16) == 5799056148416392346


@pytest.mark.parametrize(
    ("label", "severity"),
    [
        ("critical", SignalSeverity.CRITICAL),
        ("error", SignalSeverity.CRITICAL),
        ("high", SignalSeverity.CRITICAL),
        ("major", SignalSeverity.MAJOR),
        ("warning", SignalSeverity.WARNING),
        ("warn", SignalSeverity.WARNING),
        ("minor", SignalSeverity.MINOR),
        ("info", SignalSeverity.INFO),
        ("none", SignalSeverity.INFO),
        ("low", SignalSeverity.INFO),
        ("CRITICAL", SignalSeverity.CRITICAL),
        ("something-else", SignalSeverity.WARNING),
        (None, SignalSeverity.WARNING),
    ],
)
def test_severity_label_mapping(label, severity):
    payload = load("alertmanager_webhook_v4.json")
    alert = payload["alerts"][0]
    if label is None:
        alert["labels"].pop("severity")
    else:
        alert["labels"]["severity"] = label
    payload["alerts"] = [alert]
    assert alertmanager.normalise(payload)[0].severity is severity


def test_alert_status_falls_back_to_the_group_status():
    payload = load("alertmanager_webhook_v4.json")
    payload["alerts"] = [payload["alerts"][0]]
    del payload["alerts"][0]["status"]
    payload["status"] = "resolved"
    assert alertmanager.normalise(payload)[0].status is SignalStatus.RESOLVED


def _am(mutate):
    payload = load("alertmanager_webhook_v4.json")
    mutate(payload)
    return payload


def _alert0(**changes):
    def mutate(payload):
        for key, value in changes.items():
            if value is ...:
                payload["alerts"][0].pop(key)
            else:
                payload["alerts"][0][key] = value

    return _am(mutate)


BAD = {
    "no-alerts": (_am(lambda p: p.pop("alerts")), "alerts"),
    "alerts-empty": (_am(lambda p: p.update(alerts=[])), "empty"),
    "alerts-not-list": (_am(lambda p: p.update(alerts={"a": 1})), "alerts"),
    "alert-not-object": (_am(lambda p: p.update(alerts=["x"])), r"alerts\[0\]"),
    "wrong-version": (_am(lambda p: p.update(version="3")), "version"),
    "bad-status": (_alert0(status="pending"), "status"),
    "status-not-string": (_alert0(status=1), "status"),
    "no-starts-at": (_alert0(startsAt=...), "startsAt"),
    "bad-starts-at": (_alert0(startsAt="tomorrow"), "startsAt"),
    "starts-at-number": (_alert0(startsAt=1715000000), "startsAt"),
    "bad-ends-at": (_alert0(endsAt="never"), "endsAt"),
    "labels-not-object": (_alert0(labels=["a"]), "labels"),
    "label-value-object": (_alert0(labels={"alertname": {"x": 1}}), "labels.alertname"),
    "no-alertname": (
        _am(
            lambda p: [a["labels"].pop("alertname") for a in p["alerts"]]
            and p.update(commonLabels={})
        ),
        "alertname",
    ),
    "fingerprint-not-string": (_alert0(fingerprint=12), "fingerprint"),
    "group-key-not-string": (_am(lambda p: p.update(groupKey=5)), "groupKey"),
    "common-labels-not-object": (_am(lambda p: p.update(commonLabels="x")), "commonLabels"),
    "truncated-not-int": (_am(lambda p: p.update(truncatedAlerts="2")), "truncatedAlerts"),
    "not-an-object": ("alerts", "JSON object"),
}


@pytest.mark.parametrize(("payload", "reason"), BAD.values(), ids=BAD.keys())
def test_bad_alertmanager_payloads(payload, reason):
    with pytest.raises(UnparseablePayload, match=reason):
        alertmanager.normalise(copy.deepcopy(payload))


def test_grafana_sample():
    payload = load("grafana_webhook.json")
    memory, cpu = grafana.normalise(payload)
    assert memory.source == "grafana"
    assert memory.fingerprint == "c6eadffa33fcdf37"
    assert cpu.fingerprint == "bc97ff14869b13e3"
    assert memory.status is SignalStatus.FIRING
    assert memory.name == "High memory usage"
    assert cpu.name == "High CPU usage"
    assert memory.severity is SignalSeverity.WARNING  # no severity label
    assert memory.resource is None
    assert memory.message == "This alert was triggered for zone us-1"
    assert memory.observed_at == datetime(
        2021, 10, 12, 9, 51, 3, 157076, tzinfo=timezone(timedelta(hours=2))
    )
    assert memory.observed_at.utcoffset() == timedelta(0)
    assert memory.ends_at is None
    assert memory.group_key == "{}:{}"
    assert memory.url == "https://play.grafana.org/alerting/1afz29v7z/edit"
    assert memory.labels == {
        "alertname": "High memory usage",
        "team": "blue",
        "zone": "us-1",
        "grafana_org_id": "1",
    }
    assert memory.annotations["value_B"] == "44.23943737541908"
    assert memory.annotations["value_C"] == "1"
    assert memory.annotations["silence_url"].startswith(
        "https://play.grafana.org/alerting/silence/new"
    )
    assert "dashboard_url" not in memory.annotations  # empty in the payload


def test_grafana_truncated_alerts():
    assert grafana.truncated_alerts(load("grafana_webhook.json")) == 0


def _gf(mutate):
    payload = load("grafana_webhook.json")
    mutate(payload)
    return payload


GRAFANA_BAD = {
    "alerts-empty": (_gf(lambda p: p.update(alerts=[])), "empty"),
    "values-not-object": (_gf(lambda p: p["alerts"][0].update(values=[1])), "values"),
    "value-nested": (_gf(lambda p: p["alerts"][0].update(values={"B": {"x": 1}})), "values.B"),
    "dashboard-url-not-string": (
        _gf(lambda p: p["alerts"][0].update(dashboardURL=3)),
        "dashboardURL",
    ),
    "no-starts-at": (_gf(lambda p: p["alerts"][1].pop("startsAt")), r"alerts\[1\].startsAt"),
    "not-an-object": (None, "JSON object"),
}


@pytest.mark.parametrize(("payload", "reason"), GRAFANA_BAD.values(), ids=GRAFANA_BAD.keys())
def test_bad_grafana_payloads(payload, reason):
    with pytest.raises(UnparseablePayload, match=reason):
        grafana.normalise(copy.deepcopy(payload))


@pytest.mark.parametrize(
    ("module", "name"),
    [(alertmanager, "alertmanager_webhook_v4.json"), (grafana, "grafana_webhook.json")],
)
def test_replay_gives_identical_signals(module, name):
    assert module.normalise(load(name)) == module.normalise(load(name))
