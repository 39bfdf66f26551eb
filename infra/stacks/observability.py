"""Observability stack: the platform dashboard and the alarms not owned by a service stack
(API 5XX, DLQ depth). Per-function Errors/Throttles alarms live next to their function in its
service stack so that this stack does not grow with the function count."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.stacks.config import StageConfig
from infra.stacks.foundation import cid
from infra.stacks.naming import Names
from infra.stacks.service import ALARMS_TOPIC
from infra.stacks.telemetry import alarm_above_zero
from infra.wiring import Catalog

PERIOD = cdk.Duration.minutes(5)


class ObservabilityStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        cid_: str,
        *,
        config: StageConfig,
        catalog: Catalog,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, cid_, **kwargs)  # type: ignore[arg-type]
        names = Names(config.stage)
        topic = sns.Topic.from_topic_arn(self, "AlarmTopic", names.topic_arn(self, ALARMS_TOPIC))
        action = cw_actions.SnsAction(topic)

        def api_metric(metric_name: str, statistic: str = "Sum") -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace="AWS/ApiGateway",
                metric_name=metric_name,
                dimensions_map={"ApiName": names.api, "Stage": config.stage},
                statistic=statistic,
                period=PERIOD,
            )

        has_api = catalog.authorizer() is not None
        if has_api:
            alarm_above_zero(
                self,
                "Api5xxAlarm",
                alarm_name=f"{names.api}-5xx",
                metric=api_metric("5XXError"),
                action=action,
            )

        dlq_metrics = []
        for spec in catalog.queues:
            metric = cloudwatch.Metric(
                namespace="AWS/SQS",
                metric_name="ApproximateNumberOfMessagesVisible",
                dimensions_map={"QueueName": names.dlq(spec.name)},
                statistic="Maximum",
                period=PERIOD,
                label=names.dlq(spec.name),
            )
            dlq_metrics.append(metric)
            alarm_above_zero(
                self,
                f"Dlq{cid(spec.name)}Alarm",
                alarm_name=f"{names.dlq(spec.name)}-not-empty",
                metric=metric,
                action=action,
            )

        dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=f"{names.prefix}-platform",
            default_interval=cdk.Duration.hours(6),
        )
        if has_api:
            dashboard.add_widgets(
                cloudwatch.GraphWidget(
                    title="API requests and errors",
                    left=[api_metric("Count"), api_metric("4XXError"), api_metric("5XXError")],
                    width=12,
                ),
                cloudwatch.GraphWidget(
                    title="API latency p99 (ms)",
                    left=[api_metric("Latency", "p99"), api_metric("IntegrationLatency", "p99")],
                    width=12,
                ),
            )
        for service in catalog.services():
            fns = [fn for fn in catalog.functions if fn.service == service]

            def lambda_metric(
                metric_name: str, fn_name: str, statistic: str = "Sum"
            ) -> cloudwatch.Metric:
                return cloudwatch.Metric(
                    namespace="AWS/Lambda",
                    metric_name=metric_name,
                    dimensions_map={"FunctionName": names.function(fn_name)},
                    statistic=statistic,
                    period=PERIOD,
                    label=fn_name,
                )

            dashboard.add_widgets(
                cloudwatch.GraphWidget(
                    title=f"{service}: errors",
                    left=[lambda_metric("Errors", f.name) for f in fns],
                    width=8,
                ),
                cloudwatch.GraphWidget(
                    title=f"{service}: throttles",
                    left=[lambda_metric("Throttles", f.name) for f in fns],
                    width=8,
                ),
                cloudwatch.GraphWidget(
                    title=f"{service}: duration p99 (ms)",
                    left=[lambda_metric("Duration", f.name, "p99") for f in fns],
                    width=8,
                ),
            )
        if dlq_metrics:
            dashboard.add_widgets(
                cloudwatch.GraphWidget(
                    title="Dead-letter queues (visible messages)", left=dlq_metrics, width=24
                )
            )
