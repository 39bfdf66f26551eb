"""POST /v1/integration-keys: a new bearer key (201); the token is in this answer only.

Not replayable by Idempotency-Key on purpose: a replay would have to store the token.
"""

from omp.domain.keys import CreatedIntegrationKeyResponse, CreateIntegrationKey
from omp.runtime import container, http
from omp.services import keys

route = http.Route(
    "POST",
    "/v1/integration-keys",
    summary="Create an integration key",
    tag="integration-keys",
    status=201,
    body=CreateIntegrationKey,
    response=CreatedIntegrationKeyResponse,
)


def create_integration_key(request: http.Request) -> CreatedIntegrationKeyResponse:
    created = keys.create_key(
        request.body_as(CreateIntegrationKey),
        actor=request.actor,
        store=container.api_keys(),
        clock=container.clock(),
    )
    return CreatedIntegrationKeyResponse(integration_key=created)


lambda_handler = http.handler(route, create_integration_key)
