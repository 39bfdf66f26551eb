"""DELETE /v1/cis/{ci_id}/relations?type=&target=: remove this CI's edge of a type to a target
(the counterpart of POST /v1/cis/{ci_id}/relations, for callers that know the edge by its ends
rather than by its id). 404 RELATION_NOT_FOUND when there is none, a repeat included."""

from pydantic import ConfigDict, Field

from omp.domain.cmdb.graph import CiId, RelationName, RelationResponse
from omp.domain.model import Model
from omp.runtime import container, http
from omp.services import topology


class RemoveRelationParams(Model):
    model_config = ConfigDict(extra="ignore")

    type: RelationName = Field(description="the relation type, e.g. depends_on")
    target: CiId = Field(description="the CI at the other end (this CI is the source)")


route = http.Route(
    "DELETE",
    "/v1/cis/{ci_id}/relations",
    summary="Remove a relation by its type and target",
    tag="cmdb",
    query=RemoveRelationParams,
    response=RelationResponse,
)


def remove_relation_to(request: http.Request) -> RelationResponse:
    params = request.query_as(RemoveRelationParams)
    rel = topology.remove_relation_to(
        request.path["ci_id"],
        params.type,
        params.target,
        actor=request.actor,
        repo=container.cis(),
        graph=container.graph(),
        events=container.publisher(),
    )
    return RelationResponse(relation=rel, created=False)


lambda_handler = http.handler(route, remove_relation_to)
