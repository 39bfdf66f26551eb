"""DELETE /v1/inhibition-rules/{rule_id}: remove a rule; answers what was removed (404 once
it is gone)."""

from omp.api.silences import InhibitionRuleResponse, rule_view
from omp.runtime import container, http
from omp.services import silences

route = http.Route(
    "DELETE",
    "/v1/inhibition-rules/{rule_id}",
    summary="Delete an inhibition rule",
    tag="silences",
    response=InhibitionRuleResponse,
)


def delete_inhibition_rule(request: http.Request) -> InhibitionRuleResponse:
    record = silences.delete_rule(
        request.path["rule_id"],
        actor=request.actor,
        store=container.inhibition_rules(),
        events=container.publisher(),
    )
    return InhibitionRuleResponse(inhibition_rule=rule_view(record))


lambda_handler = http.handler(route, delete_inhibition_rule)
