"""CloudWatch alarms through EventBridge, SNS (HTTP body and Lambda record) and Lambda action."""

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from omp.domain.signals import SignalSeverity, SignalStatus, UnparseablePayload
from omp.sources import cloudwatch

SAMPLES = Path(__file__).resolve().parents[2] / "events" / "sources"


def load(name):
    return json.loads((SAMPLES / name).read_text())


def test_single_metric_eventbridge_event():
    [signal] = cloudwatch.normalise(load("cloudwatch_eventbridge_single_metric.json"))
    assert signal.source == "cloudwatch"
    assert signal.fingerprint == "arn:aws:cloudwatch:us-east-1:123456789012:alarm:ServerCpuTooHigh"
    assert signal.status is SignalStatus.FIRING
    assert signal.name == "ServerCpuTooHigh"
    assert signal.severity is SignalSeverity.MAJOR
    assert signal.observed_at == datetime(2019, 10, 2, 17, 4, 40, 989000, tzinfo=UTC)
    assert signal.resource == "arn:aws:ec2:us-east-1:123456789012:instance/i-12345678901234567"
    assert signal.account == "123456789012"
    assert signal.region == "us-east-1"
    assert signal.labels == {
        "alarm_name": "ServerCpuTooHigh",
        "alarm_kind": "single_metric",
        "namespace": "AWS/EC2",
        "metric_name": "CPUUtilization",
        "dim_InstanceId": "i-12345678901234567",
    }
    assert signal.message.startswith("Threshold Crossed: 1 out of the last 1 datapoints [99.5")
    assert signal.annotations["previous_state"] == "OK"
    assert signal.url is not None and "alarm/ServerCpuTooHigh" in signal.url


def test_metric_math_alarm_uses_the_returned_expression_and_the_shared_instance():
    [signal] = cloudwatch.normalise(load("cloudwatch_eventbridge_metric_math.json"))
    assert signal.fingerprint.endswith(":alarm:TotalNetworkTrafficTooHigh")
    assert signal.status is SignalStatus.FIRING
    assert signal.labels["alarm_kind"] == "metric_math"
    assert signal.labels["expression"] == "SUM(METRICS())"
    # no metric returns data: the first metric describes it
    assert signal.labels["metric_name"] == "NetworkIn"
    assert signal.labels["dim_InstanceId"] == "i-12345678901234567"
    assert signal.resource == "arn:aws:ec2:us-east-1:123456789012:instance/i-12345678901234567"
    assert signal.observed_at == datetime(2019, 10, 2, 17, 20, 48, 554000, tzinfo=UTC)


def test_anomaly_detection_band_alarm():
    [signal] = cloudwatch.normalise(load("cloudwatch_eventbridge_anomaly_band.json"))
    assert signal.name == "EC2 CPU Utilization Anomaly"
    assert (
        signal.fingerprint
        == "arn:aws:cloudwatch:us-east-1:123456789012:alarm:EC2 CPU Utilization Anomaly"
    )
    assert signal.labels["alarm_kind"] == "anomaly_detection"
    assert signal.labels["expression"] == "ANOMALY_DETECTION_BAND(m1, 0.8)"
    assert signal.labels["metric_name"] == "CPUUtilization"
    assert signal.resource.endswith(":instance/i-12345678901234567")
    assert signal.url.endswith("alarm/EC2%20CPU%20Utilization%20Anomaly")


def test_composite_alarm_has_no_metrics_and_is_its_own_resource():
    [signal] = cloudwatch.normalise(load("cloudwatch_eventbridge_composite.json"))
    arn = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:ServiceAggregatedAlarm"
    assert signal.fingerprint == arn
    assert signal.resource == arn
    assert signal.status is SignalStatus.FIRING
    assert signal.severity is SignalSeverity.CRITICAL  # severity=critical in the description
    assert signal.labels == {
        "alarm_name": "ServiceAggregatedAlarm",
        "alarm_kind": "composite",
        "alarm_rule": "ALARM(ServerCpuTooHigh) OR ALARM(TotalNetworkTrafficTooHigh)",
    }
    assert signal.annotations["actionsSuppressedBy"] == "WaitPeriod"


