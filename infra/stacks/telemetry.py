"""Log groups and alarms, built the same way in every stack."""

from __future__ import annotations

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.stacks.config import StageConfig


def log_group(
    scope: Construct, cid_: str, *, name: str, config: StageConfig, key: kms.IKey
) -> logs.LogGroup:
    """A log group encrypted with the platform key, kept and removed as the stage says."""
    return logs.LogGroup(
        scope,
        cid_,
        log_group_name=name,
        retention=config.log_retention,
        encryption_key=key,
        removal_policy=config.removal,
    )


def alarm_above_zero(
    scope: Construct,
    cid_: str,
    *,
    alarm_name: str,
    metric: cloudwatch.IMetric,
    action: cloudwatch.IAlarmAction,
) -> cloudwatch.Alarm:
    """Alarm as soon as `metric` is above zero in one period (no data is fine); notify `action`."""
    alarm = cloudwatch.Alarm(
        scope,
        cid_,
        alarm_name=alarm_name,
        metric=metric,
        threshold=0,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluation_periods=1,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
    alarm.add_alarm_action(action)
    return alarm
