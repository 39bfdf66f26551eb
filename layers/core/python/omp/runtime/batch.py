"""SQS partial batch responses: a record that fails is reported alone and retried alone.

A poison message therefore never blocks the rest of its batch; after the queue's
maxReceiveCount it lands in the DLQ. (Lambda needs `ReportBatchItemFailures` on the event
source mapping, which the catalog-driven stacks set for every queue trigger.)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("omp.batch")


def process_sqs(
    event: dict[str, Any], handle: Callable[[dict[str, Any]], object]
) -> dict[str, list[dict[str, str]]]:
    failures = []
    for record in event.get("Records") or []:
        try:
            handle(record)
        except Exception as exc:
            logger.warning(
                "record %s failed: %s: %s", record.get("messageId"), type(exc).__name__, exc
            )
            failures.append({"itemIdentifier": str(record.get("messageId"))})
    return {"batchItemFailures": failures}
