"""DELETE /v1/metric-sources/{source_id}: stop pulling it (stored points stay until their TTL)."""

from omp.domain.metric_sources import MetricSourceResponse
from omp.runtime import container, http

route = http.Route(
    "DELETE",
    "/v1/metric-sources/{source_id}",
    summary="Delete a CloudWatch metric source",
    tag="metrics",
    response=MetricSourceResponse,
)


def delete_metric_source(request: http.Request) -> MetricSourceResponse:
    source = container.metric_sources().delete(request.path["source_id"])
    return MetricSourceResponse(metric_source=source)


lambda_handler = http.handler(route, delete_metric_source)
