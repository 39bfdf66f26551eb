"""DELETE /v1/cis/{ci_id}: retire a CI (status retired); it is never erased."""

from omp.api.cmdb import context, types
from omp.domain.cmdb.cis import CiResponse, RetireParams
from omp.runtime import container, http
from omp.services import cmdb

route = http.Route(
    "DELETE",
    "/v1/cis/{ci_id}",
    summary="Retire a configuration item",
    tag="cmdb",
    query=RetireParams,
    response=CiResponse,
)


def retire_ci(request: http.Request) -> CiResponse:
    params = request.query_as(RetireParams)
    ci = cmdb.retire_ci(
        request.path["ci_id"],
        context(request, "api", params.reason),
        expected_version=params.version,
        types=types(),
        repo=container.cis(),
        events=container.publisher(),
        clock=container.clock(),
    )
    return CiResponse(ci=ci)


lambda_handler = http.handler(route, retire_ci)
