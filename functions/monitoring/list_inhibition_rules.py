"""GET /v1/inhibition-rules: the rules in the order they apply (oldest first), paginated."""

from omp.api.silences import InhibitionRuleListResponse, PageParams, rule_view
from omp.runtime import container, http

route = http.Route(
    "GET",
    "/v1/inhibition-rules",
    summary="List inhibition rules",
    tag="silences",
    query=PageParams,
    response=InhibitionRuleListResponse,
)


def list_inhibition_rules(request: http.Request) -> InhibitionRuleListResponse:
    params = request.query_as(PageParams)
    page = container.inhibition_rules().list(params.limit, params.next_token)
    return InhibitionRuleListResponse(
        inhibition_rules=[rule_view(r) for r in page.items], next_token=page.next_token
    )


lambda_handler = http.handler(route, list_inhibition_rules)
