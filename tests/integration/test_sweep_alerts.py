"""The sweep-alerts schedule under moto: an alert that stopped flapping is found through the
DynamoDB flapping index, settled on its version and notified once."""

import datetime as dt
import json

import boto3

from omp.adapters.dynamo_alerting import DynamoAlertStateStore
from omp.domain.ingest import IngestEnvelope
from tests.support import ROOT, invoke, resolve

START = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=1)


def _send(status, minute, message_id):
    alert = {
        "name": "swing",
        "status": status,
        "labels": {"service": "sweep"},
        "fingerprint": "swing",
        "starts_at": (START + dt.timedelta(minutes=minute)).isoformat(),
    }
    envelope = IngestEnvelope("generic", START.isoformat(), "key:t", None, payload=alert)
    record = {"messageId": message_id, "body": envelope.to_json()}
    assert invoke("process-alerts", {"Records": [record]}) == {"batchItemFailures": []}


def test_a_quiet_flapping_alert_is_settled_once(platform):
    for minute, status in enumerate(["firing", "resolved", "firing", "resolved", "firing"]):
        _send(status, minute, f"m{minute}")
    store = DynamoAlertStateStore(resolve("table", "monitoring"))
    assert store.get("generic", "swing").flapping
    assert len(store.flapping().items) == 1
    sample = json.loads((ROOT / "events" / "sweep-alerts.json").read_text())
    assert invoke("sweep-alerts", sample) == {"opened": 0, "settled": 1}
    state = store.get("generic", "swing")
    assert not state.flapping and store.flapping().items == []
    assert store.timeline(state.alarm_id).items[-1].kind == "flapping_ended"
    assert invoke("sweep-alerts", sample) == {"opened": 0, "settled": 0}
    sqs, notified = boto3.client("sqs"), []
    while got := sqs.receive_message(QueueUrl=platform["queue_url"], MaxNumberOfMessages=10).get(
        "Messages"
    ):
        for m in got:
            detail = json.loads(m["Body"])["detail"]
            if detail.get("reason", "").startswith("no state change"):
                notified.append(detail)
    assert len(notified) == 1 and notified[0]["notify"] is True
