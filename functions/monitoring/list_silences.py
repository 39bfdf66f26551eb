"""GET /v1/silences: silences, latest end first, optionally in one state, paginated."""

from omp.api.silences import SilenceListParams, SilenceListResponse, silence_view
from omp.runtime import container, http
from omp.services import silences

route = http.Route(
    "GET",
    "/v1/silences",
    summary="List silences",
    tag="silences",
    query=SilenceListParams,
    response=SilenceListResponse,
)


def list_silences(request: http.Request) -> SilenceListResponse:
    params = request.query_as(SilenceListParams)
    clock = container.clock()
    page = silences.list_silences(
        params.state, params.limit, params.next_token, store=container.silences(), clock=clock
    )
    now = clock.now()
    return SilenceListResponse(
        silences=[silence_view(r, now) for r in page.items], next_token=page.next_token
    )


lambda_handler = http.handler(route, list_silences)
