"""A queue consumer's own DLQ: a record it can never process is parked there at once, with why.

SQS's redrive moves a message to the DLQ after maxReceiveCount failed receives, but carries no
reason, and the message is retried (and logged as failing) that many times first. A consumer
that knows a record is poison (`UnparseablePayload`) parks it here instead: the original body,
unchanged, with the reason and provenance as message attributes, so whoever drains the DLQ sees
why (`aws sqs receive-message --message-attribute-names All`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from omp.adapters.aws import client
from omp.domain.timeutil import iso

MAX_REASON = 1_000  # characters: a message attribute value is part of the 256 KiB message


class SqsDeadLetters:
    def __init__(self, queue_url: str, function: str = "") -> None:
        self.queue_url = queue_url
        self.function = function

    def park(self, record: dict[str, Any], reason: str) -> None:
        """Send the record's body to the DLQ with the reason. Raises when SQS refuses, so the
        caller reports the record failed and it is retried (and redriven) as before."""
        attributes = record.get("attributes") or {}
        values = {
            "omp-reason": reason[:MAX_REASON] or "unknown",
            "omp-source-message-id": str(record.get("messageId") or "unknown"),
            "omp-source-queue": str(record.get("eventSourceARN") or "unknown"),
            "omp-receive-count": str(attributes.get("ApproximateReceiveCount") or "1"),
            "omp-parked-at": iso(datetime.now(UTC)),
            "omp-function": self.function or "unknown",
        }
        client("sqs").send_message(
            QueueUrl=self.queue_url,
            MessageBody=record.get("body") or "(empty body)",
            MessageAttributes={
                k: {"DataType": "String", "StringValue": v} for k, v in values.items()
            },
        )
