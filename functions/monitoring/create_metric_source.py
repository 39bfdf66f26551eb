"""POST /v1/metric-sources: a CloudWatch metric source the scheduled pull reads (201).
Honours Idempotency-Key."""

from omp.domain.metric_sources import CreateMetricSource, MetricSourceResponse
from omp.runtime import container, http
from omp.services import metrics

route = http.Route(
    "POST",
    "/v1/metric-sources",
    summary="Configure a CloudWatch metric source",
    tag="metrics",
    status=201,
    body=CreateMetricSource,
    response=MetricSourceResponse,
    idempotent=True,
)


def create_metric_source(request: http.Request) -> MetricSourceResponse:
    source = metrics.create_source(
        request.body_as(CreateMetricSource),
        actor=request.actor,
        now=container.clock().now(),
        sources=container.metric_sources(),
    )
    return MetricSourceResponse(metric_source=source)


lambda_handler = http.handler(route, create_metric_source)
