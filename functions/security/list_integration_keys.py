"""GET /v1/integration-keys: every key, newest first (never the token)."""

from pydantic import Field

from omp.domain.keys import IntegrationKeyList
from omp.domain.model import Model
from omp.domain.pagination import DEFAULT_LIMIT, MAX_LIMIT
from omp.runtime import container, http
from omp.services import keys


class KeyListParams(Model):
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    next_token: str | None = Field(default=None, max_length=4096)


route = http.Route(
    "GET",
    "/v1/integration-keys",
    summary="List integration keys",
    tag="integration-keys",
    query=KeyListParams,
    response=IntegrationKeyList,
)


def list_integration_keys(request: http.Request) -> IntegrationKeyList:
    params = request.query_as(KeyListParams)
    page = keys.list_keys(
        limit=params.limit, next_token=params.next_token, store=container.api_keys()
    )
    return IntegrationKeyList(integration_keys=page.items, next_token=page.next_token)


lambda_handler = http.handler(route, list_integration_keys)
