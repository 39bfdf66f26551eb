"""GET /v1/cis/{ci_id}: one configuration item."""

from omp.domain.cmdb.cis import CiResponse
from omp.runtime import container, http
from omp.services import cmdb

route = http.Route(
    "GET", "/v1/cis/{ci_id}", summary="Get a configuration item", tag="cmdb", response=CiResponse
)


def get_ci(request: http.Request) -> CiResponse:
    return CiResponse(ci=cmdb.get_ci(request.path["ci_id"], repo=container.cis()))


lambda_handler = http.handler(route, get_ci)
