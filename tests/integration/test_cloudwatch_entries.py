"""CloudWatch's two direct entries under moto: alarm notifications through the SNS topic
`cloudwatch-alarms` and the alarm Lambda action (`alarmData`). Each is queued like a webhook
body, becomes an alarm in the consumer, and a replay never makes a second one."""

import copy
import json

import boto3
import pytest

from omp.domain.errors import BadRequest
from omp.domain.ingest import IngestEnvelope
from omp.domain.signals import UnparseablePayload
from tests import support
from tests.support import ROOT, call_api, invoke

SOURCES = ROOT / "events" / "sources"
SNS_WINDOW = {"from": "2024-02-01T00:00:00Z", "to": "2024-03-01T00:00:00Z"}
ACTION_WINDOW = {"from": "2023-08-01T00:00:00Z", "to": "2023-09-01T00:00:00Z"}


def _sample(name):
    return json.loads((SOURCES / name).read_text())


def _drain():
    """Every envelope queued on alert-ingest, as SQS records for the consumer."""
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=support.PREFIX + "alert-ingest")["QueueUrl"]
    records = []
    while got := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        for m in got:
            records.append({"messageId": m["MessageId"], "body": m["Body"]})
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return records


def _consume_queued():
    records = _drain()
    assert invoke("process-alerts", {"Records": records}) == {"batchItemFailures": []}
    return [IngestEnvelope.from_json(r["body"]) for r in records]


def _alarms(window=SNS_WINDOW):
    status, page, _ = call_api("list-alarms", query=window)
    assert status == 200, page
    return page["alarms"]


class Ctx:
    aws_request_id = "req-alarm-action"


def test_an_sns_alarm_notification_becomes_one_alarm_and_a_replay_none(platform):
    event = _sample("cloudwatch_sns_lambda_event.json")
    result = invoke("receive-cloudwatch-sns", event)
    assert len(result["message_ids"]) == 1 and result["skipped"] == 0
    (envelope,) = _consume_queued()
    assert (envelope.source, envelope.principal) == ("cloudwatch", "aws:sns")
    assert envelope.payload["AlarmName"] == "orders-queue-backlog"  # the alarm JSON, unwrapped
    (alarm,) = _alarms()
    assert alarm["name"] == "orders-queue-backlog" and alarm["severity"] == "critical"
    invoke("receive-cloudwatch-sns", event)  # SNS delivers at least once
    _consume_queued()
    assert len(_alarms()) == 1
    # The OK notification resolves it.
    ok = copy.deepcopy(event)
    message = json.loads(ok["Records"][0]["Sns"]["Message"])
    message |= {"NewStateValue": "OK", "OldStateValue": "ALARM"}
    message["StateChangeTime"] = "2024-02-05T08:31:12.384+0000"
    ok["Records"][0]["Sns"]["Message"] = json.dumps(message)
    invoke("receive-cloudwatch-sns", ok)
    _consume_queued()
    (alarm,) = _alarms()
    assert alarm["status"] == "resolved"


def test_sns_control_messages_are_skipped_not_queued(platform):
    event = _sample("cloudwatch_sns_lambda_event.json")
    sns = event["Records"][0]["Sns"]
    sns |= {
        "Type": "SubscriptionConfirmation",
        "Message": "You have chosen to subscribe to the topic ...",
        "SubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription",
        "Token": "2336412f37",
    }
    assert invoke("receive-cloudwatch-sns", event) == {"message_ids": [], "skipped": 1}
    assert _drain() == []


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ("Hello from SNS!", UnparseablePayload),  # not JSON
        (json.dumps({"hello": "world"}), BadRequest),  # JSON, not an alarm notification
    ],
)
def test_an_sns_message_that_is_not_an_alarm_raises_for_the_async_dlq(platform, message, error):
    event = _sample("cloudwatch_sns_lambda_event.json")
    event["Records"][0]["Sns"]["Message"] = message
    with pytest.raises(error):
        invoke("receive-cloudwatch-sns", event)
    assert _drain() == []


def test_the_alarm_lambda_action_becomes_one_alarm_and_a_replay_none(platform):
    payload = _sample("cloudwatch_lambda_action_metric.json")
    fn = support.wiring.function("receive-cloudwatch-alarm-action")
    with support.env.overlay(support.wiring.environment(fn, support.resolve, "test")):
        handler = support.load_handler(fn.handler).lambda_handler
        assert handler(payload, Ctx())["alerts"] == 1
        (envelope,) = _consume_queued()
        assert (envelope.principal, envelope.request_id) == (
            "aws:cloudwatch-alarm-action",
            "req-alarm-action",
        )
        handler(payload, Ctx())  # Lambda retries an async invocation
        _consume_queued()
    (alarm,) = _alarms(ACTION_WINDOW)
    assert alarm["name"] == "lambda-demo-metric-alarm" and alarm["source"] == "cloudwatch"


@pytest.mark.parametrize(
    "payload",
    [
        {"source": "aws.cloudwatch", "alarmArn": "arn:aws:cloudwatch:us-east-1:1:alarm:x"},
        {"source": "aws.cloudwatch", "alarmData": {"alarmName": "x"}},
        [1, 2],
    ],
)
def test_a_bad_alarm_action_payload_raises_for_the_async_dlq(platform, payload):
    with pytest.raises((UnparseablePayload, BadRequest)):
        invoke("receive-cloudwatch-alarm-action", payload)
    assert _drain() == []
