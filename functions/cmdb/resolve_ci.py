"""GET /v1/cis:resolve?resource=: the CI an alarm's resource names (ARN, instance/subnet/vpc/
security-group id, or a service or application name); 404 CI_NOT_FOUND when none."""

from omp.api.cmdb import ResolveParams
from omp.domain.cmdb.cis import CiResponse
from omp.runtime import container, http
from omp.services import cmdb

route = http.Route(
    "GET",
    "/v1/cis:resolve",
    summary="Find the CI a resource names",
    tag="cmdb",
    query=ResolveParams,
    response=CiResponse,
)


def resolve_ci(request: http.Request) -> CiResponse:
    resource = request.query_as(ResolveParams).resource
    return CiResponse(ci=cmdb.resolve_resource(resource, repo=container.cis()))


lambda_handler = http.handler(route, resolve_ci)
