"""GET /v1/cmdb/history-anchors/verify?limit=: check the newest anchors of CI history heads:
each sealed as written and naming the one before it (a removed or hidden anchor is a gap)."""

from pydantic import ConfigDict, Field

from omp.domain.cmdb.anchors import AnchorChainResponse
from omp.domain.model import Model
from omp.runtime import container, http
from omp.services import cmdb_anchors


class AnchorChainParams(Model):
    model_config = ConfigDict(extra="ignore")

    limit: int = Field(default=100, ge=1, le=1000, description="newest anchors to check")


route = http.Route(
    "GET",
    "/v1/cmdb/history-anchors/verify",
    summary="Verify the chain of history anchors",
    tag="cmdb",
    query=AnchorChainParams,
    response=AnchorChainResponse,
)


def verify_history_anchors(request: http.Request) -> AnchorChainResponse:
    params = request.query_as(AnchorChainParams)
    return AnchorChainResponse(
        anchor_chain=cmdb_anchors.verify_anchors(container.history_anchors(), limit=params.limit)
    )


lambda_handler = http.handler(route, verify_history_anchors)
