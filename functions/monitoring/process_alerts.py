"""SQS consumer of `alert-ingest`: each message an `IngestEnvelope` the webhooks queued.

Partial batch responses: a record fails alone and is retried alone. A record that can never be
parsed (not an envelope, an unknown source, a payload the normaliser refuses) goes to the DLQ at
once with the reason as message attributes (`omp.adapters.dead_letters`); the rest of the batch
goes on. Any other failure is retried, and after the queue's maxReceiveCount SQS moves the
record to the DLQ. A redelivered envelope normalises to the same signals, which dedup ignores.
"""

import logging
from typing import Any

from omp.domain.ingest import IngestEnvelope
from omp.domain.signals import UnparseablePayload
from omp.runtime import batch, container
from omp.services import pipeline

logger = logging.getLogger("omp.process_alerts")


def parse(body: str) -> IngestEnvelope:
    try:
        return IngestEnvelope.from_json(body)
    except (ValueError, TypeError, KeyError) as exc:
        raise UnparseablePayload(f"not an ingest envelope: {type(exc).__name__}: {exc}") from exc


def handle(record: dict[str, Any], config: Any = None) -> None:
    message_id = record.get("messageId")
    try:
        envelope = parse(record.get("body") or "")
        results = pipeline.process(
            envelope, container.pipeline_ports(), config or container.pipeline_config()
        )
    except UnparseablePayload as exc:
        logger.error("poison record %s: %s", message_id, exc)
        raise
    logger.info(
        "record %s: %s from %s: %s",
        message_id,
        envelope.source,
        envelope.principal,
        pipeline.outcomes_summary(results),
    )


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # One config per batch: silences, windows and inhibition rules are read once, not per alert.
    config = container.pipeline_config()
    return batch.process_sqs(
        event,
        lambda record: handle(record, config),
        poison=(UnparseablePayload,),
        park=lambda record, reason: container.dead_letters().park(record, reason),
    )
