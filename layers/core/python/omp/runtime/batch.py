"""SQS partial batch responses: a record that fails is reported alone and retried alone.

A poison message therefore never blocks the rest of its batch; after the queue's
maxReceiveCount it lands in the DLQ. A consumer that can tell a record will never succeed
(`poison` exceptions) parks it in the DLQ at once with the reason (`park`, the catalog's
`dead_letters`); if parking fails, the record fails as any other. (Lambda needs
`ReportBatchItemFailures` on the event source mapping, which the catalog-driven stacks set for
every queue trigger.)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("omp.batch")


def process_sqs(
    event: dict[str, Any],
    handle: Callable[[dict[str, Any]], object],
    poison: tuple[type[Exception], ...] = (),
    park: Callable[[dict[str, Any], str], None] | None = None,
) -> dict[str, list[dict[str, str]]]:
    failures = []
    for record in event.get("Records") or []:
        try:
            handle(record)
        except poison as exc:
            if park is not None and _parked(record, exc, park):
                continue
            failures.append({"itemIdentifier": str(record.get("messageId"))})
        except Exception as exc:
            logger.warning(
                "record %s failed: %s: %s", record.get("messageId"), type(exc).__name__, exc
            )
            failures.append({"itemIdentifier": str(record.get("messageId"))})
    return {"batchItemFailures": failures}


def _parked(
    record: dict[str, Any], exc: Exception, park: Callable[[dict[str, Any], str], None]
) -> bool:
    try:
        park(record, f"{type(exc).__name__}: {exc}")
    except Exception as failure:
        logger.error(
            "record %s: could not park it in the DLQ (%s: %s); it is retried",
            record.get("messageId"),
            type(failure).__name__,
            failure,
        )
        return False
    logger.error(
        "record %s parked in the DLQ: %s: %s", record.get("messageId"), type(exc).__name__, exc
    )
    return True
