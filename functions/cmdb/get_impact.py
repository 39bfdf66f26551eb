"""GET /v1/cis/{ci_id}/impact?depth=: what fails with this CI, services first, with paths."""

from omp.api.cmdb import DepthParams
from omp.domain.cmdb.graph import ImpactResponse
from omp.runtime import container, http
from omp.services import topology

route = http.Route(
    "GET",
    "/v1/cis/{ci_id}/impact",
    summary="Downstream impact of a configuration item",
    tag="cmdb",
    query=DepthParams,
    response=ImpactResponse,
)


def get_impact(request: http.Request) -> ImpactResponse:
    return topology.impact(
        request.path["ci_id"],
        upstream=False,
        depth=request.query_as(DepthParams).depth,
        repo=container.cis(),
        graph=container.graph(),
    )


lambda_handler = http.handler(route, get_impact)
