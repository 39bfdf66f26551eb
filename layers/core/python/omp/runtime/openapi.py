"""The OpenAPI 3.1 document, generated from the handlers' own `Route` declarations and models.

`python -m omp.runtime.openapi` prints it; `make openapi` writes docs/openapi.json and the copy
packaged in the core layer (served by GET /v1/openapi.json). A test fails when either drifts.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from omp.runtime.http import Route

PACKAGED = Path(__file__).resolve().parent.parent / "openapi.json"
TITLE = "om-platform API"
VERSION = "0.1.0"
REF = "#/components/schemas/{model}"

ERRORS = {
    "400": "Malformed request (MALFORMED_JSON, INVALID_NEXT_TOKEN, ...)",
    "401": "No or unknown bearer token (UNAUTHORIZED)",
    "403": "The caller's roles lack the permission (FORBIDDEN)",
    "404": "Not found (ALARM_NOT_FOUND, ROUTE_NOT_FOUND, ...)",
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


def load_routes(functions_dir: Path, catalog: Any) -> list[tuple[Route, str]]:
    """(route, permission) of every HTTP function in the catalog, from its handler module."""
    found = []
    for fn in catalog.http_functions():
        path = functions_dir / f"{fn.handler}.py"
        spec = importlib.util.spec_from_file_location(f"omp_openapi_{fn.name}", path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        found.append((module.route, fn.trigger.permission))
    return found


def _non_null(schema: dict[str, Any]) -> dict[str, Any]:
    """`X | None` as a query parameter is just an optional X."""
    options = [s for s in schema.get("anyOf", []) if s.get("type") != "null"]
    if len(options) == 1:
        rest = {k: v for k, v in schema.items() if k != "anyOf"}
        return {**options[0], **rest}
    return schema


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(by_alias=True, ref_template=REF)
    required = set(schema.get("required", []))
    params = []
    for name, prop in schema.get("properties", {}).items():
        prop = _non_null(dict(prop))
        prop.pop("title", None)
        if prop.get("default", 0) is None:
            del prop["default"]
        param: dict[str, Any] = {"name": name, "in": "query", "required": name in required}
        if "description" in prop:
            param["description"] = prop["description"]
        param["schema"] = prop
        params.append(param)
    return params


Refs = dict[tuple[type[BaseModel], str], dict[str, Any]]


def _operation(route: Route, permission: str, refs: Refs) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": route.summary,
        "tags": [route.tag],
        "operationId": re.sub(r"[^A-Za-z0-9]+", "_", f"{route.method}{route.path}").strip("_"),
    }
    params = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"{(\w+)}", route.path)
    ]
    if route.query:
        params += _query_parameters(route.query)
    if route.idempotent:
        params.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "description": "A retry with the same key replays the first answer",
                "schema": {"type": "string", "minLength": 1, "maxLength": 255},
            }
        )
    if params:
        operation["parameters"] = params
    if route.body:
        operation["requestBody"] = {
            "required": route.body_required,
            "content": {"application/json": {"schema": refs[(route.body, "validation")]}},
        }
    elif route.raw_body_schema:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": route.raw_body_schema}},
        }
    ok: dict[str, Any] = {"description": "OK"}
    if route.response:
        ok["content"] = {"application/json": {"schema": refs[(route.response, "serialization")]}}
    responses: dict[str, Any] = {str(route.status): ok}
    public = permission == "public"
    for code, description in ERRORS.items():
        if public and code not in ("429", "503"):
            continue
        responses[code] = {
            "description": description,
            "content": {"application/json": {"schema": {"$ref": REF.format(model="Error")}}},
        }
    operation["responses"] = responses
    if not public:
        operation["security"] = [{"bearer": []}]
        operation["x-omp-permission"] = permission
    return operation


def build(functions_dir: Path, catalog: Any) -> dict[str, Any]:
    routes = load_routes(functions_dir, catalog)
    models: list[tuple[type[BaseModel], Any]] = []
    for route, _ in routes:
        for model, mode in (
            (route.body, "validation"),
            (route.query, "validation"),
            (route.response, "serialization"),
        ):
            if model is not None and (model, mode) not in models:
                models.append((model, mode))
    refs, definitions = models_json_schema(models, ref_template=REF, by_alias=True)
    schemas = dict(definitions.get("$defs", {}))
    paths: dict[str, dict[str, Any]] = {}
    for route, permission in routes:
        operation = _operation(route, permission, refs)  # type: ignore[arg-type]
        paths.setdefault(route.path, {})[route.method.lower()] = operation
    schemas["Error"] = ERROR_SCHEMA
    return {
        "openapi": "3.1.0",
        "info": {
            "title": TITLE,
            "version": VERSION,
            "description": "AIOps on AWS. /v1 routes take `Authorization: Bearer <token>`.",
        },
        "servers": [{"url": "/"}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


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
