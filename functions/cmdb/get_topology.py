"""GET /v1/topology?root=&depth=: nodes and edges around a CI, for drawing."""

from omp.api.cmdb import TopologyParams
from omp.domain.cmdb.graph import GraphResponse
from omp.runtime import container, http
from omp.services import topology

route = http.Route(
    "GET",
    "/v1/topology",
    summary="Topology around a configuration item",
    tag="cmdb",
    query=TopologyParams,
    response=GraphResponse,
)


def get_topology(request: http.Request) -> GraphResponse:
    params = request.query_as(TopologyParams)
    return topology.neighbors(
        params.root,
        direction="both",
        relation_types=None,
        depth=params.depth,
        repo=container.cis(),
        graph=container.graph(),
    )


lambda_handler = http.handler(route, get_topology)
