"""The alert consumer under moto: SQS-shaped events built from `events/sources/*` samples,
driven through the handler, checked through the Alarm API and DynamoDB itself."""

import copy
import json
from pathlib import Path

import boto3
import pytest

from omp.adapters import aws
from omp.domain.ingest import IngestEnvelope
from omp.runtime import env
from tests import support

ROOT = Path(__file__).resolve().parents[2]
BUCKET = support.PREFIX + "ingest"
# Until the catalog has `process-alerts`, the environment its entry will give it.
ENV = {
    "OMP_TABLE_MONITORING": support.PREFIX + "monitoring",
    "OMP_BUS_PLATFORM": support.PREFIX + "platform",
    "OMP_BUCKET_INGEST": BUCKET,
}


def sample(name):
    return json.loads((ROOT / "events/sources" / name).read_text())


@pytest.fixture
def pipeline_env(dynamodb):
    events, s3 = boto3.client("events"), boto3.client("s3")
    events.create_event_bus(Name=ENV["OMP_BUS_PLATFORM"])
    s3.create_bucket(Bucket=BUCKET)
    return s3


def envelope(source, payload, received_at="2024-05-06T10:20:00Z", **extra):
    return IngestEnvelope(source, received_at, "key_test", "req-1", payload=payload, **extra)


def sqs_event(*bodies):
    return {
        "Records": [
            {
                "messageId": f"m{i}",
                "receiptHandle": f"rh{i}",
                "body": body if isinstance(body, str) else body.to_json(),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:omp-test-alert-ingest",
                "awsRegion": "us-east-1",
            }
            for i, body in enumerate(bodies)
        ]
    }


def consume(event):
    with env.overlay(ENV):
        return support.load_handler("monitoring/process_alerts").lambda_handler(
            event, support.Context()
        )


def alarms(start, end, **query):
    status, body, _ = support.call_api("list-alarms", query={"start": start, "end": end, **query})
    assert status == 200, body
    return body["alarms"]


class DynamoCalls:
    """Every DynamoDB operation the adapters' client makes (botocore before-call hook)."""

    def __init__(self):
        self.names = []
        aws.client("dynamodb").meta.events.register("before-call.dynamodb", self._record)

    def _record(self, model, **kwargs):
        self.names.append(model.name)


AM_WINDOW = ("2024-05-01T00:00:00Z", "2024-05-31T00:00:00Z")


def test_alertmanager_create_replay_repeat_resolve(pipeline_env):
    webhook = sample("alertmanager_webhook_v4.json")
    assert consume(sqs_event(envelope("alertmanager", webhook))) == {"batchItemFailures": []}

    listed = alarms(*AM_WINDOW)
    # two firing alerts; the resolved one was never seen firing (ignored)
    assert sorted(a["resource"] for a in listed) == ["db-1.example.com:9100", "nfs-share-3"]
    assert {a["status"] for a in listed} == {"open"}
    disk = next(a for a in listed if a["resource"] == "db-1.example.com:9100")
    assert disk["source"] == "alertmanager" and disk["severity"] == "critical"
    assert disk["labels"]["mountpoint"] == "/var/lib/postgresql"
    assert disk["triggered_at"] == "2024-05-06T10:15:30.123Z"

    # the same delivery again (SQS redelivery, a client retry): nothing new
    calls = DynamoCalls()
    assert consume(sqs_event(envelope("alertmanager", webhook))) == {"batchItemFailures": []}
    assert set(calls.names) == {"GetItem"}
    assert len(alarms(*AM_WINDOW)) == 2

    # a repeat of the disk alert: the batch's alerting settings (one read per batch), the
    # read that decides, then exactly ONE write
    repeat = copy.deepcopy(webhook)
    repeat["alerts"] = [repeat["alerts"][0]]
    repeat["alerts"][0]["startsAt"] = "2024-05-06T10:16:30Z"
    calls.names.clear()
    assert consume(sqs_event(envelope("alertmanager", repeat))) == {"batchItemFailures": []}
    assert calls.names == ["GetItem", "GetItem", "UpdateItem"]
    state = boto3.client("dynamodb").get_item(
        TableName=ENV["OMP_TABLE_MONITORING"],
        Key={"pk": {"S": "ALERT#alertmanager#8f4b3c2a1d0e9f87"}, "sk": {"S": "S"}},
    )["Item"]
    assert state["occurrences"] == {"N": "2"}

    # the resolve
    resolved = copy.deepcopy(repeat)
    resolved["status"] = "resolved"
    resolved["alerts"][0] |= {"status": "resolved", "endsAt": "2024-05-06T10:30:00Z"}
    assert consume(sqs_event(envelope("alertmanager", resolved))) == {"batchItemFailures": []}
    [gone] = alarms(*AM_WINDOW, status="resolved")
    assert gone["id"] == disk["id"] and gone["resolved_by"] == "key_test"
    assert [a["resource"] for a in alarms(*AM_WINDOW, status="open")] == ["nfs-share-3"]


def test_cloudwatch_alarm_then_ok_resolves(pipeline_env):
    alarm = sample("cloudwatch_eventbridge_single_metric.json")
    ok = copy.deepcopy(alarm)
    ok["detail"]["previousState"] = alarm["detail"]["state"]
    ok["detail"]["state"] = {
        "reason": "Threshold Crossed: back under 50",
        "timestamp": "2019-10-02T17:30:00.000+0000",
        "value": "OK",
    }
    ok["time"] = "2019-10-02T17:30:00Z"
    result = consume(
        sqs_event(
            envelope("cloudwatch", alarm, "2019-10-02T17:04:41Z"),
            envelope("cloudwatch", sample("cloudwatch_eventbridge_ok_load_balancer.json")),
        )
    )
    assert result == {"batchItemFailures": []}
    window = ("2019-10-01T00:00:00Z", "2019-10-31T00:00:00Z")
    [raised] = alarms(*window)
    assert raised["status"] == "open" and raised["name"] == "ServerCpuTooHigh"
    assert raised["source"] == "cloudwatch"

    assert consume(sqs_event(envelope("cloudwatch", ok))) == {"batchItemFailures": []}
    [after] = alarms(*window)
    assert after["id"] == raised["id"] and after["status"] == "resolved"
    # an OK for an alarm never seen firing made no alarm
    assert alarms("2024-03-01T00:00:00Z", "2024-03-31T00:00:00Z") == []


def test_an_offloaded_payload_and_a_poison_record_in_one_batch(pipeline_env):
    pipeline_env.put_object(
        Bucket=BUCKET,
        Key="alertmanager/big.json",
        Body=json.dumps(sample("alertmanager_webhook_v4.json")).encode(),
    )
    offloaded = envelope(
        "alertmanager", None, payload_s3={"bucket": BUCKET, "key": "alertmanager/big.json"}
    )
    missing = envelope("alertmanager", None, payload_s3={"bucket": BUCKET, "key": "gone.json"})
    result = consume(sqs_event(offloaded, "{not json", missing))
    assert result == {"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m2"}]}
    assert len(alarms(*AM_WINDOW)) == 2


def test_events_sample_is_a_valid_batch(pipeline_env):
    event = json.loads((ROOT / "events/process-alerts.json").read_text())
    envelopes = [IngestEnvelope.from_json(r["body"]) for r in event["Records"]]
    assert envelopes and envelopes[0].source == "alertmanager"
    assert consume(event) == {"batchItemFailures": []}
    assert alarms(*AM_WINDOW)
