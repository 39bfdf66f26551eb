"""boto3 clients, built on first use (never at import: cold starts and moto both care)."""

from __future__ import annotations

import functools
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


@functools.cache
def client(service: str) -> Any:
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
            return Conflict("a condition in the transaction failed", code="CONFLICT")
        if code in _THROTTLING:
            return TransientError(f"AWS is throttling ({code}); retry later", code="THROTTLED")
        return TransientError(f"AWS call failed ({code})", code="DEPENDENCY_FAILED")
    if isinstance(exc, BotoCoreError):
        return TransientError(
            f"AWS is unreachable ({type(exc).__name__})", code="DEPENDENCY_FAILED"
        )
    raise exc
