"""POST /v1/escalation-policies: levels of receivers, each with a delay before the next."""

from omp.domain import notify_config as n
from omp.runtime import container, http
from omp.services import notify_config

route = http.Route(
    "POST",
    "/v1/escalation-policies",
    summary="Create an escalation policy",
    tag="notifications",
    status=201,
    body=n.CreateEscalationPolicy,
    response=n.EscalationPolicyResponse,
    idempotent=True,
)


def create_escalation_policy(request: http.Request) -> n.EscalationPolicyResponse:
    policy = notify_config.create_policy(
        request.body_as(n.CreateEscalationPolicy),
        actor=request.actor,
        escalations=container.escalations(),
        configs=container.notification_configs(),
        clock=container.clock(),
    )
    return n.EscalationPolicyResponse(escalation_policy=n.policy_view(policy))


lambda_handler = http.handler(route, create_escalation_policy)
