"""GET /v1/alarms: alarms newest first, filtered, paginated with limit and next_token."""

from pydantic import Field

from omp.api.params import ListParams
from omp.domain.alarms import AlarmListResponse, AlarmQuery, AlarmStatus, Severity
from omp.domain.queries import TimeRange
from omp.runtime import container, http
from omp.services import alarms


class AlarmListParams(ListParams):
    status: AlarmStatus | None = None
    severity: Severity | None = None
    source: str | None = Field(default=None, min_length=1, max_length=256)
    resource: str | None = Field(default=None, min_length=1, max_length=256)
    name: str | None = Field(default=None, min_length=1, max_length=256)
    suppressed: bool | None = Field(
        default=None, description="true: only alarms held by a silence, window or inhibition"
    )


route = http.Route(
    "GET",
    "/v1/alarms",
    summary="List alarms",
    tag="alarms",
    query=AlarmListParams,
    response=AlarmListResponse,
)


def list_alarms(request: http.Request) -> AlarmListResponse:
    params = request.query_as(AlarmListParams)
    query = AlarmQuery(
        window=TimeRange.build(params.start, params.end, container.clock().now()),
        limit=params.limit,
        status=params.status,
        severity=params.severity,
        source=params.source,
        resource=params.resource,
        name=params.name,
        next_token=params.next_token,
        suppressed=params.suppressed,
    )
    page = alarms.list_alarms(query, repo=container.alarms())
    return AlarmListResponse(alarms=page.items, next_token=page.next_token)


lambda_handler = http.handler(route, list_alarms)
