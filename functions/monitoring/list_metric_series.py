"""GET /v1/metrics/series: registered series by name, filtered by name prefix, one dimension
(`key=value`) or source; paginated with limit and next_token."""

from omp.api.metric_queries import SeriesListParams
from omp.domain.metric_models import Series, SeriesListResponse
from omp.runtime import container, http
from omp.services import metrics

route = http.Route(
    "GET",
    "/v1/metrics/series",
    summary="List metric series",
    tag="metrics",
    query=SeriesListParams,
    response=SeriesListResponse,
)


def list_metric_series(request: http.Request) -> SeriesListResponse:
    params = request.query_as(SeriesListParams)
    page = metrics.list_series(
        container.metric_store(),
        name_prefix=params.name_prefix,
        dimension=params.dimension,
        source=params.source,
        limit=params.limit,
        next_token=params.next_token,
    )
    return SeriesListResponse(
        series=[Series.of(record) for record in page.items], next_token=page.next_token
    )


lambda_handler = http.handler(route, list_metric_series)
