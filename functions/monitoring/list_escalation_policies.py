"""GET /v1/escalation-policies: newest first, paginated."""

from pydantic import ConfigDict, Field

from omp.domain import notify_config as n
from omp.domain.model import Model
from omp.domain.pagination import DEFAULT_LIMIT, MAX_LIMIT
from omp.runtime import container, http


class PolicyListParams(Model):
    model_config = ConfigDict(extra="ignore")

    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    next_token: str | None = Field(default=None, max_length=4096)


route = http.Route(
    "GET",
    "/v1/escalation-policies",
    summary="List escalation policies",
    tag="notifications",
    query=PolicyListParams,
    response=n.EscalationPolicyListResponse,
)


def list_escalation_policies(request: http.Request) -> n.EscalationPolicyListResponse:
    params = request.query_as(PolicyListParams)
    page = container.escalations().list_policies(params.limit, params.next_token)
    return n.EscalationPolicyListResponse(
        escalation_policies=[n.policy_view(p) for p in page.items], next_token=page.next_token
    )


lambda_handler = http.handler(route, list_escalation_policies)
