"""GET /v1/cis:search?q=&type=&status=&limit=: CIs by full text, best match first."""

from omp.api.cmdb import SearchParams
from omp.domain.cmdb.cis import CiListResponse
from omp.runtime import container, http
from omp.services import cmdb

route = http.Route(
    "GET",
    "/v1/cis:search",
    summary="Search configuration items",
    tag="cmdb",
    query=SearchParams,
    response=CiListResponse,
)


def search_cis(request: http.Request) -> CiListResponse:
    params = request.query_as(SearchParams)
    found = cmdb.search_cis(
        params.q,
        type_name=params.type,
        status=params.status,
        limit=params.limit,
        repo=container.cis(),
        search=container.search(),
    )
    return CiListResponse(cis=found)


lambda_handler = http.handler(route, search_cis)
