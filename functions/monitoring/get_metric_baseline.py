"""GET /v1/metrics/{series_id}/baseline: the expected value and band of a series over a range
(404 BASELINE_NOT_FOUND before its first refit)."""

from omp.api import baselines
from omp.api.baselines import BaselineParams, BaselineResponse
from omp.runtime import http

route = http.Route(
    "GET",
    "/v1/metrics/{series_id}/baseline",
    summary="Get a series' baseline (expected value and band) over a range",
    tag="metrics",
    query=BaselineParams,
    response=BaselineResponse,
)


def get_metric_baseline(request: http.Request) -> BaselineResponse:
    return baselines.get_baseline(request.path["series_id"], request.query_as(BaselineParams))


lambda_handler = http.handler(route, get_metric_baseline)
