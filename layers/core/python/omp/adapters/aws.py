"""boto3 clients, built on first use (never at import: cold starts and moto both care)."""

from __future__ import annotations

import functools
import os
from typing import Any

from omp.domain.errors import Conflict, DomainError, TransientError

_THROTTLING = {
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "ServiceUnavailable",
    "InternalServerError",
    "InternalFailure",
}


def client(service: str) -> Any:
    """A client per service and endpoint: a new endpoint (a restarted local runtime, a test's
    emulator) gets a new client instead of a stale one."""
    variable = f"AWS_ENDPOINT_URL_{service.upper()}"
    return _client(service, os.environ.get("AWS_ENDPOINT_URL"), os.environ.get(variable))


def reset_clients() -> None:
    _client.cache_clear()


@functools.cache
def _client(service: str, endpoint: str | None, service_endpoint: str | None) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"mode": "standard", "max_attempts": 3}, connect_timeout=3, read_timeout=10
    )
    return boto3.session.Session().client(service, config=config)  # type: ignore[call-overload]


def translate(exc: Exception) -> DomainError:
    """An AWS error as a domain error: nothing above the adapters sees ClientError."""
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "ConditionalCheckFailedException":
            return Conflict("the item changed since it was read", code="VERSION_CONFLICT")
        if code == "TransactionCanceledException":
            return _cancelled(exc.response.get("CancellationReasons") or [])
        if code == "TransactionConflictException":  # a transaction holds the item: re-read
            return Conflict("the item is in another transaction", code="CONFLICT")
        if code in _THROTTLING:
            return TransientError(f"AWS is throttling ({code}); retry later", code="THROTTLED")
        return TransientError(f"AWS call failed ({code})", code="DEPENDENCY_FAILED")
    if isinstance(exc, BotoCoreError):
        return TransientError(
            f"AWS is unreachable ({type(exc).__name__})", code="DEPENDENCY_FAILED"
        )
    raise exc


def _cancelled(reasons: Any) -> DomainError:
    """A cancelled transaction as what cancelled it: a failed condition or another transaction
    on an item is a conflict (re-read and judge again); throttling is a 503 to retry later;
    anything else (a validation error) is not a conflict a re-read could resolve."""
    codes = {str(r.get("Code")) for r in reasons if isinstance(r, dict)}
    if codes & {"ConditionalCheckFailed", "TransactionConflict"}:
        return Conflict("a condition in the transaction failed", code="CONFLICT")
    if codes & {"ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"}:
        return TransientError("DynamoDB is throttling the transaction; retry", code="THROTTLED")
    reason = ", ".join(sorted(codes - {"None"})) or "unknown"
    return TransientError(f"the transaction was cancelled ({reason})", code="DEPENDENCY_FAILED")


def enqueue_job(queue_url: str, job_id: str) -> None:
    """Queue a job for its worker: one SQS message `{"job_id": ...}` (imports, backtests)."""
    import json

    from botocore.exceptions import BotoCoreError, ClientError

    try:
        client("sqs").send_message(QueueUrl=queue_url, MessageBody=json.dumps({"job_id": job_id}))
    except (ClientError, BotoCoreError) as exc:
        raise translate(exc) from exc
