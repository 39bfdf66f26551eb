"""GET /v1/incidents: incidents newest first, by status and time window, paginated."""

from omp.api.incidents import IncidentListResponse
from omp.api.params import ListParams
from omp.domain.incidents import IncidentStatus
from omp.domain.queries import TimeRange
from omp.runtime import container, http
from omp.services import incidents


class IncidentListParams(ListParams):
    status: IncidentStatus | None = None


route = http.Route(
    "GET",
    "/v1/incidents",
    summary="List incidents",
    tag="incidents",
    query=IncidentListParams,
    response=IncidentListResponse,
)


def list_incidents(request: http.Request) -> IncidentListResponse:
    params = request.query_as(IncidentListParams)
    page = incidents.list_incidents(
        TimeRange.build(params.start, params.end, container.clock().now()),
        params.status,
        params.limit,
        params.next_token,
        repo=container.incidents(),
    )
    return IncidentListResponse.model_validate(
        {"incidents": [i.to_dict() for i in page.items], "next_token": page.next_token}
    )


lambda_handler = http.handler(route, list_incidents)
