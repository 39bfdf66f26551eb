"""EventBridge: a CloudWatch "Alarm State Change" (forwarded from the default bus, or put on the
platform bus by another account) is queued for the alert consumer like a webhook payload."""

import json
from typing import Any

from omp.domain.access import Principal
from omp.runtime import container
from omp.services import ingest

EVENTBRIDGE = Principal(id="aws:eventbridge", roles=frozenset({"integration"}))


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # A malformed event raises: Lambda retries the async invocation, then its failure
    # destination keeps it; the pattern only lets alarm state changes through.
    accepted = ingest.accept(
        "cloudwatch",
        event,
        json.dumps(event).encode(),
        principal=EVENTBRIDGE,
        request_id=str(event.get("id")),
        now=container.clock().now(),
        queue=container.ingest_queue(),
    )
    return {"message_id": accepted.message_id, "alerts": len(accepted.signals)}
