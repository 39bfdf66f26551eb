"""GET /v1/ci-types: the built-in types, then the user's."""

from omp.api.cmdb import PageParams
from omp.domain.cmdb.types import CiTypeListResponse
from omp.runtime import container, http
from omp.services import cmdb

route = http.Route(
    "GET",
    "/v1/ci-types",
    summary="List CI types",
    tag="cmdb",
    query=PageParams,
    response=CiTypeListResponse,
)


def list_ci_types(request: http.Request) -> CiTypeListResponse:
    params = request.query_as(PageParams)
    page = cmdb.list_types(
        repo=container.ci_types(), limit=params.limit, next_token=params.next_token
    )
    return CiTypeListResponse(ci_types=page.items, next_token=page.next_token)


lambda_handler = http.handler(route, list_ci_types)
