"""The OpenAPI 3.1 document, generated from the handlers' own routes and models.

`python -m omp.runtime.openapi` prints it; `make openapi` writes docs/openapi.json and the copy
packaged in the core layer (served by GET /v1/openapi.json). A test fails when either drifts.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from functools import cache
from pathlib import Path
from typing import Any

PACKAGED = Path(__file__).resolve().parent.parent / "openapi.json"
TITLE = "om-platform API"
VERSION = "0.1.0"


ERRORS = {
    "400": "Malformed request (MALFORMED_JSON, INVALID_NEXT_TOKEN, ...)",
    "401": "No or unknown bearer token (UNAUTHORIZED)",
    "403": "The caller's roles lack the permission (FORBIDDEN)",
    "404": "Not found (ALARM_NOT_FOUND, ...)",
    "409": "Conflict (INVALID_TRANSITION, VERSION_CONFLICT, ...)",
    "413": "Body over 1 MB (PAYLOAD_TOO_LARGE)",
    "422": "Schema violation (VALIDATION_FAILED, with field paths in details)",
    "429": "Rate limited (RATE_LIMITED)",
    "503": "A dependency is unavailable; retry (SERVICE_UNAVAILABLE, THROTTLED)",
}
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "Stable, listed in docs/errors.md"},
                "message": {"type": "string"},
                "request_id": {"type": ["string", "null"]},
                "details": {},
            },
        }
    },
}


def build(functions_dir: Path, catalog: Any) -> dict[str, Any]:
    """Import every HTTP handler named in the catalog and merge their routes into one document."""
    from aws_lambda_powertools.event_handler.openapi.models import Server

    from omp.runtime.http import build_app

    routers = []
    for fn in catalog.http_functions():
        path = functions_dir / f"{fn.handler}.py"
        spec = importlib.util.spec_from_file_location(
            f"omp_openapi_{fn.name.replace('-', '_')}", path
        )
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        routers.append(module.router)
    app = build_app(*routers)
    schema: dict[str, Any] = json.loads(
        app.get_openapi_json_schema(
            title=TITLE,
            version=VERSION,
            description="AIOps for teams on AWS. /v1 routes take `Authorization: Bearer <token>`.",
            servers=[Server(url="/")],
        )
    )
    components = schema.setdefault("components", {})
    components["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
    schemas = components.setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        schemas.pop(unused, None)
    schemas["Error"] = ERROR_SCHEMA
    public = {
        (fn.trigger.method.lower(), fn.trigger.path)
        for fn in catalog.http_functions()
        if fn.trigger.permission == "public"
    }
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            if (method, path) not in public:
                operation["security"] = [{"bearer": []}]
            responses = operation.setdefault("responses", {})
            codes = ERRORS if (method, path) not in public else {"429": ERRORS["429"]}
            for code, description in codes.items():
                responses[code] = {
                    "description": description,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                }
    return schema


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


@cache
def packaged() -> str:
    return PACKAGED.read_text()


def main() -> None:
    root = Path(__file__).resolve().parents[5]
    sys.path.insert(0, str(root))
    from infra import wiring

    sys.stdout.write(render(build(root / "functions", wiring)))


if __name__ == "__main__":
    main()
