"""GET /v1/cis/{ci_id}/history/verify: check the hash chain, name the first broken link, and
compare the chain with the CI's newest head anchored in the Object Lock bucket."""

from omp.domain.cmdb.anchors import AnchoredVerifyResponse
from omp.runtime import container, http
from omp.services import cmdb_anchors

route = http.Route(
    "GET",
    "/v1/cis/{ci_id}/history/verify",
    summary="Verify a configuration item's history chain",
    tag="cmdb",
    response=AnchoredVerifyResponse,
)


def verify_ci_history(request: http.Request) -> AnchoredVerifyResponse:
    return AnchoredVerifyResponse(
        verification=cmdb_anchors.verify_history(
            request.path["ci_id"], repo=container.cis(), store=container.history_anchors()
        )
    )


lambda_handler = http.handler(route, verify_ci_history)
