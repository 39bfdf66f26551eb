"""The HTTP edge every API handler shares: one resolver per function, the error envelope, the
body limit, the permission check and Idempotency-Key replay.

A handler module declares `router = Router()` with its one route and ends with
`lambda_handler = http.handler(router)`. The OpenAPI document is built from the same routers.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter, Router
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from pydantic import BaseModel

from omp.domain import access
from omp.domain.access import Principal
from omp.domain.errors import (
    BadRequest,
    Conflict,
    DomainError,
    PayloadTooLarge,
    TransientError,
    Unauthorized,
    ValidationFailed,
)
from omp.runtime import env

logger = logging.getLogger("omp.http")

JSON = "application/json"
DEFAULT_MAX_BODY = 1_048_576
_IDEMPOTENCY_TTL_S = 24 * 3600


def error_body(
    code: str, message: str, request_id: str | None, details: Any = None
) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message, "request_id": request_id}
    if details is not None:
        error["details"] = details
    return {"error": error}


def _request_id(app: APIGatewayRestResolver) -> str | None:
    try:
        return str(app.current_event.request_context.request_id)
    except (AttributeError, KeyError, TypeError):
        return None


def _error(
    app: APIGatewayRestResolver, status: int, code: str, message: str, details: Any = None
) -> Response[Any]:
    return Response(
        status_code=status,
        content_type=JSON,
        body=json.dumps(error_body(code, message, _request_id(app), details)),
    )


def respond(
    status: int, payload: BaseModel | dict[str, Any], headers: dict[str, str] | None = None
) -> Response[Any]:
    body = payload.model_dump(mode="json") if isinstance(payload, BaseModel) else payload
    return Response(status_code=status, content_type=JSON, body=json.dumps(body), headers=headers)


def principal_of(event: dict[str, Any]) -> Principal:
    """The caller, from the authorizer's context (API Gateway copies it into requestContext)."""
    context = (event.get("requestContext") or {}).get("authorizer") or {}
    principal_id = context.get("principal")
    if not principal_id:
        raise Unauthorized("no authenticated principal on the request")
    roles = frozenset(r for r in str(context.get("roles", "")).split(",") if r)
    return Principal(id=str(principal_id), roles=roles)


def principal(app: BaseRouter) -> Principal:
    return principal_of(app.current_event.raw_event)


def _body_size(event: dict[str, Any]) -> int:
    raw = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return len(raw) * 3 // 4
    return len(raw.encode())


def guard(event: dict[str, Any]) -> None:
    """Before anything is parsed: the body limit, then whether the caller may use this route."""
    limit = int(env.get("OMP_MAX_BODY_BYTES") or DEFAULT_MAX_BODY)
    if _body_size(event) > limit:
        raise PayloadTooLarge(f"the request body is larger than {limit} bytes")
    permission = env.get("OMP_PERMISSION") or "*"
    if permission != access.PUBLIC:
        access.require(principal_of(event), permission)


def build_app(*routers: Router) -> APIGatewayRestResolver:
    app = APIGatewayRestResolver(enable_validation=True)
    for router in routers:
        app.include_router(router)

    @app.exception_handler(DomainError)  # type: ignore[misc]
    def _domain(exc: DomainError) -> Response[Any]:
        return _error(app, exc.status, exc.code, exc.message, exc.details)

    @app.exception_handler(RequestValidationError)  # type: ignore[misc]
    def _invalid(exc: RequestValidationError) -> Response[Any]:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type")}
            for e in exc.errors()
        ]
        if any(e["loc"][:1] == ["response"] for e in errors):
            logger.error("a handler returned a body that breaks its own schema: %s", errors)
            return _error(app, 500, "INTERNAL_ERROR", "an unexpected error occurred")
        if any(e["type"] == "json_invalid" for e in errors):
            return _error(app, 400, "MALFORMED_JSON", "the request body is not valid JSON")
        return _error(
            app, 422, "VALIDATION_FAILED", "the request does not match the schema", errors
        )

    @app.not_found
    def _no_route(_exc: Exception) -> Response[Any]:
        return _error(app, 404, "ROUTE_NOT_FOUND", "no such route")

    @app.exception_handler(Exception)  # type: ignore[misc]
    def _unexpected(exc: Exception) -> Response[Any]:
        logger.exception("unhandled error")
        return _error(app, 500, "INTERNAL_ERROR", "an unexpected error occurred")

    return app


