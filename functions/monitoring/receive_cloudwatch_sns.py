"""SNS topic `cloudwatch-alarms`: a CloudWatch alarm notification (the alarm JSON inside
`Message`) is queued for the alert consumer like a webhook payload.

Asynchronous (SNS invokes the function): a message that is not an alarm notification raises,
Lambda retries it twice, and the function's async DLQ keeps it with the error (the reason).
SNS control messages (SubscriptionConfirmation, UnsubscribeConfirmation) never reach a Lambda
subscription; one that does anyway is logged and skipped, never queued and never an error.
"""

import json
import logging
from typing import Any

from omp.domain.access import Principal
from omp.domain.signals import UnparseablePayload
from omp.runtime import container
from omp.services import ingest

logger = logging.getLogger("omp.receive_cloudwatch_sns")

SNS = Principal(id="aws:sns", roles=frozenset({"integration"}))


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list):
        raise UnparseablePayload("not an SNS event: no Records")
    queued, skipped = [], 0
    for index, record in enumerate(records):
        sns = record.get("Sns") if isinstance(record, dict) else None
        if not isinstance(sns, dict):
            raise UnparseablePayload(f"Records[{index}] is not an SNS record")
        kind = sns.get("Type", "Notification")
        if kind != "Notification":
            logger.warning("skipped SNS %s %s (nothing to queue)", kind, sns.get("MessageId"))
            skipped += 1
            continue
        message = sns.get("Message")
        try:
            payload = json.loads(message) if isinstance(message, str) else message
        except ValueError as exc:
            raise UnparseablePayload(f"Records[{index}].Sns.Message is not JSON: {exc}") from exc
        accepted = ingest.accept(
            "cloudwatch",
            payload,
            json.dumps(payload).encode(),
            principal=SNS,
            request_id=str(sns.get("MessageId")),
            now=container.clock().now(),
            queue=container.ingest_queue(),
        )
        queued.append(accepted.message_id)
    return {"message_ids": queued, "skipped": skipped}
