"""Scheduled: pull every configured CloudWatch metric source through GetMetricData and store
the points (a re-run over the same periods stores nothing twice)."""

from typing import Any

from omp.api.metric_points import queue_for_scoring
from omp.runtime import container
from omp.services import metrics


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return metrics.pull_all(
        sources=container.metric_sources(),
        cloudwatch=container.cloudwatch_metrics(),
        store=container.metric_store(),
        now=container.clock().now(),
        limits=container.metric_limits(),
        on_accepted=queue_for_scoring,  # anomaly scoring (score-metrics)
    )
