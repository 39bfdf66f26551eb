"""Issue 3, section 6, end to end under moto: unparseable webhook bodies 400 with the reason;
unknown source 404; missing or revoked key 401; over 1 MB 413; a bad record in the consumer
goes alone to the DLQ with its reason; replaying any payload, of every source, never creates a
second alarm."""

import json
import logging

import boto3
import pytest

from omp.domain.ingest import IngestEnvelope
from tests import support
from tests.support import ROOT, call_api, invoke

SOURCES = ROOT / "events" / "sources"
# Every source-format sample that is an alert payload (not a negative sample, not a metric).
SAMPLES = sorted(
    p.name
    for p in SOURCES.glob("*.json")
    if p.name.split("_")[0] in ("alertmanager", "cloudwatch", "grafana", "pagerduty", "generic")
    and "not_a_state_change" not in p.name
)
METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/POST/v1/ingest"


def _sample(name):
    return json.loads((SOURCES / name).read_text())


def _queue_url(name="alert-ingest"):
    return boto3.client("sqs").get_queue_url(QueueName=support.PREFIX + name)["QueueUrl"]


def _drain():
    sqs, records = boto3.client("sqs"), []
    while got := sqs.receive_message(QueueUrl=_queue_url(), MaxNumberOfMessages=10).get("Messages"):
        for m in got:
            records.append({"messageId": m["MessageId"], "body": m["Body"]})
            sqs.delete_message(QueueUrl=_queue_url(), ReceiptHandle=m["ReceiptHandle"])
    return records


def _alarm_ids():
    """Every alarm item in the monitoring table (whatever its day)."""
    table = support.resolve("table", "monitoring")
    pages = boto3.client("dynamodb").get_paginator("scan").paginate(TableName=table)
    return sorted(
        i["pk"]["S"]
        for page in pages
        for i in page["Items"]
        if i["pk"]["S"].startswith("ALARM#") and i["sk"]["S"] == "A"
    )


def _post_any(body):
    status, answer, _ = call_api("ingest-any", body=body, principal="key:t", roles="integration")
    assert status == 202, answer
    return answer


def _consume(records):
    assert invoke("process-alerts", {"Records": records}) == {"batchItemFailures": []}


# ---- replays never create a second alarm -----------------------------------------------------


@pytest.mark.parametrize("name", SAMPLES)
def test_replaying_a_payload_never_creates_a_second_alarm(platform, name):
    if name.startswith("pagerduty_") and "trigger" not in name:
        _post_any(_sample("pagerduty_trigger.json"))  # something to acknowledge or resolve
        _consume(_drain())
    payload = _sample(name)
    _post_any(payload)
    first = _drain()
    _consume(first)
    alarms = _alarm_ids()
    _consume(first)  # SQS redelivers the same record
    _post_any(payload)  # the sender retries (received a moment later)
    _consume(_drain())
    assert _alarm_ids() == alarms


def test_every_source_is_replayed():
    assert {n.split("_")[0] for n in SAMPLES} == {
        "alertmanager",
        "cloudwatch",
        "grafana",
        "pagerduty",
        "generic",
    }


# ---- webhook refusals --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "body", "reason"),
    [
        ("alertmanager", {"version": "4", "alerts": [{"status": "firing"}]}, "startsAt"),
        ("grafana", {"alerts": "nope"}, "payload.alerts"),
        ("pagerduty", {"routing_key": "r", "event_action": "explode"}, "event_action"),
        ("generic", {"alerts": [{"status": "firing"}]}, "payload.alerts[0].name"),
        ("cloudwatch", {"Records": []}, "Records"),
    ],
)
def test_an_unparseable_body_is_a_400_with_the_reason(platform, source, body, reason):
    status, answer, _ = call_api(
        "ingest-alerts", path_params={"source": source}, body=body, roles="integration"
    )
    assert (status, answer["error"]["code"]) == (400, "UNPARSEABLE_PAYLOAD")
    assert reason in answer["error"]["message"], answer
    assert _drain() == []


def test_an_sns_subscription_confirmation_is_a_400_saying_what_to_do(platform):
    confirmation = {
        "Type": "SubscriptionConfirmation",
        "Token": "2336412f37fb",
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:alarms",
        "Message": "You have chosen to subscribe to the topic ...",
        "SubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription",
    }
    for name, path in (("ingest-any", None), ("ingest-alerts", {"source": "cloudwatch"})):
        status, answer, _ = call_api(name, path_params=path, body=confirmation, roles="integration")
        assert (status, answer["error"]["code"]) == (400, "UNPARSEABLE_PAYLOAD")
        assert "SubscriptionConfirmation" in answer["error"]["message"]
    assert _drain() == []


