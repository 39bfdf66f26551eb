"""DELETE /v1/escalation-policies/{policy_id}: answers the deleted policy; 409 while a route
names it. Running escalations by it stop at their next step."""

from omp.domain import notify_config as n
from omp.runtime import container, http
from omp.services import notify_config

route = http.Route(
    "DELETE",
    "/v1/escalation-policies/{policy_id}",
    summary="Delete an escalation policy",
    tag="notifications",
    response=n.EscalationPolicyResponse,
)


def delete_escalation_policy(request: http.Request) -> n.EscalationPolicyResponse:
    policy = notify_config.delete_policy(
        request.path["policy_id"], container.escalations(), container.notification_configs()
    )
    return n.EscalationPolicyResponse(escalation_policy=n.policy_view(policy))


lambda_handler = http.handler(route, delete_escalation_policy)
