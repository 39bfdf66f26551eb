"""POST /v1/cis/{ci_id}/relations: an edge from this CI to another (201; an existing edge is
returned with created=false). Honours Idempotency-Key."""

from omp.api.cmdb import types
from omp.domain.cmdb.graph import AddRelation, RelationResponse
from omp.runtime import container, http
from omp.services import topology

route = http.Route(
    "POST",
    "/v1/cis/{ci_id}/relations",
    summary="Relate a configuration item to another",
    tag="cmdb",
    status=201,
    body=AddRelation,
    response=RelationResponse,
    idempotent=True,
)


def add_relation(request: http.Request) -> RelationResponse:
    rel, created = topology.add_relation(
        request.path["ci_id"],
        request.body_as(AddRelation),
        actor=request.actor,
        types=types(),
        repo=container.cis(),
        graph=container.graph(),
        events=container.publisher(),
        clock=container.clock(),
    )
    return RelationResponse(relation=rel, created=created)


lambda_handler = http.handler(route, add_relation)
