"""POST /v1/ci-types: define a CI type (201)."""

from omp.domain.cmdb.types import CiTypeResponse, CiTypeSpec
from omp.runtime import container, http
from omp.services import cmdb

route = http.Route(
    "POST",
    "/v1/ci-types",
    summary="Define a CI type",
    tag="cmdb",
    status=201,
    body=CiTypeSpec,
    response=CiTypeResponse,
)


def create_ci_type(request: http.Request) -> CiTypeResponse:
    repo = container.ci_types()
    created = cmdb.create_type(request.body_as(CiTypeSpec), repo=repo, clock=container.clock())
    return CiTypeResponse(ci_type=cmdb.get_type(created.name, repo=repo))


lambda_handler = http.handler(route, create_ci_type)
