"""A CloudWatch alarm's Lambda action: CloudWatch invokes this function (asynchronously) with
the alarm-action payload (`source: aws.cloudwatch`, `alarmArn`, `alarmData`), which is queued
for the alert consumer like a webhook payload.

Set the function's ARN as an alarm action (AlarmActions / OKActions); its resource policy lets
`lambda.alarms.cloudwatch.amazonaws.com` invoke it for this account's alarms. A payload that is
not an alarm action raises: Lambda retries it twice, then its async DLQ keeps it with the reason.
"""

import json
from typing import Any

from omp.domain.access import Principal
from omp.domain.signals import UnparseablePayload
from omp.runtime import container
from omp.services import ingest

CLOUDWATCH = Principal(id="aws:cloudwatch-alarm-action", roles=frozenset({"integration"}))


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if not isinstance(event, dict) or "alarmData" not in event:
        raise UnparseablePayload("not a CloudWatch alarm action payload: no alarmData")
    accepted = ingest.accept(
        "cloudwatch",
        event,
        json.dumps(event).encode(),
        principal=CLOUDWATCH,
        request_id=getattr(context, "aws_request_id", None),
        now=container.clock().now(),
        queue=container.ingest_queue(),
    )
    return {"message_id": accepted.message_id, "alerts": len(accepted.signals)}