def test_an_unknown_source_is_a_404_and_large_bodies_413_on_both_routes(platform):
    status, answer, _ = call_api(
        "ingest-alerts", path_params={"source": "zabbix"}, body={}, roles="integration"
    )
    assert (status, answer["error"]["code"]) == (404, "UNKNOWN_SOURCE")
    big = {"name": "x", "status": "firing", "message": "x" * 1_100_000}
    for name, path in (("ingest-any", None), ("ingest-alerts", {"source": "generic"})):
        status, answer, _ = call_api(name, path_params=path, body=big, roles="integration")
        assert (status, answer["error"]["code"]) == (413, "PAYLOAD_TOO_LARGE")
    assert _drain() == []


def _authorize(header):
    headers = {"Authorization": header} if header is not None else {}
    return invoke("authorize", {"type": "REQUEST", "methodArn": METHOD_ARN, "headers": headers})


def test_a_missing_or_revoked_key_is_a_401(platform):
    status, created, _ = call_api("create-integration-key", body={"name": "am"})
    assert status == 201
    key = created["integration_key"]
    assert _authorize(f"Bearer {key['key']}")["context"]["principal"] == "key:am"
    call_api("revoke-integration-key", path_params={"key_id": key["id"]})
    for header in (None, "", f"Bearer {key['key']}", "Bearer omp_unknown"):
        with pytest.raises(Exception, match=r"^Unauthorized$"):  # API Gateway answers 401
            _authorize(header)
    # Without an authorizer's principal the handler itself refuses.
    status, answer, _ = call_api("ingest-any", body={"name": "x"}, principal="")
    assert (status, answer["error"]["code"]) == (401, "UNAUTHORIZED")


# ---- a bad record in the consumer ----------------------------------------------------------


def test_a_bad_record_goes_alone_to_the_dlq_with_its_reason(platform, caplog):
    sqs = boto3.client("sqs")
    dlq = support.resolve("dlq", "alert-ingest")
    poison = IngestEnvelope(
        "alertmanager", "2026-03-01T12:00:00Z", "key:t", None, payload={"version": "3"}
    )
    sqs.send_message(QueueUrl=_queue_url(), MessageBody=poison.to_json())
    _post_any(_sample("generic_single_alert.json"))
    got = sqs.receive_message(QueueUrl=_queue_url(), MaxNumberOfMessages=10)["Messages"]
    records = [
        {
            "messageId": m["MessageId"],
            "body": m["Body"],
            "attributes": {"ApproximateReceiveCount": "1"},
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:alert-ingest",
        }
        for m in got
    ]
    with caplog.at_level(logging.ERROR):
        answer = invoke("process-alerts", {"Records": records})
    # Parked at the first receive: nothing is retried, the good record went through.
    assert answer == {"batchItemFailures": []}
    assert len(_alarm_ids()) == 1
    (dead,) = sqs.receive_message(
        QueueUrl=dlq, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    )["Messages"]
    assert IngestEnvelope.from_json(dead["Body"]) == poison
    attrs = {k: v["StringValue"] for k, v in dead["MessageAttributes"].items()}
    assert "unsupported Alertmanager webhook version" in attrs["omp-reason"]
    assert attrs["omp-function"] == "process-alerts"
    poisoned = next(r for r in records if IngestEnvelope.from_json(r["body"]) == poison)
    assert attrs["omp-source-message-id"] == poisoned["messageId"]
    assert attrs["omp-source-queue"].endswith(":alert-ingest")
    reasons = [r.getMessage() for r in caplog.records if "poison record" in r.getMessage()]
    assert reasons and all("unsupported Alertmanager webhook version" in r for r in reasons)


def test_a_bad_record_that_cannot_be_parked_is_retried_and_redriven(platform):
    """If the DLQ refuses the record, it fails like any other: SQS retries it and, after
    maxReceiveCount, its redrive policy moves it to the DLQ."""
    poison = IngestEnvelope("alertmanager", "2026-03-01T12:00:00Z", "key:t", None, payload={})
    boto3.client("sqs").delete_queue(QueueUrl=support.resolve("dlq", "alert-ingest"))
    answer = invoke("process-alerts", {"Records": [{"messageId": "m1", "body": poison.to_json()}]})
    assert answer == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
