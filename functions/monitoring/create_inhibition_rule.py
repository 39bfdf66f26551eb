"""POST /v1/inhibition-rules: mute target alarms while a source alarm fires (201).
Honours Idempotency-Key."""

from omp.api.silences import InhibitionRuleResponse, rule_view
from omp.domain.inhibition import InhibitRuleIn
from omp.runtime import container, http
from omp.services import silences

route = http.Route(
    "POST",
    "/v1/inhibition-rules",
    summary="Create an inhibition rule",
    tag="silences",
    status=201,
    body=InhibitRuleIn,
    response=InhibitionRuleResponse,
    idempotent=True,
)


def create_inhibition_rule(request: http.Request) -> InhibitionRuleResponse:
    record = silences.create_rule(
        request.body_as(InhibitRuleIn),
        actor=request.actor,
        store=container.inhibition_rules(),
        events=container.publisher(),
        clock=container.clock(),
    )
    return InhibitionRuleResponse(inhibition_rule=rule_view(record))


lambda_handler = http.handler(route, create_inhibition_rule)
