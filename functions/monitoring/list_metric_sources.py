"""GET /v1/metric-sources: configured CloudWatch metric sources with their last pull."""

from pydantic import ConfigDict, Field

from omp.domain.metric_sources import MetricSourceListResponse
from omp.domain.model import Model
from omp.runtime import container, http


class MetricSourceListParams(Model):
    model_config = ConfigDict(extra="ignore")

    limit: int = Field(default=50, ge=1, le=200)
    next_token: str | None = Field(default=None, max_length=4096)


route = http.Route(
    "GET",
    "/v1/metric-sources",
    summary="List CloudWatch metric sources",
    tag="metrics",
    query=MetricSourceListParams,
    response=MetricSourceListResponse,
)


def list_metric_sources(request: http.Request) -> MetricSourceListResponse:
    params = request.query_as(MetricSourceListParams)
    page = container.metric_sources().list(limit=params.limit, next_token=params.next_token)
    return MetricSourceListResponse(metric_sources=page.items, next_token=page.next_token)


lambda_handler = http.handler(route, list_metric_sources)
