"""SQS consumer: every domain event on the platform bus, appended to the audit log.

Partial batch responses: a record that cannot be parsed fails alone, is retried, and after
maxReceiveCount lands in the DLQ without holding up the rest of the batch. A redelivered event
is recorded once (a conditional write on the event id).
"""

import json
from typing import Any

from omp.runtime import batch, container
from omp.services import audit


def record(message: dict[str, Any]) -> None:
    event = json.loads(message["body"])
    if not isinstance(event, dict):
        raise ValueError("the message is not an EventBridge event")
    audit.record_event(event, log=container.audit_log())


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return batch.process_sqs(event, record)