def test_ok_resolves_and_the_alarm_tag_wins_over_the_description():
    [signal] = cloudwatch.normalise(load("cloudwatch_eventbridge_ok_load_balancer.json"))
    assert signal.status is SignalStatus.RESOLVED
    assert signal.severity is SignalSeverity.MINOR  # alarmTags.severity before description
    assert signal.resource == (
        "arn:aws:elasticloadbalancing:eu-west-1:210987654321:loadbalancer/"
        "app/checkout-alb/50dc6c495c0c9188"
    )
    assert signal.account == "210987654321"
    assert signal.region == "eu-west-1"
    assert signal.labels["dim_LoadBalancer"] == "app/checkout-alb/50dc6c495c0c9188"


def test_insufficient_data_is_unknown():
    event = load("cloudwatch_eventbridge_single_metric.json")
    event["detail"]["state"]["value"] = "INSUFFICIENT_DATA"
    [signal] = cloudwatch.normalise(event)
    assert signal.status is SignalStatus.UNKNOWN


def test_configuration_change_events_are_refused():
    with pytest.raises(UnparseablePayload, match="detail-type"):
        cloudwatch.normalise(
            load("cloudwatch_eventbridge_configuration_change_not_a_state_change.json")
        )


def test_sns_lambda_record_carrying_an_alarm_notification():
    [signal] = cloudwatch.normalise(load("cloudwatch_sns_lambda_event.json"))
    assert (
        signal.fingerprint == "arn:aws:cloudwatch:us-east-1:123456789012:alarm:orders-queue-backlog"
    )
    assert signal.status is SignalStatus.FIRING
    assert signal.name == "orders-queue-backlog"
    assert signal.severity is SignalSeverity.CRITICAL
    assert signal.observed_at == datetime(2024, 2, 5, 8, 16, 12, 384000, tzinfo=UTC)
    assert signal.region == "us-east-1"  # from the ARN; `Region` is a display name
    assert signal.account == "123456789012"
    assert signal.resource == "arn:aws:sqs:us-east-1:123456789012:orders"
    assert signal.labels == {
        "alarm_name": "orders-queue-backlog",
        "alarm_kind": "single_metric",
        "namespace": "AWS/SQS",
        "metric_name": "ApproximateNumberOfMessagesVisible",
        "dim_QueueName": "orders",
    }
    assert signal.annotations["previous_state"] == "OK"


def test_sns_http_notification_with_a_metric_math_trigger():
    [signal] = cloudwatch.normalise(load("cloudwatch_sns_http_notification.json"))
    assert signal.status is SignalStatus.RESOLVED
    assert signal.name == "db-read-write-latency"
    assert signal.severity is SignalSeverity.MAJOR
    assert signal.region == "eu-west-1"
    assert signal.resource == "arn:aws:rds:eu-west-1:123456789012:db:orders-db"
    assert signal.labels["alarm_kind"] == "metric_math"
    assert signal.labels["expression"] == "m1+m2"
    assert signal.labels["namespace"] == "AWS/RDS"
    assert signal.labels["dim_DBInstanceIdentifier"] == "orders-db"


def test_bare_alarm_notification_message_is_accepted():
    message = json.loads(load("cloudwatch_sns_http_notification.json")["Message"])
    [signal] = cloudwatch.normalise(message)
    assert signal.name == "db-read-write-latency"


def test_lambda_action_metric_alarm():
    [signal] = cloudwatch.normalise(load("cloudwatch_lambda_action_metric.json"))
    assert (
        signal.fingerprint
        == "arn:aws:cloudwatch:us-east-1:444455556666:alarm:lambda-demo-metric-alarm"
    )
    assert signal.status is SignalStatus.FIRING
    assert signal.name == "lambda-demo-metric-alarm"
    assert signal.message == "test"
    assert signal.account == "444455556666"
    assert signal.resource == "arn:aws:lambda:us-east-1:444455556666:function:checkout-api"
    assert signal.labels["dim_FunctionName"] == "checkout-api"
    assert signal.annotations["previous_state"] == "INSUFFICIENT_DATA"
    assert signal.observed_at == datetime(2023, 8, 4, 12, 36, 15, 490000, tzinfo=UTC)


