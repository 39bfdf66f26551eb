"""Test helpers: invoke a handler the way Lambda would, with its catalog environment."""

from __future__ import annotations

import importlib.util
import json
import uuid
from datetime import datetime
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from infra import wiring
from omp.runtime import env

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "omp-test-"


@cache
def load_handler(handler: str) -> ModuleType:
    path = ROOT / "functions" / f"{handler}.py"
    spec = importlib.util.spec_from_file_location(f"omp_fn_{handler.replace('/', '_')}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def resolve(kind: str, name: str) -> str:
    if kind == "cognito":
        return ""
    if kind == "queue":
        return f"https://sqs.us-east-1.amazonaws.com/123456789012/{PREFIX}{name}"
    if kind == "dlq":
        return f"https://sqs.us-east-1.amazonaws.com/123456789012/{PREFIX}{name}-dlq"
    return f"{PREFIX}{name}"


def create_tables(client: Any) -> None:
    for table in wiring.TABLES:
        client.create_table(**wiring.create_table_request(table, PREFIX + table.name))


OBJECT_LOCK = {
    "ObjectLockEnabled": "Enabled",
    "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}},
}


def create_queues_and_buckets(sqs: Any, s3: Any) -> None:
    """The catalog's queues and buckets under the names `resolve` gives (moto only)."""
    for queue in wiring.QUEUES:
        sqs.create_queue(QueueName=PREFIX + queue.name)
        sqs.create_queue(QueueName=PREFIX + queue.name + "-dlq")
    for bucket in wiring.BUCKETS:
        s3.create_bucket(Bucket=PREFIX + bucket.name, ObjectLockEnabledForBucket=bucket.object_lock)
        if bucket.object_lock:  # as the stacks do, with dev's governance mode
            s3.put_object_lock_configuration(
                Bucket=PREFIX + bucket.name, ObjectLockConfiguration=OBJECT_LOCK
            )


class Context:
    function_name = "test"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test"
    aws_request_id = "req-test"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def invoke(name: str, event: dict[str, Any]) -> Any:
    fn = wiring.function(name)
    with env.overlay(wiring.environment(fn, resolve, "test")):
        return load_handler(fn.handler).lambda_handler(event, Context())


def api_event(
    name: str,
    *,
    path_params: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
    principal: str = "tester",
    roles: str = "admin",
) -> dict[str, Any]:
    """A REST API (v1) proxy event for a catalog route, as API Gateway builds it."""
    route = wiring.function(name).trigger
    assert isinstance(route, wiring.HttpRoute)
    path = route.path
    for key, value in (path_params or {}).items():
        path = path.replace("{" + key + "}", value)
    raw = body if isinstance(body, str) or body is None else json.dumps(body)
    return {
        "resource": route.path,
        "path": path,
        "httpMethod": route.method,
        "headers": {"content-type": "application/json", **(headers or {})},
        "multiValueHeaders": {},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": path_params,
        "stageVariables": None,
        "body": raw,
        "isBase64Encoded": False,
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "resourcePath": route.path,
            "httpMethod": route.method,
            "stage": "test",
            "identity": {"sourceIp": "127.0.0.1"},
            "authorizer": {"principal": principal, "roles": roles},
        },
    }


def call_api(name: str, **kwargs: Any) -> tuple[int, dict[str, Any], dict[str, Any]]:
    """(status, JSON body, headers) of an API handler."""
    result = invoke(name, api_event(name, **kwargs))
    headers = dict(result.get("headers") or {})
    headers |= {k: v[-1] for k, v in (result.get("multiValueHeaders") or {}).items()}
    return result["statusCode"], json.loads(result["body"]), headers


def generic_alert(
    name: str, service: str, starts_at: datetime, status: str = "firing"
) -> dict[str, Any]:
    """One alert of the generic webhook format, its fingerprint and resource named after it."""
    return {
        "name": name,
        "status": status,
        "severity": "major",
        "resource": f"host-{name}",
        "labels": {"service": service},
        "fingerprint": name,
        "starts_at": starts_at.isoformat(),
    }


def drain_queue(queue: str) -> list[dict[str, Any]]:
    """Every message of a catalog queue, deleted, as SQS event records."""
    import boto3

    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=PREFIX + queue)["QueueUrl"]
    records = []
    while got := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        for msg in got:
            records.append({"messageId": msg["MessageId"], "body": msg["Body"]})
            sqs.delete_message(QueueUrl=url, ReceiptHandle=msg["ReceiptHandle"])
    return records


def invoke_sample(name: str) -> Any:
    """Invoke a function with its sample event (`events/<name>.json`), as a schedule would."""
    return invoke(name, json.loads((ROOT / "events" / f"{name}.json").read_text()))


def anomaly_alarms() -> list[dict[str, Any]]:
    """Every alarm with source `anomaly`, as `GET /v1/alarms/{id}` answers it, by id."""
    import boto3

    table = resolve("table", "monitoring")
    pages = boto3.client("dynamodb").get_paginator("scan").paginate(TableName=table)
    ids = sorted(
        i["pk"]["S"][len("ALARM#") :]
        for page in pages
        for i in page["Items"]
        if i["pk"]["S"].startswith("ALARM#") and i["sk"]["S"] == "A"
    )
    alarms = []
    for alarm_id in ids:
        status, body, _ = call_api("get-alarm", path_params={"alarm_id": alarm_id})
        assert status == 200, body
        if body["alarm"]["source"] == "anomaly":
            alarms.append(body["alarm"])
    return alarms
