"""PUT /v1/cis/{ci_id}: merge attributes (null removes one) at a version (409 if stale)."""

from omp.api.cmdb import context, types
from omp.domain.cmdb.cis import CiResponse, UpdateCi
from omp.runtime import container, http
from omp.services import cmdb

route = http.Route(
    "PUT",
    "/v1/cis/{ci_id}",
    summary="Change a configuration item",
    tag="cmdb",
    body=UpdateCi,
    response=CiResponse,
)


def update_ci(request: http.Request) -> CiResponse:
    body = request.body_as(UpdateCi)
    ci = cmdb.update_ci(
        request.path["ci_id"],
        body,
        context(request, body.source, body.reason),
        types=types(),
        repo=container.cis(),
        events=container.publisher(),
        clock=container.clock(),
    )
    return CiResponse(ci=ci)


lambda_handler = http.handler(route, update_ci)
