"""SQS consumer: every domain event on the platform bus, appended to the audit log.

Partial batch responses: a record that cannot be parsed fails alone, is retried, and after
maxReceiveCount lands in the DLQ without holding up the rest of the batch.
"""

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from omp.runtime import container
from omp.services import audit

processor = BatchProcessor(event_type=EventType.SQS)


def record(record: SQSRecord) -> None:
    event = json.loads(record.body)
    if not isinstance(event, dict):
        raise ValueError("the message is not an EventBridge event")
    audit.record_event(event, log=container.audit_log())


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_partial_response(
        event=event, record_handler=record, processor=processor, context=context
    )
