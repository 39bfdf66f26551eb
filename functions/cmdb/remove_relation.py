"""DELETE /v1/cis/{ci_id}/relations/{relation_id}: remove an edge of this CI."""

from omp.domain.cmdb.graph import RelationResponse
from omp.runtime import container, http
from omp.services import topology

route = http.Route(
    "DELETE",
    "/v1/cis/{ci_id}/relations/{relation_id}",
    summary="Remove a relation",
    tag="cmdb",
    response=RelationResponse,
)


def remove_relation(request: http.Request) -> RelationResponse:
    rel = topology.remove_relation(
        request.path["ci_id"],
        request.path["relation_id"],
        actor=request.actor,
        repo=container.cis(),
        graph=container.graph(),
        events=container.publisher(),
    )
    return RelationResponse(relation=rel, created=False)


lambda_handler = http.handler(route, remove_relation)
