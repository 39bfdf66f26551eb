"""CloudWatch alarms, through each of their three natural entries.

- EventBridge "CloudWatch Alarm State Change" events (single metric, metric math, anomaly
  detection band, composite), also when posted as a body.
- The alarm notification that CloudWatch publishes to SNS (JSON inside `Message`), as the SNS
  HTTP(S) notification body, as a Lambda SNS event (`Records[].Sns`), or the bare message.
- The alarm Lambda-action payload (`source: "aws.cloudwatch"`, `alarmArn`, `alarmData`).

Fingerprint: the alarm ARN. Status: ALARM -> firing, OK -> resolved, INSUFFICIENT_DATA ->
unknown. Severity: the alarm tag `severity` where tag propagation puts `alarmTags` in the
event, else `severity=<level>` in the alarm description, else `major`.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

from omp.domain.signals import Signal, SignalSeverity, SignalStatus, UnparseablePayload
from omp.sources._common import (
    SEVERITY_ALIASES,
    optional_dict,
    optional_str,
    parse_time,
    require_dict,
    require_list,
    require_str,
    str_map,
)

SOURCE = "cloudwatch"
STATE_CHANGE = "CloudWatch Alarm State Change"
DEFAULT_SEVERITY = SignalSeverity.MAJOR

_STATUS = {
    "ALARM": SignalStatus.FIRING,
    "OK": SignalStatus.RESOLVED,
    "INSUFFICIENT_DATA": SignalStatus.UNKNOWN,
}

_SEVERITY_IN_TEXT = re.compile(r"\bseverity\s*[=:]\s*([A-Za-z]+)", re.IGNORECASE)
_ALARM_ARN = re.compile(r"^arn:aws[a-z-]*:cloudwatch:([a-z0-9-]+):(\d{12}):alarm:(.+)$")


# SNS messages that are not notifications: what an HTTPS subscription receives first and last.
SNS_CONTROL_TYPES = frozenset({"SubscriptionConfirmation", "UnsubscribeConfirmation"})


def sns_control_refusal(payload: dict[str, Any]) -> UnparseablePayload | None:
    """A clear refusal for an SNS control message posted to a webhook (an HTTPS subscription):
    om-platform does not fetch `SubscribeURL` (a webhook that fetched URLs from its bodies
    would be an open proxy)."""
    kind = payload.get("Type")
    if not isinstance(kind, str) or kind not in SNS_CONTROL_TYPES:
        return None
    return UnparseablePayload(
        f"an SNS {kind}, not an alarm notification: om-platform does not confirm HTTPS "
        "subscriptions; confirm it in the SNS console with its Token, or subscribe the "
        "receive-cloudwatch-sns function to the topic instead"
    )


def normalise(payload: dict[str, Any]) -> list[Signal]:
    """Any of the CloudWatch alarm payloads above -> one signal per alarm state report."""
    payload = require_dict(payload, "payload")
    refusal = sns_control_refusal(payload)
    if refusal is not None:
        raise refusal
    if payload.get("detail-type") is not None or "detail" in payload:
        return [_from_eventbridge(payload)]
    if "alarmData" in payload:
        return [_from_lambda_action(payload)]
    if "Records" in payload:
        return _from_sns_records(payload)
    if "Message" in payload:
        return [_from_sns_message(payload.get("Message"), "payload.Message")]
    if "AlarmName" in payload or "NewStateValue" in payload:
        return [_from_alarm_notification(payload, "payload")]
    raise UnparseablePayload("not a CloudWatch alarm event, SNS alarm notification or alarmData")


def is_alarm_notification(message: object) -> bool:
    """Whether an SNS `Message` (string or object) is a CloudWatch alarm notification."""
    if isinstance(message, str):
        try:
            message = json.loads(message)
        except ValueError:
            return False
    return isinstance(message, dict) and "AlarmName" in message and "NewStateValue" in message


# --- EventBridge --------------------------------------------------------------------------


def _from_eventbridge(event: dict[str, Any]) -> Signal:
    detail_type = event.get("detail-type")
    if detail_type != STATE_CHANGE:
        raise UnparseablePayload(f"unsupported CloudWatch detail-type {detail_type!r}")
    if event.get("source") != "aws.cloudwatch":
        raise UnparseablePayload("event.source must be 'aws.cloudwatch'")
    resources = require_list(event.get("resources"), "event.resources")
    if not resources or not isinstance(resources[0], str) or not resources[0]:
        raise UnparseablePayload("event.resources[0] must be the alarm ARN")
    detail = require_dict(event.get("detail"), "event.detail")
    return _from_alarm_data(
        detail,
        where="event.detail",
        alarm_arn=resources[0],
        account=optional_str(event, "account", "event"),
        region=optional_str(event, "region", "event"),
    )


def _from_lambda_action(payload: dict[str, Any]) -> Signal:
    if payload.get("source") != "aws.cloudwatch":
        raise UnparseablePayload("payload.source must be 'aws.cloudwatch' for alarmData")
    data = require_dict(payload.get("alarmData"), "payload.alarmData")
    return _from_alarm_data(
        data,
        where="payload.alarmData",
        alarm_arn=require_str(payload, "alarmArn", "payload"),
        account=optional_str(payload, "accountId", "payload"),
        region=optional_str(payload, "region", "payload"),
    )


def _from_alarm_data(
    data: dict[str, Any],
    *,
    where: str,
    alarm_arn: str,
    account: str | None,
    region: str | None,
) -> Signal:
    """`detail` of the EventBridge event and `alarmData` of the Lambda action share a shape."""
    alarm_arn = _clean_arn(alarm_arn)
    arn_region, arn_account = _arn_parts(alarm_arn)
    account = account or arn_account
    region = region or arn_region
    name = require_str(data, "alarmName", where)
    state = require_dict(data.get("state"), f"{where}.state")
    status = _status(state.get("value"), f"{where}.state.value")
    observed_at = parse_time(state.get("timestamp"), f"{where}.state.timestamp")
    config = optional_dict(data.get("configuration"), f"{where}.configuration")
    description = optional_str(config, "description", f"{where}.configuration") or ""
    tags = str_map(data.get("alarmTags"), f"{where}.alarmTags")

    labels: dict[str, str] = {"alarm_name": name}
    resource: str | None
    rule = optional_str(config, "alarmRule", f"{where}.configuration")
    if rule is not None:
        labels["alarm_kind"] = "composite"
        labels["alarm_rule"] = rule
        resource = alarm_arn
    else:
        metrics = require_list(config.get("metrics", []), f"{where}.configuration.metrics")
        kind, primary, expression, all_dims = _inspect_metrics(metrics, where)
        labels["alarm_kind"] = kind
        if expression:
            labels["expression"] = expression
        if primary is not None:
            namespace, metric_name, dims = primary
            if namespace:
                labels["namespace"] = namespace
            if metric_name:
                labels["metric_name"] = metric_name
            labels.update({f"dim_{k}": v for k, v in dims.items()})
        resource = _common_resource(all_dims, account, region) or alarm_arn

    annotations = {"description": description} if description else {}
    previous = data.get("previousState")
    if isinstance(previous, dict) and isinstance(previous.get("value"), str):
        annotations["previous_state"] = previous["value"]
    for key in ("actionsSuppressedBy", "actionsSuppressedReason"):
        if isinstance(state.get(key), str):
            annotations[key] = state[key]

    return Signal(
        source=SOURCE,
        fingerprint=alarm_arn,
        status=status,
        name=name,
        severity=_severity(tags.get("severity"), description),
        observed_at=observed_at,
        message=optional_str(state, "reason", f"{where}.state") or "",
        resource=resource,
        labels=labels,
        annotations=annotations,
        url=_console_url(name, region),
        account=account,
        region=region,
    )


Metric = tuple[str | None, str | None, dict[str, str]]


def _inspect_metrics(
    metrics: list[Any], where: str
) -> tuple[str, Metric | None, str | None, list[dict[str, str]]]:
    """-> (alarm kind, the metric the alarm is about, returned expression, every metric's dims)."""
    stats: list[tuple[bool, Metric]] = []
    expressions: list[tuple[bool, str]] = []
    for index, raw in enumerate(metrics):
        at = f"{where}.configuration.metrics[{index}]"
        item = require_dict(raw, at)
        returns = item.get("returnData", True) is not False
        expression = optional_str(item, "expression", at)
        if expression is not None:
            expressions.append((returns, expression))
        stat = item.get("metricStat")
        if stat is not None:
            metric = require_dict(require_dict(stat, f"{at}.metricStat").get("metric"), at)
            stats.append(
                (
                    returns,
                    (
                        optional_str(metric, "namespace", f"{at}.metricStat.metric"),
                        optional_str(metric, "name", f"{at}.metricStat.metric"),
                        str_map(metric.get("dimensions"), f"{at}.metricStat.metric.dimensions"),
                    ),
                )
            )
    if not stats and not expressions:
        raise UnparseablePayload(f"{where}.configuration has neither metrics nor alarmRule")
    if any("ANOMALY_DETECTION_BAND" in expr.upper() for _, expr in expressions):
        kind = "anomaly_detection"
    elif expressions:
        kind = "metric_math"
    else:
        kind = "single_metric"
    returned = [metric for returns, metric in stats if returns]
    primary = returned[0] if returned else (stats[0][1] if stats else None)
    returned_expr = [expr for returns, expr in expressions if returns]
    expression = returned_expr[0] if returned_expr else None
    return kind, primary, expression, [dims for _, (_, _, dims) in stats]


# --- SNS ------------------------------------------------------------------------------------


def _from_sns_records(payload: dict[str, Any]) -> list[Signal]:
    records = require_list(payload.get("Records"), "payload.Records")
    if not records:
        raise UnparseablePayload("payload.Records is empty")
    signals = []
    for index, raw in enumerate(records):
        record = require_dict(raw, f"payload.Records[{index}]")
        sns = require_dict(record.get("Sns"), f"payload.Records[{index}].Sns")
        signals.append(_from_sns_message(sns.get("Message"), f"payload.Records[{index}].Sns"))
    return signals


def _from_sns_message(message: object, where: str) -> Signal:
    if isinstance(message, str):
        try:
            message = json.loads(message)
        except ValueError:
            raise UnparseablePayload(f"{where}.Message is not JSON") from None
    body = require_dict(message, f"{where}.Message")
    if not is_alarm_notification(body):
        raise UnparseablePayload(f"{where}.Message is not a CloudWatch alarm notification")
    return _from_alarm_notification(body, f"{where}.Message")


def _from_alarm_notification(body: dict[str, Any], where: str) -> Signal:
    """The JSON CloudWatch publishes to SNS: AlarmName, AlarmArn, NewStateValue, Trigger, ..."""
    name = require_str(body, "AlarmName", where)
    alarm_arn = _clean_arn(require_str(body, "AlarmArn", where))
    status = _status(body.get("NewStateValue"), f"{where}.NewStateValue")
    observed_at = parse_time(body.get("StateChangeTime"), f"{where}.StateChangeTime")
    region, arn_account = _arn_parts(alarm_arn)  # `Region` is a display name ("EU - Ireland")
    account = optional_str(body, "AWSAccountId", where) or arn_account
    description = optional_str(body, "AlarmDescription", where) or ""
    trigger = optional_dict(body.get("Trigger"), f"{where}.Trigger")

    labels: dict[str, str] = {"alarm_name": name}
    all_dims: list[dict[str, str]] = []
    if "Metrics" in trigger and trigger["Metrics"] is not None:
        kind, metric, expression, all_dims = _inspect_trigger_metrics(
            require_list(trigger["Metrics"], f"{where}.Trigger.Metrics"), f"{where}.Trigger"
        )
        labels["alarm_kind"] = kind
        if expression:
            labels["expression"] = expression
    elif trigger:
        labels["alarm_kind"] = "single_metric"
        dims = _dimension_list(trigger.get("Dimensions"), f"{where}.Trigger.Dimensions")
        metric = (
            optional_str(trigger, "Namespace", f"{where}.Trigger"),
            optional_str(trigger, "MetricName", f"{where}.Trigger"),
            dims,
        )
        all_dims = [dims]
    else:
        metric = None
        rule = optional_str(body, "AlarmRule", where)
        if rule is not None:
            labels["alarm_kind"] = "composite"
            labels["alarm_rule"] = rule
    if metric is not None:
        namespace, metric_name, dims = metric
        if namespace:
            labels["namespace"] = namespace
        if metric_name:
            labels["metric_name"] = metric_name
        labels.update({f"dim_{k}": v for k, v in dims.items()})

    annotations = {"description": description} if description else {}
    if isinstance(body.get("OldStateValue"), str):
        annotations["previous_state"] = body["OldStateValue"]
    return Signal(
        source=SOURCE,
        fingerprint=alarm_arn,
        status=status,
        name=name,
        severity=_severity(None, description),
        observed_at=observed_at,
        message=optional_str(body, "NewStateReason", where) or "",
        resource=_common_resource(all_dims, account, region) or alarm_arn,
        labels=labels,
        annotations=annotations,
        url=_console_url(name, region),
        account=account,
        region=region,
    )


def _inspect_trigger_metrics(
    metrics: list[Any], where: str
) -> tuple[str, Metric | None, str | None, list[dict[str, str]]]:
    """The SNS `Trigger.Metrics` list (PascalCase, dimensions as [{name, value}])."""
    converted = []
    for index, raw in enumerate(metrics):
        at = f"{where}.Metrics[{index}]"
        item = require_dict(raw, at)
        entry: dict[str, Any] = {"returnData": item.get("ReturnData", True)}
        if item.get("Expression") is not None:
            entry["expression"] = item["Expression"]
        if item.get("MetricStat") is not None:
            metric = require_dict(
                require_dict(item["MetricStat"], f"{at}.MetricStat").get("Metric"),
                f"{at}.MetricStat.Metric",
            )
            entry["metricStat"] = {
                "metric": {
                    "namespace": metric.get("Namespace"),
                    "name": metric.get("MetricName"),
                    "dimensions": _dimension_list(
                        metric.get("Dimensions"), f"{at}.MetricStat.Metric.Dimensions"
                    ),
                }
            }
        converted.append(entry)
    return _inspect_metrics(converted, where)


def _dimension_list(value: object, where: str) -> dict[str, str]:
    dims: dict[str, str] = {}
    for index, raw in enumerate(require_list(value if value is not None else [], where)):
        item = require_dict(raw, f"{where}[{index}]")
        dims[require_str(item, "name", f"{where}[{index}]")] = (
            optional_str(item, "value", f"{where}[{index}]") or ""
        )
    return dims


# --- shared ---------------------------------------------------------------------------------


def _status(value: object, where: str) -> SignalStatus:
    if not isinstance(value, str) or value not in _STATUS:
        raise UnparseablePayload(f"{where} must be ALARM, OK or INSUFFICIENT_DATA, got {value!r}")
    return _STATUS[value]


def _severity(tag: str | None, description: str) -> SignalSeverity:
    if tag and tag.strip().lower() in SEVERITY_ALIASES:
        return SEVERITY_ALIASES[tag.strip().lower()]
    match = _SEVERITY_IN_TEXT.search(description)
    if match and match.group(1).lower() in SEVERITY_ALIASES:
        return SEVERITY_ALIASES[match.group(1).lower()]
    return DEFAULT_SEVERITY


def _clean_arn(arn: str) -> str:
    """Drop whitespace before the alarm name (AWS doc samples show "us-east-1: 4444...")."""
    prefix, sep, name = arn.partition(":alarm:")
    return "".join(prefix.split()) + sep + name if sep else arn.strip()


def _arn_parts(alarm_arn: str) -> tuple[str | None, str | None]:
    match = _ALARM_ARN.match(alarm_arn)
    return (match.group(1), match.group(2)) if match else (None, None)


def _console_url(name: str, region: str | None) -> str | None:
    if not region:
        return None
    return (
        f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
        f"#alarmsV2:alarm/{quote(name, safe='')}"
    )


# Dimension -> resource, most specific first. `{v}` is the dimension value; `{r}`/`{a}` the
# region/account. Without region and account the bare id is used.
_RESOURCE_DIMENSIONS: tuple[tuple[str, str], ...] = (
    ("InstanceId", "arn:aws:ec2:{r}:{a}:instance/{v}"),
    ("VolumeId", "arn:aws:ec2:{r}:{a}:volume/{v}"),
    ("FunctionName", "arn:aws:lambda:{r}:{a}:function:{v}"),
    ("DBInstanceIdentifier", "arn:aws:rds:{r}:{a}:db:{v}"),
    ("DBClusterIdentifier", "arn:aws:rds:{r}:{a}:cluster:{v}"),
    ("TargetGroup", "arn:aws:elasticloadbalancing:{r}:{a}:{v}"),
    ("LoadBalancer", "arn:aws:elasticloadbalancing:{r}:{a}:loadbalancer/{v}"),
    ("LoadBalancerName", "arn:aws:elasticloadbalancing:{r}:{a}:loadbalancer/{v}"),
    ("QueueName", "arn:aws:sqs:{r}:{a}:{v}"),
    ("TableName", "arn:aws:dynamodb:{r}:{a}:table/{v}"),
    ("TopicName", "arn:aws:sns:{r}:{a}:{v}"),
    ("StreamName", "arn:aws:kinesis:{r}:{a}:stream/{v}"),
    ("CacheClusterId", "arn:aws:elasticache:{r}:{a}:cluster:{v}"),
    ("StateMachineArn", "{v}"),
    ("BucketName", "arn:aws:s3:::{v}"),
    ("AutoScalingGroupName", "{v}"),
    ("ApiId", "{v}"),
    ("ApiName", "{v}"),
)


def _resource_from_dimensions(
    dims: dict[str, str], account: str | None, region: str | None
) -> str | None:
    if {"ClusterName", "ServiceName"} <= dims.keys() and account and region:
        return f"arn:aws:ecs:{region}:{account}:service/{dims['ClusterName']}/{dims['ServiceName']}"
    for name, template in _RESOURCE_DIMENSIONS:
        value = dims.get(name)
        if not value:
            continue
        if value.startswith("arn:") or template == "{v}":
            return value
        if not account or not region:
            return value
        return template.format(r=region, a=account, v=value)
    return None


def _common_resource(
    all_dims: list[dict[str, str]], account: str | None, region: str | None
) -> str | None:
    """The resource when every metric of the alarm points at the same one, else None."""
    found = {_resource_from_dimensions(dims, account, region) for dims in all_dims}
    found.discard(None)
    return found.pop() if len(found) == 1 else None
