"""An alert whose fields exceed what DynamoDB keys and items hold (a 3 KB fingerprint, a
400 KB resource, a 5 KB grouping label, 100 labels, a 10 KB name) is stored, deduplicated,
correlated and resolved through the real consumer under moto, instead of failing every
delivery into the dead-letter queue (`omp.domain.signals.bounded`)."""

from datetime import UTC, datetime, timedelta

from omp.domain import signals
from omp.domain.ingest import IngestEnvelope
from tests.support import call_api, invoke

NOW = datetime.now(UTC).replace(microsecond=0)


def _huge(status="firing", minute=0):
    labels = {"service": "s" * 5_000, "odd key with spaces": "x"}
    labels |= {f"label{i:03d}": str(i) for i in range(100)}
    return {
        "name": "n" * 10_000,
        "status": status,
        "severity": "critical",
        "message": "m" * 50_000,
        "resource": "arn:aws:ec2:eu-west-1:123456789012:instance/" + "r" * 400_000,
        "labels": labels,
        "fingerprint": "f" * 3_000,
        "starts_at": (NOW + timedelta(minutes=minute)).isoformat(),
    }


def _consume(alert, message_id):
    envelope = IngestEnvelope(
        "generic", NOW.isoformat(), "key:test", "req-1", payload={"alerts": [alert]}
    )
    record = {"messageId": message_id, "body": envelope.to_json()}
    assert invoke("process-alerts", {"Records": [record]}) == {"batchItemFailures": []}


def _alarms():
    status, body, _ = call_api("list-alarms")
    assert status == 200, body
    return body["alarms"]


def test_an_oversized_alert_is_stored_deduplicated_and_resolved(platform):
    _consume(_huge(), "m1")
    _consume(_huge(minute=1), "m2")  # the same alert firing again: a repeat
    (alarm,) = _alarms()
    assert len(alarm["name"]) == signals.MAX_NAME
    assert len(alarm["resource"].encode()) <= signals.MAX_KEY_BYTES
    assert alarm["resource"].startswith("arn:aws:ec2:eu-west-1:123456789012:instance/rrr")
    assert len(alarm["labels"]) == 102  # every label: they total far less than the budget
    assert len(alarm["labels"]["service"]) == signals.MAX_LABEL_VALUE
    assert alarm["labels"]["odd key with spaces"] == "x"
    status, body, _ = call_api("get-alarm-timeline", path_params={"alarm_id": alarm["id"]})
    assert status == 200, body
    assert [e["kind"] for e in body["timeline"]] == ["created", "correlated"]
    _consume(_huge("resolved", minute=2), "m3")
    (alarm,) = _alarms()
    assert alarm["status"] == "resolved"


def test_bounded_keys_stay_distinct_and_readable():
    a, b = "x" * 1000 + "a", "x" * 1000 + "b"
    assert signals.bounded_key(a) != signals.bounded_key(b)
    assert signals.bounded_key(a) == signals.bounded_key(a)
    assert signals.bounded_key(a).startswith("xxxx")
    assert len(signals.bounded_key(a).encode()) <= signals.MAX_KEY_BYTES
    for char in ("é", "漢", "😀"):
        assert len(signals.bounded_key(char * 600).encode()) <= signals.MAX_KEY_BYTES
    assert signals.bounded_key("x" * 900) == "x" * 900  # what always worked keeps its identity
    assert signals.bounded_key("short") == "short"
    assert signals.bounded_key("a\ud800b") == "a\ufffdb"  # a lone surrogate from JSON


def test_the_alarm_event_of_the_widest_labels_fits_eventbridge():
    """Labels are budgeted in UTF-8 bytes: 64 values of 1,024 CJK characters (3 bytes each,
    6 escaped in JSON) would have made a 394 KB event, over PutEvents' 256 KB."""
    import json

    from omp.domain import alarms
    from omp.services.pipeline import alarm_from_signal

    wide = signals.Signal(
        source="generic",
        fingerprint="f",
        status=signals.SignalStatus.FIRING,
        name="n" * 300,
        severity=signals.SignalSeverity.MAJOR,
        observed_at=NOW,
        message="😀" * 5000,
        labels={f"label{i:02d}": "漢" * 1024 for i in range(64)},
    )
    bounded = signals.bounded(wide)
    assert sum(len(k.encode()) + len(v.encode()) for k, v in bounded.labels.items()) <= (
        signals.MAX_LABEL_BYTES
    )
    alarm = alarm_from_signal(bounded, "alm_01JTEST0000000000000000000", NOW, "pipeline")
    event = alarms.event_for(alarm, "pipeline")
    assert len(json.dumps(event.detail).encode()) < 128 * 1024
