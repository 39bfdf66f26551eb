"""GET /v1/cis/{ci_id}/neighbors?direction=&types=&depth=: the CIs around one."""

from omp.api.cmdb import NeighborParams
from omp.domain.cmdb.graph import GraphResponse
from omp.runtime import container, http
from omp.services import topology

route = http.Route(
    "GET",
    "/v1/cis/{ci_id}/neighbors",
    summary="Neighbors of a configuration item",
    tag="cmdb",
    query=NeighborParams,
    response=GraphResponse,
)


def get_neighbors(request: http.Request) -> GraphResponse:
    params = request.query_as(NeighborParams)
    return topology.neighbors(
        request.path["ci_id"],
        direction=params.direction,
        relation_types=params.relation_types(),
        depth=params.depth,
        repo=container.cis(),
        graph=container.graph(),
    )


lambda_handler = http.handler(route, get_neighbors)
