"""GET /v1/metrics/query: one series downsampled to `step` windows by `stat`."""

from omp.api import metrics
from omp.api.metrics import QueryParams
from omp.domain.metrics import QueryResponse
from omp.runtime import http

route = http.Route(
    "GET",
    "/v1/metrics/query",
    summary="Query a metric series",
    tag="metrics",
    query=QueryParams,
    response=QueryResponse,
)


def query_metrics(request: http.Request) -> QueryResponse:
    return metrics.query(request.query_as(QueryParams))


lambda_handler = http.handler(route, query_metrics)
