"""GET /v1/cis/{ci_id}/history/verify: check the hash chain; name the first broken link."""

from omp.domain.cmdb.history import VerifyResponse
from omp.runtime import container, http
from omp.services import cmdb

route = http.Route(
    "GET",
    "/v1/cis/{ci_id}/history/verify",
    summary="Verify a configuration item's history chain",
    tag="cmdb",
    response=VerifyResponse,
)


def verify_ci_history(request: http.Request) -> VerifyResponse:
    return VerifyResponse(
        verification=cmdb.verify_history(request.path["ci_id"], repo=container.cis())
    )


lambda_handler = http.handler(route, verify_ci_history)
