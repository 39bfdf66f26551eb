"""GET /v1/escalation-policies/{policy_id}."""

from omp.domain import notify_config as n
from omp.runtime import container, http
from omp.services import notify_config

route = http.Route(
    "GET",
    "/v1/escalation-policies/{policy_id}",
    summary="Get an escalation policy",
    tag="notifications",
    response=n.EscalationPolicyResponse,
)


def get_escalation_policy(request: http.Request) -> n.EscalationPolicyResponse:
    policy = notify_config.get_policy(request.path["policy_id"], container.escalations())
    return n.EscalationPolicyResponse(escalation_policy=n.policy_view(policy))


lambda_handler = http.handler(route, get_escalation_policy)
