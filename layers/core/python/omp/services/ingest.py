"""Webhook ingestion: check a payload can be normalised, then queue it for the alert consumer.

The webhook answers 202 only once the payload is safely queued; normalising here as well costs
little and lets a sender hear at once (400, with the reason) that a payload can never be parsed,
instead of finding it later in a dead-letter queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from omp import sources
from omp.domain.errors import BadRequest, Forbidden, NotFound
from omp.domain.ingest import IngestEnvelope
from omp.domain.keys import ANY_SOURCE
from omp.domain.signals import INGEST_SOURCES, Signal, UnparseablePayload
from omp.domain.timeutil import iso

if TYPE_CHECKING:
    from omp.domain.access import Principal


class IngestQueue(Protocol):
    def submit(self, envelope: IngestEnvelope, raw: bytes) -> str:
        """Queue the envelope (offloading a large payload); returns the message id."""


@dataclass(frozen=True)
class Accepted:
    source: str
    message_id: str
    signals: list[Signal]


def detect(payload: Any) -> str:
    from omp.sources.detect import detect as detect_format

    try:
        return detect_format(payload)
    except UnparseablePayload as exc:
        raise BadRequest(str(exc), code="UNPARSEABLE_PAYLOAD") from exc


def accept(
    source: str | None,
    payload: Any,
    raw: bytes,
    *,
    principal: Principal,
    request_id: str | None,
    now: datetime,
    queue: IngestQueue,
) -> Accepted:
    """Validate and queue one webhook body. `source` None: detect the format."""
    if source is None:
        source = detect(payload)
    elif source not in INGEST_SOURCES:
        raise NotFound(
            f"unknown source {source!r}; one of {', '.join(INGEST_SOURCES)}",
            code="UNKNOWN_SOURCE",
        )
    scope = principal.attributes.get("source", ANY_SOURCE)
    if scope not in (ANY_SOURCE, source):
        raise Forbidden(
            f"this key may post {scope} payloads, not {source}",
            code="SOURCE_NOT_ALLOWED",
            details={"key_source": scope, "source": source},
        )
    labels = key_fingerprint_labels(principal) if source == "generic" else None
    try:
        signals = sources.normalise(source, payload, now, labels)
    except UnparseablePayload as exc:
        raise BadRequest(f"not a {source} payload: {exc}", code="UNPARSEABLE_PAYLOAD") from exc
    envelope = IngestEnvelope(
        source=source,
        received_at=iso(now),
        principal=principal.id,
        request_id=request_id,
        payload=payload,
        fingerprint_labels=labels,
    )
    return Accepted(source, queue.submit(envelope, raw), signals)


def key_fingerprint_labels(principal: Principal) -> list[str] | None:
    """The integration key's generic fingerprint label set (the authorizer passes it on)."""
    value = principal.attributes.get("fingerprint_labels", "")
    return [x for x in value.split(",") if x] or None
