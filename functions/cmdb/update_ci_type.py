"""PUT /v1/ci-types/{name}: replace a user type's definition at a version (409 if stale)."""

from omp.domain.cmdb.types import CiTypeResponse, UpdateCiType
from omp.runtime import container, http
from omp.services import cmdb

route = http.Route(
    "PUT",
    "/v1/ci-types/{name}",
    summary="Change a CI type",
    tag="cmdb",
    body=UpdateCiType,
    response=CiTypeResponse,
)


def update_ci_type(request: http.Request) -> CiTypeResponse:
    repo = container.ci_types()
    name = request.path["name"]
    cmdb.update_type(name, request.body_as(UpdateCiType), repo=repo, clock=container.clock())
    return CiTypeResponse(ci_type=cmdb.get_type(name, repo=repo))


lambda_handler = http.handler(route, update_ci_type)
