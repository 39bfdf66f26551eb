"""GET /v1/openapi.json: the API description (public). Built at release time, not per request."""

import json
from typing import Any

from omp.runtime import http, openapi

route = http.Route(
    "GET", "/v1/openapi.json", summary="The OpenAPI 3.1 document", tag="meta", public=True
)


def get_openapi(request: http.Request) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(openapi.packaged())
    return document


lambda_handler = http.handler(route, get_openapi)
