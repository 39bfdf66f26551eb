"""GET /v1/cis/{ci_id}/history: every version, oldest first, with before/after/diff/actor."""

from omp.api.cmdb import PageParams
from omp.domain.cmdb.history import HistoryRecord, HistoryResponse
from omp.runtime import container, http
from omp.services import cmdb

route = http.Route(
    "GET",
    "/v1/cis/{ci_id}/history",
    summary="A configuration item's change history",
    tag="cmdb",
    query=PageParams,
    response=HistoryResponse,
)


def get_ci_history(request: http.Request) -> HistoryResponse:
    params = request.query_as(PageParams)
    page = cmdb.history(
        request.path["ci_id"],
        repo=container.cis(),
        limit=params.limit,
        next_token=params.next_token,
    )
    return HistoryResponse(
        history=[HistoryRecord.model_validate(r) for r in page.items], next_token=page.next_token
    )


lambda_handler = http.handler(route, get_ci_history)
