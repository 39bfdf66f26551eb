"""The HTTP edge every API handler shares.

Each API function serves exactly one route (the catalog says which), so a router would only
repeat API Gateway's work. A handler module declares its `route` and an action, and ends with
`lambda_handler = http.handler(route, action)`. This module turns the API Gateway (REST, v1)
event into a typed `Request` — body limit, permission, JSON, schema — runs the action, honours
`Idempotency-Key`, and answers with the resource or the error envelope. The OpenAPI document is
generated from the same `Route` declarations (omp.runtime.openapi).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

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

if TYPE_CHECKING:
    # pydantic is loaded by the routes that have models; a raw route (OTLP) never needs it.
    from pydantic import BaseModel, ValidationError

logger = logging.getLogger("omp.http")

JSON = "application/json"
DEFAULT_MAX_BODY = 1_048_576
IDEMPOTENCY_HEADER = "idempotency-key"
_IDEMPOTENCY_TTL_S = 24 * 3600

M = TypeVar("M", bound="BaseModel")


@dataclass(frozen=True)
class Route:
    """One API operation: what it accepts and answers. Paths use `{name}` parameters."""

    method: str
    path: str
    summary: str
    tag: str
    status: int = 200
    body: type[BaseModel] | None = None
    body_required: bool = True
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    idempotent: bool = False  # a retry with the same Idempotency-Key replays the first answer
    # A route that takes any JSON (webhooks): documented with this schema, read with json_body().
    raw_body_schema: dict[str, Any] | None = None
    public: bool = False  # documented without the bearer requirement (the catalog decides)


@dataclass
class Request:
    route: Route
    event: dict[str, Any]
    request_id: str | None
    headers: dict[str, str]  # lower-cased names
    path: dict[str, str]
    query: BaseModel | None = None
    body: BaseModel | None = None
    principal: Principal | None = None
    context: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    def body_as(self, model: type[M]) -> M:
        assert isinstance(self.body, model)
        return self.body

    def query_as(self, model: type[M]) -> M:
        assert isinstance(self.query, model)
        return self.query

    @property
    def actor(self) -> str:
        if self.principal is None:
            raise Unauthorized("no authenticated principal on the request")
        return self.principal.id


Action = Callable[[Request], "BaseModel | dict[str, Any]"]
LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]

# ---- answers --------------------------------------------------------------------------------


def error_body(
    code: str, message: str, request_id: str | None, details: Any = None
) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message, "request_id": request_id}
    if details is not None:
        error["details"] = details
    return {"error": error}


def respond(status: int, payload: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    body = plain(payload)
    return {
        "statusCode": status,
        "headers": {"Content-Type": JSON, **(headers or {})},
        "body": json.dumps(body, separators=(",", ":")),
        "isBase64Encoded": False,
    }


def plain(payload: Any) -> Any:
    """A pydantic model as JSON-ready data; anything else as it is. A model exists only once
    pydantic is loaded, so a raw route's answer does not load it to find out."""
    pydantic = sys.modules.get("pydantic")
    if pydantic is not None and isinstance(payload, pydantic.BaseModel):
        return payload.model_dump(mode="json")
    return payload


def _error_response(exc: DomainError, request_id: str | None) -> dict[str, Any]:
    return respond(exc.status, error_body(exc.code, exc.message, request_id, exc.details))


# ---- parsing --------------------------------------------------------------------------------


def principal_of(event: dict[str, Any]) -> Principal:
    """The caller, from the authorizer's context (API Gateway copies it into requestContext)."""
    context = (event.get("requestContext") or {}).get("authorizer") or {}
    principal_id = context.get("principal")
    if not principal_id:
        raise Unauthorized("no authenticated principal on the request")
    roles = frozenset(r for r in str(context.get("roles", "")).split(",") if r)
    attributes = {
        name: str(context[name]) for name in ("source", "fingerprint_labels") if context.get(name)
    }
    return Principal(id=str(principal_id), roles=roles, attributes=attributes)


def _raw_body(event: dict[str, Any]) -> bytes:
    raw = event.get("body") or ""
    if not event.get("isBase64Encoded"):
        return str(raw).encode()
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadRequest("the body is not valid base64", code="MALFORMED_BODY") from exc


def _schema_errors(exc: ValidationError, where: str) -> ValidationFailed:
    details = [
        {"loc": [where, *e["loc"]], "msg": e["msg"], "type": e["type"]} for e in exc.errors()
    ]
    return ValidationFailed("the request does not match the schema", details=details)


def _parse_body(route: Route, raw: bytes) -> BaseModel | None:
    assert route.body is not None
    if not raw.strip():
        if route.body_required:
            raise ValidationFailed(
                "a JSON body is required",
                details=[{"loc": ["body"], "msg": "Field required", "type": "missing"}],
            )
        return None
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("the request body is not valid JSON", code="MALFORMED_JSON") from exc
    from pydantic import ValidationError

    try:
        return route.body.model_validate(data)
    except ValidationError as exc:
        raise _schema_errors(exc, "body") from exc


