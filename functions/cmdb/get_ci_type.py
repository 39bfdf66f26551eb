"""GET /v1/ci-types/{name}: a type with its resolved (inherited) definition."""

from omp.domain.cmdb.types import CiTypeResponse
from omp.runtime import container, http
from omp.services import cmdb

route = http.Route(
    "GET", "/v1/ci-types/{name}", summary="Get a CI type", tag="cmdb", response=CiTypeResponse
)


def get_ci_type(request: http.Request) -> CiTypeResponse:
    return CiTypeResponse(ci_type=cmdb.get_type(request.path["name"], repo=container.ci_types()))


lambda_handler = http.handler(route, get_ci_type)
