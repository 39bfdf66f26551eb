"""The metric ingest routes' shared edge: limits from the environment, the ingest answers (a 429
that still reports what was stored; OTLP's own response in JSON or protobuf). No pydantic at
import: the OTLP route answers in OTLP's encoding and never builds a model (the JSON route's
models come with its own route). The query routes: omp.api.metric_queries."""

from __future__ import annotations

import gzip
import logging
import zlib
from collections.abc import Callable
from typing import Any

from omp.api.metric_points import queue_for_scoring
from omp.domain import metrics as m
from omp.domain.errors import BadRequest, DomainError, PayloadTooLarge, ValidationFailed
from omp.runtime import container, http
from omp.services import metrics as svc
from omp.sources import otlp_metrics

logger = logging.getLogger("omp.metrics")

MAX_INFLATED_BYTES = 16 * 1_048_576  # a gzip body may not inflate beyond this

# ---- the source -----------------------------------------------------------------------------


def source_of(request: http.Request) -> str:
    """What the cardinality limit counts against: the caller (integration key or user)."""
    assert request.principal is not None
    return request.principal.id


# ---- a handler whose action builds the whole answer -----------------------------------------

RawAction = Callable[[http.Request], dict[str, Any]]


def raw_handler(route: http.Route, action: RawAction) -> http.LambdaHandler:
    """Like `http.handler`, for actions that choose the status and encoding themselves."""

    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        request_id = (event.get("requestContext") or {}).get("requestId")
        try:
            return action(http.parse(route, event, context))
        except DomainError as exc:
            return http.respond(
                exc.status, http.error_body(exc.code, exc.message, request_id, exc.details)
            )
        except Exception:
            logger.exception("unhandled error in %s %s", route.method, route.path)
            return http.respond(
                500, http.error_body("INTERNAL_ERROR", "an unexpected error occurred", request_id)
            )

    lambda_handler.route = route  # type: ignore[attr-defined]
    return lambda_handler


# ---- POST /v1/metrics -----------------------------------------------------------------------


def ingest_answer(outcome: svc.IngestOutcome, request_id: str | None) -> dict[str, Any]:
    from omp.domain.metric_models import IngestResponse, RejectedPoint  # the JSON route's own

    body = IngestResponse(
        accepted=outcome.accepted_count,
        rejected=[
            RejectedPoint(index=r.index, reason=r.reason, message=r.message)
            for r in outcome.rejected
        ],
        series=len(outcome.accepted),
    ).model_dump(mode="json")
    if not outcome.series_limited:
        return http.respond(200, body)
    # 429: the batch's points of known series were stored; those of new series beyond the
    # source's limit were not (each listed with SERIES_LIMIT_EXCEEDED).
    body |= http.error_body(
        "SERIES_LIMIT_EXCEEDED",
        "this source is at its series limit: points of new series were rejected",
        request_id,
    )
    return http.respond(429, body)


def read_batch(request: http.Request) -> list[Any]:
    data = http.json_body(request)
    if not isinstance(data, dict) or not isinstance(data.get("points"), list):
        raise ValidationFailed(
            "the body must be an object with a list `points`",
            code="INVALID_BATCH",
            details=[{"loc": ["body", "points"], "msg": "expected a list"}],
        )
    points: list[Any] = data["points"]
    if len(points) > m.MAX_BATCH_POINTS:
        raise PayloadTooLarge(
            f"{len(points)} points; a batch holds at most {m.MAX_BATCH_POINTS}",
            code="TOO_MANY_POINTS",
        )
    return points


def ingest(request: http.Request) -> dict[str, Any]:
    now, lim = container.clock().now(), container.metric_limits()
    checked = m.check_batch(read_batch(request), now, lim)
    outcome = svc.ingest(
        checked, source=source_of(request), store=container.metric_store(), now=now, limits=lim
    )
    queue_for_scoring(outcome.accepted)  # anomaly scoring (score-metrics)
    return ingest_answer(outcome, request.request_id)


# ---- POST /v1/otlp/metrics ------------------------------------------------------------------


def _media_type(request: http.Request) -> str:
    return request.headers.get("content-type", "application/json").split(";")[0].strip().lower()


def _inflate(raw: bytes, encoding: str) -> bytes:
    if encoding in ("", "identity"):
        return raw
    if encoding != "gzip":
        raise BadRequest(
            f"Content-Encoding {encoding!r} is not supported (gzip or none)",
            code="UNSUPPORTED_ENCODING",
        )
    try:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        out = inflater.decompress(raw, MAX_INFLATED_BYTES + 1)
    except (zlib.error, gzip.BadGzipFile) as exc:
        raise BadRequest("the body is not valid gzip", code="MALFORMED_BODY") from exc
    if len(out) > MAX_INFLATED_BYTES:
        raise PayloadTooLarge(f"the body inflates beyond {MAX_INFLATED_BYTES} bytes")
    return out


def otlp(request: http.Request) -> dict[str, Any]:
    media = _media_type(request)
    if media not in ("application/json", otlp_metrics.PROTOBUF):
        raise BadRequest(
            "Content-Type must be application/json or application/x-protobuf",
            code="UNSUPPORTED_CONTENT_TYPE",
        )
    body = _inflate(http.raw_body(request), request.headers.get("content-encoding", "").lower())
    message = otlp_metrics.decode(body, media)
    if otlp_metrics.data_point_count(message) > m.MAX_OTLP_POINTS:
        raise PayloadTooLarge(
            f"an OTLP request holds at most {m.MAX_OTLP_POINTS} data points",
            code="TOO_MANY_POINTS",
        )
    now, lim = container.clock().now(), container.metric_limits()
    checker = m.BatchChecker()
    for raw in otlp_metrics.points(message):
        checker.add(raw.index, otlp_metrics.check(raw, now, lim))
    outcome = svc.ingest(
        checker.checked,
        source=source_of(request),
        store=container.metric_store(),
        now=now,
        limits=lim,
    )
    queue_for_scoring(outcome.accepted)  # anomaly scoring (score-metrics)
    return otlp_answer(outcome, media)


def otlp_answer(outcome: svc.IngestOutcome, media: str) -> dict[str, Any]:
    """200 with `partial_success` (OTLP spec): rejected data points are not retryable, so even
    SERIES_LIMIT_EXCEEDED is reported here rather than as a 429 an exporter would retry."""
    from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2

    response = metrics_service_pb2.ExportMetricsServiceResponse()
    rejected = sorted({r.index for r in outcome.rejected})
    if rejected:
        reasons: dict[str, int] = {}
        for r in outcome.rejected:
            reasons[r.reason] = reasons.get(r.reason, 0) + 1
        first = outcome.rejected[0]
        response.partial_success.rejected_data_points = len(rejected)
        response.partial_success.error_message = (
            "rejected: "
            + ", ".join(f"{code} x{n}" for code, n in sorted(reasons.items()))
            + f"; first: data point {first.index}: {first.message}"
        )
    if media == otlp_metrics.PROTOBUF:
        import base64

        return {
            "statusCode": 200,
            "headers": {"Content-Type": otlp_metrics.PROTOBUF},
            "body": base64.b64encode(response.SerializeToString()).decode(),
            "isBase64Encoded": True,
        }
    from google.protobuf import json_format

    return http.respond(200, json_format.MessageToDict(response))