def _parse_query(route: Route, event: dict[str, Any]) -> BaseModel | None:
    if route.query is None:
        return None
    # A repeated parameter counts once: the last value, as API Gateway's single-value map does.
    values = dict(event.get("queryStringParameters") or {})
    for name, many in (event.get("multiValueQueryStringParameters") or {}).items():
        if many:
            values[name] = many[-1]
    from pydantic import ValidationError

    try:
        return route.query.model_validate(values)
    except ValidationError as exc:
        raise _schema_errors(exc, "query") from exc


def raw_body(request: Request) -> bytes:
    return _raw_body(request.event)


def json_body(request: Request) -> Any:
    """The body as JSON, for routes that accept any JSON document (400 when it is not JSON)."""
    try:
        return json.loads(_raw_body(request.event))
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("the request body is not valid JSON", code="MALFORMED_JSON") from exc


def parse(route: Route, event: dict[str, Any], context: Any) -> Request:
    """Body limit and permission first (nothing is parsed for a caller who may not call)."""
    request = Request(
        route=route,
        event=event,
        request_id=(event.get("requestContext") or {}).get("requestId"),
        headers={str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()},
        path={k: str(v) for k, v in (event.get("pathParameters") or {}).items()},
        context=context,
    )
    raw = _raw_body(event)
    limit = int(env.get("OMP_MAX_BODY_BYTES") or DEFAULT_MAX_BODY)
    if len(raw) > limit:
        raise PayloadTooLarge(f"the request body is larger than {limit} bytes")
    permission = env.get("OMP_PERMISSION") or "*"
    if permission != access.PUBLIC:
        request.principal = principal_of(event)
        access.require(request.principal, permission)
    request.query = _parse_query(route, event)
    if route.body is not None:
        request.body = _parse_body(route, raw)
    return request


# ---- the handler ----------------------------------------------------------------------------


def handler(route: Route, action: Action) -> LambdaHandler:
    """The Lambda entry point of a one-route API function."""

    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        request_id = (event.get("requestContext") or {}).get("requestId")
        try:
            request = parse(route, event, context)
            if route.idempotent and IDEMPOTENCY_HEADER in request.headers:
                return _replayable(request, action)
            return respond(route.status, action(request))
        except DomainError as exc:
            return _error_response(exc, request_id)
        except Exception:
            logger.exception("unhandled error in %s %s", route.method, route.path)
            return respond(
                500, error_body("INTERNAL_ERROR", "an unexpected error occurred", request_id)
            )

    lambda_handler.route = route  # type: ignore[attr-defined]
    return lambda_handler


# ---- Idempotency-Key ------------------------------------------------------------------------


def _replayable(request: Request, action: Action) -> dict[str, Any]:
    """Run the action once per Idempotency-Key; a retry with the same key gets the first answer.

    The key is scoped to the function and the caller; reusing it with a different body or path
    is a 422. Errors are not remembered, so a request that failed can be retried with the key.
    """
    key = request.headers[IDEMPOTENCY_HEADER]
    if not 1 <= len(key) <= 255 or not key.isprintable():
        raise BadRequest(
            "Idempotency-Key must be 1 to 255 printable characters",
            code="INVALID_IDEMPOTENCY_KEY",
        )
    import hashlib

    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyPersistenceLayerError,
        IdempotencyValidationError,
    )

    fingerprint = {
        "key": f"{env.get('OMP_FUNCTION')}|{request.actor}|{key}",
        "body": hashlib.sha256(_raw_body(request.event)).hexdigest(),
        "path": str(request.event.get("path")),
    }
    ran = False

    def once(fingerprint: dict[str, Any]) -> dict[str, Any]:
        nonlocal ran
        ran = True
        result = action(request)
        body = plain(result)
        return {"status": request.route.status, "payload": body}

    config = IdempotencyConfig(
        event_key_jmespath="key",
        payload_validation_jmespath="[body, path]",
        expires_after_seconds=_IDEMPOTENCY_TTL_S,
        raise_on_no_idempotency_key=True,
    )
    if hasattr(request.context, "get_remaining_time_in_millis"):
        config.register_lambda_context(request.context)
    guarded = idempotent_function(
        data_keyword_argument="fingerprint", persistence_store=_persistence(), config=config
    )(once)
    try:
        stored = guarded(fingerprint=fingerprint)
    except IdempotencyValidationError as exc:
        raise ValidationFailed(
            "this Idempotency-Key was used with a different request",
            code="IDEMPOTENCY_KEY_REUSED",
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
    return respond(int(stored["status"]), stored["payload"], headers)


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
