"""Fixed identities of the local runtime: account, region, stage and physical resource names."""

from __future__ import annotations

ACCOUNT_ID = "123456789012"  # moto's default account
REGION = "us-east-1"
STAGE = "local"
PREFIX = "omp-local-"
API_ID = "local"


def physical(name: str) -> str:
    """The physical name of a catalog resource: `audit-events` -> `omp-local-audit-events`."""
    return f"{PREFIX}{name}"


def dlq(queue: str) -> str:
    return f"{queue}-dlq"


def delivery_queue(function: str) -> str:
    """The internal queue that stands in for an EventBridge/SNS -> Lambda target."""
    return physical(f"deliver-{function}")


def lambda_arn(function: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{physical(function)}"


def method_arn(verb: str, path: str) -> str:
    return f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{API_ID}/{STAGE}/{verb}/{path.lstrip('/')}"
