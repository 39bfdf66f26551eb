"""The two webhook routes: a named source, or a format detected from the payload."""

from __future__ import annotations

from pydantic import Field

from omp.domain.model import Model
from omp.runtime import container, http
from omp.services import ingest


class IngestAccepted(Model):
    """202: queued. `status`/`message`/`dedup_key` mirror PagerDuty's Events API answer."""

    status: str = "success"
    message: str = "Event processed"
    source: str
    message_id: str
    alerts: int = Field(description="Alerts found in the payload")
    dedup_key: str | None = Field(
        default=None, description="PagerDuty: the key to acknowledge or resolve this alert with"
    )


def webhook_route(path: str, summary: str) -> http.Route:
    return http.Route(
        "POST",
        path,
        summary=summary,
        tag="ingest",
        status=202,
        response=IngestAccepted,
        raw_body_schema={"type": "object", "description": "The source's own webhook payload"},
    )


def accept(request: http.Request, source: str | None) -> IngestAccepted:
    assert request.principal is not None
    accepted = ingest.accept(
        source,
        http.json_body(request),
        http.raw_body(request),
        principal=request.principal,
        request_id=request.request_id,
        now=container.clock().now(),
        queue=container.ingest_queue(),
    )
    keys = {s.fingerprint for s in accepted.signals}
    return IngestAccepted(
        source=accepted.source,
        message_id=accepted.message_id,
        alerts=len(accepted.signals),
        dedup_key=keys.pop() if accepted.source == "pagerduty" and len(keys) == 1 else None,
    )