def test_lambda_action_composite_alarm():
    [signal] = cloudwatch.normalise(load("cloudwatch_lambda_action_composite.json"))
    assert (
        signal.fingerprint == "arn:aws:cloudwatch:us-east-1:111122223333:alarm:SuppressionDemo.Main"
    )
    assert signal.status is SignalStatus.UNKNOWN
    assert signal.labels["alarm_kind"] == "composite"
    assert signal.resource == signal.fingerprint


def test_lambda_action_tolerates_the_documented_spaces_in_times_and_arns():
    payload = load("cloudwatch_lambda_action_metric.json")
    payload["alarmArn"] = (
        "arn:aws:cloudwatch:us-east-1: 444455556666:alarm:lambda-demo-metric-alarm"
    )
    payload["alarmData"]["state"]["timestamp"] = "2023-08-04T12: 36: 15.490+0000"
    [signal] = cloudwatch.normalise(payload)
    assert (
        signal.fingerprint
        == "arn:aws:cloudwatch:us-east-1:444455556666:alarm:lambda-demo-metric-alarm"
    )
    assert signal.observed_at == datetime(2023, 8, 4, 12, 36, 15, 490000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("dimensions", "expected"),
    [
        ({"FunctionName": "f"}, "arn:aws:lambda:us-east-1:123456789012:function:f"),
        ({"DBInstanceIdentifier": "db"}, "arn:aws:rds:us-east-1:123456789012:db:db"),
        ({"TableName": "t"}, "arn:aws:dynamodb:us-east-1:123456789012:table/t"),
        ({"QueueName": "q"}, "arn:aws:sqs:us-east-1:123456789012:q"),
        (
            {"ClusterName": "c", "ServiceName": "s"},
            "arn:aws:ecs:us-east-1:123456789012:service/c/s",
        ),
        (
            {"LoadBalancer": "app/lb/1", "TargetGroup": "targetgroup/tg/2"},
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/2",
        ),
        (
            {"StateMachineArn": "arn:aws:states:us-east-1:1:stateMachine:x"},
            "arn:aws:states:us-east-1:1:stateMachine:x",
        ),
        ({"Currency": "USD"}, "arn:aws:cloudwatch:us-east-1:123456789012:alarm:ServerCpuTooHigh"),
        ({}, "arn:aws:cloudwatch:us-east-1:123456789012:alarm:ServerCpuTooHigh"),
    ],
)
def test_resource_from_dimensions(dimensions, expected):
    event = load("cloudwatch_eventbridge_single_metric.json")
    event["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]["dimensions"] = (
        dimensions
    )
    [signal] = cloudwatch.normalise(event)
    assert signal.resource == expected
    assert {k for k in signal.labels if k.startswith("dim_")} == {f"dim_{k}" for k in dimensions}


@pytest.mark.parametrize(
    ("description", "severity"),
    [
        ("severity=critical", SignalSeverity.CRITICAL),
        ("CPU high. Severity: warning", SignalSeverity.WARNING),
        ("severity=minor and more text", SignalSeverity.MINOR),
        ("severity=bogus", SignalSeverity.MAJOR),
        ("no convention here", SignalSeverity.MAJOR),
    ],
)
def test_severity_from_the_description(description, severity):
    event = load("cloudwatch_eventbridge_single_metric.json")
    event["detail"]["configuration"]["description"] = description
    assert cloudwatch.normalise(event)[0].severity is severity


def _eb(mutate):
    event = load("cloudwatch_eventbridge_single_metric.json")
    mutate(event)
    return event


def _sns(mutate_message):
    payload = load("cloudwatch_sns_http_notification.json")
    message = json.loads(payload["Message"])
    mutate_message(message)
    payload["Message"] = json.dumps(message)
    return payload


def _action(mutate):
    payload = load("cloudwatch_lambda_action_metric.json")
    mutate(payload)
    return payload


