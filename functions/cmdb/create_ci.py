"""POST /v1/cis: create a configuration item (201). Honours Idempotency-Key."""

from omp.api.cmdb import context, types
from omp.domain.cmdb.cis import CiResponse, CreateCi
from omp.runtime import container, http
from omp.services import cmdb

route = http.Route(
    "POST",
    "/v1/cis",
    summary="Create a configuration item",
    tag="cmdb",
    status=201,
    body=CreateCi,
    response=CiResponse,
    idempotent=True,
)


def create_ci(request: http.Request) -> CiResponse:
    body = request.body_as(CreateCi)
    ci = cmdb.create_ci(
        body,
        context(request, body.source, body.reason),
        types=types(),
        repo=container.cis(),
        events=container.publisher(),
        clock=container.clock(),
    )
    return CiResponse(ci=ci)


lambda_handler = http.handler(route, create_ci)
