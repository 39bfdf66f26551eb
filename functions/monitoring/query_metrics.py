"""GET /v1/metrics/query: one series downsampled to `step` windows by `stat`."""

from omp.api import metric_queries
from omp.api.metric_queries import QueryParams
from omp.domain.metric_models import QueryResponse
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
    return metric_queries.query(request.query_as(QueryParams))


lambda_handler = http.handler(route, query_metrics)
