"""GET /v1/cis/{ci_id}/dependencies?depth=: everything this CI needs (upstream)."""

from omp.api.cmdb import DepthParams
from omp.domain.cmdb.graph import ImpactResponse
from omp.runtime import container, http
from omp.services import topology

route = http.Route(
    "GET",
    "/v1/cis/{ci_id}/dependencies",
    summary="Upstream dependencies of a configuration item",
    tag="cmdb",
    query=DepthParams,
    response=ImpactResponse,
)


def get_dependencies(request: http.Request) -> ImpactResponse:
    return topology.impact(
        request.path["ci_id"],
        upstream=True,
        depth=request.query_as(DepthParams).depth,
        repo=container.cis(),
        graph=container.graph(),
    )


lambda_handler = http.handler(route, get_dependencies)