BAD = {
    "eb-no-resources": (_eb(lambda e: e.pop("resources")), "resources"),
    "eb-empty-resources": (_eb(lambda e: e.update(resources=[])), "resources"),
    "eb-resource-not-string": (_eb(lambda e: e.update(resources=[7])), "resources"),
    "eb-wrong-source": (_eb(lambda e: e.update(source="aws.ec2")), "source"),
    "eb-detail-not-object": (_eb(lambda e: e.update(detail=[1])), "detail"),
    "eb-no-alarm-name": (_eb(lambda e: e["detail"].pop("alarmName")), "alarmName"),
    "eb-no-state": (_eb(lambda e: e["detail"].pop("state")), "state"),
    "eb-bad-state-value": (
        _eb(lambda e: e["detail"]["state"].update(value="BROKEN")),
        "state.value",
    ),
    "eb-no-timestamp": (_eb(lambda e: e["detail"]["state"].pop("timestamp")), "timestamp"),
    "eb-bad-timestamp": (
        _eb(lambda e: e["detail"]["state"].update(timestamp="yesterday")),
        "timestamp",
    ),
    "eb-metrics-not-list": (
        _eb(lambda e: e["detail"]["configuration"].update(metrics={})),
        "metrics",
    ),
    "eb-no-metrics-no-rule": (
        _eb(lambda e: e["detail"]["configuration"].update(metrics=[])),
        "neither",
    ),
    "eb-metric-not-object": (
        _eb(lambda e: e["detail"]["configuration"].update(metrics=["m"])),
        r"metrics\[0\]",
    ),
    "eb-dimension-not-string": (
        _eb(
            lambda e: e["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"].update(
                dimensions={"InstanceId": {}}
            )
        ),
        "dimensions",
    ),
    "sns-message-not-json": ({"Type": "Notification", "Message": "Hello from SNS!"}, "not JSON"),
    "sns-message-not-alarm": (
        {"Type": "Notification", "Message": '{"hello": 1}'},
        "not a CloudWatch alarm",
    ),
    "sns-no-arn": (_sns(lambda m: m.pop("AlarmArn")), "AlarmArn"),
    "sns-bad-state": (_sns(lambda m: m.update(NewStateValue="ON_FIRE")), "NewStateValue"),
    "sns-no-time": (_sns(lambda m: m.pop("StateChangeTime")), "StateChangeTime"),
    "sns-dimensions-not-list": (
        _sns(lambda m: m.update(Trigger={"MetricName": "x", "Dimensions": {"a": "b"}})),
        "Dimensions",
    ),
    "records-empty": ({"Records": []}, "empty"),
    "records-not-list": ({"Records": "x"}, "Records"),
    "records-no-sns": ({"Records": [{"EventSource": "aws:sns"}]}, "Sns"),
    "records-hello-from-sns": (
        {
            "Records": [
                {
                    "EventSource": "aws:sns",
                    "Sns": {"Type": "Notification", "Message": "Hello from SNS!"},
                }
            ]
        },
        "not JSON",
    ),
    "action-no-arn": (_action(lambda p: p.pop("alarmArn")), "alarmArn"),
    "action-wrong-source": (_action(lambda p: p.update(source="aws.events")), "source"),
    "action-data-not-object": (_action(lambda p: p.update(alarmData="x")), "alarmData"),
    "unrelated-object": ({"hello": "world"}, "not a CloudWatch"),
    "not-an-object": ([1, 2], "JSON object"),
}


@pytest.mark.parametrize(("payload", "reason"), BAD.values(), ids=BAD.keys())
def test_bad_payloads_are_unparseable_with_a_reason(payload, reason):
    with pytest.raises(UnparseablePayload, match=reason):
        cloudwatch.normalise(copy.deepcopy(payload))


@pytest.mark.parametrize(
    "name", sorted(p.name for p in SAMPLES.glob("cloudwatch_*.json") if "not_a_state" not in p.name)
)
def test_replay_gives_identical_signals(name):
    assert cloudwatch.normalise(load(name)) == cloudwatch.normalise(load(name))
