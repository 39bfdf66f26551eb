"""GET /v1/openapi.json: the API description (public). Built at release time, not per request."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from omp.runtime import http, openapi

router = Router()


@router.get(
    "/v1/openapi.json", summary="The OpenAPI 3.1 document", tags=["meta"], include_in_schema=False
)
def get_openapi() -> Response[str]:
    return Response(status_code=200, content_type=http.JSON, body=openapi.packaged())


lambda_handler = http.handler(router)
