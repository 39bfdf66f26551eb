"""GET /v1/cis: CIs by type (name order) or all; filter by status or an indexed attribute."""

from omp.api.cmdb import CiListParams, types
from omp.domain.cmdb.cis import CiListResponse
from omp.runtime import container, http
from omp.services import cmdb

route = http.Route(
    "GET",
    "/v1/cis",
    summary="List configuration items",
    tag="cmdb",
    query=CiListParams,
    response=CiListResponse,
)


def list_cis(request: http.Request) -> CiListResponse:
    params = request.query_as(CiListParams)
    page = cmdb.list_cis(
        repo=container.cis(),
        types=types(),
        type_name=params.type,
        status=params.status,
        attribute=params.attribute,
        value=params.value,
        limit=params.limit,
        next_token=params.next_token,
    )
    return CiListResponse(cis=page.items, next_token=page.next_token)


lambda_handler = http.handler(route, list_cis)
