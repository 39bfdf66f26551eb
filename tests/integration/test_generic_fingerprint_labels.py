"""Generic alerts fingerprinted by a configured label set: an integration key's
`fingerprint_labels` travels from the key through the authorizer context and the webhook into
the queued envelope, so the consumer (and every redelivery) fingerprints alike."""

import datetime as dt

import boto3
import pytest

from omp.domain.ingest import IngestEnvelope
from tests import support
from tests.support import call_api, invoke

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/POST/v1/ingest/generic"


def _key(**body):
    status, answer, _ = call_api("create-integration-key", body={"name": "fp", **body})
    assert status == 201, answer
    return answer["integration_key"]


def _context(token):
    event = {
        "type": "REQUEST",
        "methodArn": METHOD_ARN,
        "headers": {"Authorization": f"Bearer {token}"},
    }
    return invoke("authorize", event)["context"]


def _post(context, body):
    event = support.api_event(
        "ingest-alerts", path_params={"source": "generic"}, body=body, roles="integration"
    )
    event["requestContext"]["authorizer"] = context
    result = invoke("ingest-alerts", event)
    assert result["statusCode"] == 202, result["body"]


def _drain():
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=support.PREFIX + "alert-ingest")["QueueUrl"]
    records = []
    while got := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        for m in got:
            records.append({"messageId": m["MessageId"], "body": m["Body"]})
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return records


def _alarm_count():
    status, page, _ = call_api("list-alarms")
    assert status == 200
    return len(page["alarms"])


def _pods(*pods, **extra):
    return {
        "alerts": [
            {
                "name": "HighLatency",
                "labels": {"service": "checkout", "pod": pod},
                "starts_at": NOW.isoformat(),
            }
            for pod in pods
        ],
        **extra,
    }


def test_a_keys_label_set_fingerprints_its_generic_alerts(platform):
    key = _key(source="generic", fingerprint_labels=["service", "name", "service"])
    assert key["fingerprint_labels"] == ["name", "service"]
    context = _context(key["key"])
    assert context["fingerprint_labels"] == "name,service"
    _post(context, _pods("a-1", "a-2"))
    records = _drain()
    (envelope,) = [IngestEnvelope.from_json(r["body"]) for r in records]
    assert envelope.fingerprint_labels == ["name", "service"]
    assert invoke("process-alerts", {"Records": records}) == {"batchItemFailures": []}
    assert _alarm_count() == 1  # every pod of the service: one alarm
    # A replay (the same records again, or the same body posted again) adds nothing.
    assert invoke("process-alerts", {"Records": records}) == {"batchItemFailures": []}
    _post(context, _pods("a-1", "a-2"))
    assert invoke("process-alerts", {"Records": _drain()}) == {"batchItemFailures": []}
    assert _alarm_count() == 1


def test_the_body_and_the_alert_override_the_key(platform):
    context = _context(_key(fingerprint_labels=["service"])["key"])
    _post(context, _pods("b-1", "b-2", fingerprint_labels=["pod"]))  # body: one per pod
    assert invoke("process-alerts", {"Records": _drain()}) == {"batchItemFailures": []}
    assert _alarm_count() == 2
    alert = _pods("b-3")["alerts"][0] | {"fingerprint": "explicit"}  # the alert's own wins
    _post(context, alert)
    assert invoke("process-alerts", {"Records": _drain()}) == {"batchItemFailures": []}
    assert _alarm_count() == 3


def test_a_key_without_a_label_set_keeps_the_default(platform):
    context = _context(_key()["key"])
    assert context["fingerprint_labels"] == ""
    _post(context, _pods("c-1", "c-2"))
    (record,) = _drain()
    assert IngestEnvelope.from_json(record["body"]).fingerprint_labels is None
    assert invoke("process-alerts", {"Records": [record]}) == {"batchItemFailures": []}
    assert _alarm_count() == 2


@pytest.mark.parametrize(
    "labels", [[], ["a,b"], ["has space"], ["x" * 129], [f"l{i}" for i in range(21)], "service"]
)
def test_bad_label_sets_are_refused(dynamodb, labels):
    status, answer, _ = call_api(
        "create-integration-key", body={"name": "bad", "fingerprint_labels": labels}
    )
    assert (status, answer["error"]["code"]) == (422, "VALIDATION_FAILED")


@pytest.mark.parametrize("labels", [[], "pod", [1], ["x" * 129]])
def test_a_bad_label_set_in_the_body_is_a_400(platform, labels):
    event = support.api_event(
        "ingest-alerts",
        path_params={"source": "generic"},
        body=_pods("d-1", fingerprint_labels=labels),
        roles="integration",
    )
    result = invoke("ingest-alerts", event)
    assert result["statusCode"] == 400 and "fingerprint_labels" in result["body"]
    assert _drain() == []