def handler(router: Router) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The Lambda entry point for a module with one route."""
    app = build_app(router)

    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        try:
            guard(event)
        except DomainError as exc:
            request_id = (event.get("requestContext") or {}).get("requestId")
            return {
                "statusCode": exc.status,
                "headers": {"Content-Type": JSON},
                "body": json.dumps(error_body(exc.code, exc.message, request_id, exc.details)),
                "isBase64Encoded": False,
            }
        return app.resolve(event, context)

    lambda_handler.app = app  # type: ignore[attr-defined]
    return lambda_handler


def returns(status: int, model: type[BaseModel]) -> dict[int, Any]:
    """OpenAPI `responses` for a route that builds its Response itself."""
    return {status: {"description": "OK", "content": {JSON: {"model": model}}}}


# ---- Idempotency-Key ---------------------------------------------------------------------


def replayable(
    app: BaseRouter, compute: Callable[[], tuple[int, dict[str, Any]]]
) -> Response[Any]:
    """Run `compute` once per Idempotency-Key; a retry with the same key gets the first answer.

    The key is scoped to the function and the caller; reusing it with a different body is a 422.
    Errors are not remembered, so a request that failed can be retried with the same key.
    """
    key = app.current_event.headers.get("Idempotency-Key") or app.current_event.headers.get(
        "idempotency-key"
    )
    if key is None:
        status, payload = compute()
        return respond(status, payload)
    if not 1 <= len(key) <= 255 or not key.isprintable():
        raise BadRequest(
            "Idempotency-Key must be 1 to 255 printable characters", code="INVALID_IDEMPOTENCY_KEY"
        )

    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyPersistenceLayerError,
        IdempotencyValidationError,
    )

    who = principal(app).id
    body = app.current_event.raw_event.get("body") or ""
    request = {
        "key": f"{env.get('OMP_FUNCTION')}|{who}|{key}",
        "body": hashlib.sha256(body.encode()).hexdigest(),
        "path": app.current_event.path,
    }
    ran = False

    def once(request: dict[str, Any]) -> dict[str, Any]:
        nonlocal ran
        ran = True
        status, payload = compute()
        return {"status": status, "payload": payload}

    config = IdempotencyConfig(
        event_key_jmespath="key",
        payload_validation_jmespath="[body, path]",
        expires_after_seconds=_IDEMPOTENCY_TTL_S,
        raise_on_no_idempotency_key=True,
    )
    if app.lambda_context is not None and hasattr(
        app.lambda_context, "get_remaining_time_in_millis"
    ):
        config.register_lambda_context(app.lambda_context)
    guarded = idempotent_function(
        data_keyword_argument="request", persistence_store=_persistence(), config=config
    )(once)
    try:
        result = guarded(request=request)
    except IdempotencyValidationError as exc:
        raise ValidationFailed(
            "this Idempotency-Key was used with a different request", code="IDEMPOTENCY_KEY_REUSED"
        ) from exc
    except IdempotencyAlreadyInProgressError as exc:
        raise Conflict(
            "a request with this Idempotency-Key is still in progress",
            code="IDEMPOTENCY_IN_PROGRESS",
        ) from exc
    except IdempotencyPersistenceLayerError as exc:
        raise TransientError(
            "the idempotency store is unavailable", code="DEPENDENCY_FAILED"
        ) from exc
    headers = None if ran else {"Idempotent-Replayed": "true"}
    return respond(int(result["status"]), result["payload"], headers)


_persistence_layers: dict[str, Any] = {}


def _persistence() -> Any:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    from omp.adapters.aws import client

    table = env.require("OMP_TABLE_IDEMPOTENCY")
    if table not in _persistence_layers:
        _persistence_layers[table] = DynamoDBPersistenceLayer(
            table_name=table, boto3_client=client("dynamodb")
        )
    return _persistence_layers[table]
