"""GET /v1/cis/{ci_id}/path?to=&depth=: a shortest path between two CIs."""

from omp.api.cmdb import PathParams
from omp.domain.cmdb.graph import PathResponse
from omp.runtime import container, http
from omp.services import topology

route = http.Route(
    "GET",
    "/v1/cis/{ci_id}/path",
    summary="Path between two configuration items",
    tag="cmdb",
    query=PathParams,
    response=PathResponse,
)


def find_path(request: http.Request) -> PathResponse:
    params = request.query_as(PathParams)
    return topology.path_between(
        request.path["ci_id"],
        params.to,
        depth=params.depth,
        repo=container.cis(),
        graph=container.graph(),
    )


lambda_handler = http.handler(route, find_path)
