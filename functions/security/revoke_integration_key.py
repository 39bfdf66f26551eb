"""DELETE /v1/integration-keys/{key_id}: revoke a key at once (idempotent)."""

from omp.domain.keys import IntegrationKeyResponse
from omp.runtime import container, http
from omp.services import keys

route = http.Route(
    "DELETE",
    "/v1/integration-keys/{key_id}",
    summary="Revoke an integration key",
    tag="integration-keys",
    response=IntegrationKeyResponse,
)


def revoke_integration_key(request: http.Request) -> IntegrationKeyResponse:
    revoked = keys.revoke_key(
        request.path["key_id"],
        actor=request.actor,
        store=container.api_keys(),
        clock=container.clock(),
    )
    return IntegrationKeyResponse(integration_key=revoked)


lambda_handler = http.handler(route, revoke_integration_key)
