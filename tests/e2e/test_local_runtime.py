"""Runtime mechanics against the fixture catalog: gateway, auth, events, queues, schedules, SFN."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import httpx
import pytest

from infra.local.platform import LocalPlatform
from tests.e2e.conftest import READER_TOKEN, wait_for
from tests.e2e.fixtures.recording import seen

ADMIN = {"Authorization": "Bearer admin-token"}
READER = {"Authorization": f"Bearer {READER_TOKEN}"}


def _error(resp: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    error = resp.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert error["request_id"]
    return dict(error)


# ---- the gateway ----------------------------------------------------------------------------


def test_proxy_event_is_what_api_gateway_sends(client: httpx.Client) -> None:
    resp = client.get(
        "/v1/echo/it%20em?tag=a&tag=b&one=1", headers={**ADMIN, "X-Dup": "x", "User-Agent": "t"}
    )
    assert resp.status_code == 200, resp.text
    assert resp.headers["X-Function"] == "omp-local-echo"
    assert resp.headers.get_list("X-Multi") == ["a", "b"]
    body = resp.json()
    event = body["event"]
    assert body["function"] == "echo"  # the function's catalog environment was in effect
    assert body["remaining_ms"] > 0
    assert event["resource"] == "/v1/echo/{item_id}"
    assert event["path"] == "/v1/echo/it em"
    assert event["httpMethod"] == "GET"
    assert event["pathParameters"] == {"item_id": "it em"}
    assert event["queryStringParameters"] == {"tag": "b", "one": "1"}
    assert event["multiValueQueryStringParameters"] == {"tag": ["a", "b"], "one": ["1"]}
    assert event["headers"]["X-Dup"] == "x"
    assert event["multiValueHeaders"]["X-Dup"] == ["x"]
    assert event["body"] is None and event["isBase64Encoded"] is False
    ctx = event["requestContext"]
    assert ctx["resourcePath"] == "/v1/echo/{item_id}"
    assert ctx["httpMethod"] == "GET"
    assert ctx["stage"] == "local"
    assert ctx["identity"]["sourceIp"] == "127.0.0.1"
    assert len(ctx["requestId"]) == 36
    # the authorizer's context arrives as API Gateway passes it: principalId and strings
    assert ctx["authorizer"]["principalId"] == "local-admin"
    assert ctx["authorizer"]["roles"] == "admin"
    assert ctx["authorizer"]["admin"] == "true"
    assert ctx["authorizer"]["level"] == "3"


def test_post_body_and_binary_body(client: httpx.Client) -> None:
    event = client.post("/v1/echo", headers=ADMIN, content=b'{"a": 1}').json()["event"]
    assert event["body"] == '{"a": 1}' and event["isBase64Encoded"] is False
    event = client.post("/v1/echo", headers=ADMIN, content=b"\xff\xfe").json()["event"]
    assert event["body"] == "//4=" and event["isBase64Encoded"] is True


def test_public_route_skips_the_authorizer(client: httpx.Client) -> None:
    resp = client.get("/v1/public")
    assert resp.status_code == 200
    assert "authorizer" not in resp.json()["event"]["requestContext"]


def test_gateway_error_envelopes(client: httpx.Client) -> None:
    _error(client.get("/v1/echo/1"), 401, "UNAUTHORIZED")  # no token: no authorizer call
    _error(client.get("/v1/echo/1", headers={"Authorization": "Bearer nope"}), 401, "UNAUTHORIZED")
    _error(client.post("/v1/echo", headers=READER, content=b"{}"), 403, "FORBIDDEN")
    assert client.get("/v1/echo/1", headers=READER).status_code == 200
    _error(client.get("/v1/nowhere", headers=ADMIN), 404, "ROUTE_NOT_FOUND")
    _error(client.delete("/v1/echo/1", headers=ADMIN), 405, "METHOD_NOT_ALLOWED")
    big = b"x" * (10 * 1024 * 1024 + 1)
    _error(client.post("/v1/echo", headers=ADMIN, content=big), 413, "PAYLOAD_TOO_LARGE")
    _error(client.get("/v1/boom", headers=ADMIN), 502, "INTERNAL_ERROR")
    # the connection survives all of that
    assert client.get("/v1/public").status_code == 200


def test_docs_page_points_at_the_openapi_document(client: httpx.Client) -> None:
    resp = client.get("/docs")
    assert resp.status_code == 200
    assert "/v1/openapi.json" in resp.text and "swagger-ui" in resp.text


# ---- local endpoints --------------------------------------------------------------------------


def test_functions_listing(client: httpx.Client) -> None:
    functions = {f["name"]: f for f in client.get("/_local/functions").json()["functions"]}
    assert functions["echo"]["trigger"] == {
        "type": "http",
        "method": "GET",
        "path": "/v1/echo/{item_id}",
        "permission": "echo:read",
    }
    assert functions["consume-work"]["trigger"]["type"] == "queue"
    assert functions["ticker"]["trigger"] == {"type": "schedule", "expression": "rate(1 day)"}
    assert functions["on-prefix"]["trigger"]["type"] == "event"
    assert functions["double"]["trigger"] == {"type": "state-machine-task", "machine": "pipeline"}


def test_invoke_returns_the_result_or_the_lambda_error(client: httpx.Client) -> None:
    resp = client.post("/_local/invoke/double", json={"value": 21})
    assert resp.status_code == 200 and resp.json() == {"value": 42}
    resp = client.post("/_local/invoke/check", json={"value": 1000})
    assert resp.headers["X-Amz-Function-Error"] == "Unhandled"
    assert resp.json()["errorType"] == "ValueError"
    _error(client.post("/_local/invoke/nope", json={}), 404, "FUNCTION_NOT_FOUND")
    _error(client.post("/_local/invoke/double", content=b"{"), 400, "MALFORMED_JSON")


def test_tick_runs_a_scheduled_function_with_a_scheduled_event(client: httpx.Client) -> None:
    assert client.post("/_local/tick/ticker").status_code == 200
    event = seen("ticker")[-1]
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["resources"][0].endswith(":rule/omp-local-ticker-schedule")
    _error(client.post("/_local/tick/double"), 400, "NOT_SCHEDULED")


# ---- EventBridge ------------------------------------------------------------------------------


def test_event_patterns_route_with_eventbridge_semantics(client: httpx.Client) -> None:
    def post(event: dict[str, Any]) -> list[str]:
        resp = client.post("/_local/events", json=event)
        assert resp.status_code == 200, resp.text
        return list(resp.json()["delivered_to"]["functions"])

    assert post({"source": "acme.billing", "detail-type": "Paid", "detail": {"n": 1}}) == [
        "on-prefix"
    ]
    assert post({"Source": "fixture", "DetailType": "Kept", "Detail": '{"k": 1}'}) == [
        "on-anything-but"
    ]
    assert post({"source": "fixture", "detail-type": "Ignored", "detail": {}}) == []
    assert post({"source": "fixture.numeric", "detail-type": "N", "detail": {"value": 11}}) == [
        "on-numeric"
    ]
    assert post({"source": "fixture.numeric", "detail-type": "N", "detail": {"value": 10}}) == []
    assert post({"source": "aws.cloudwatch", "detail-type": "Alarm", "detail": {}}) == [
        "on-default-bus"
    ]
    assert post({"source": "other", "detail-type": "X", "detail": {}}) == []

    prefix = wait_for(lambda: seen("on-prefix"))
    assert prefix[0]["source"] == "acme.billing" and prefix[0]["detail"] == {"n": 1}
    assert prefix[0]["detail-type"] == "Paid" and "ingestion-time" not in prefix[0]
    assert wait_for(lambda: seen("on-anything-but"))[0]["detail-type"] == "Kept"
    assert wait_for(lambda: seen("on-numeric"))[0]["detail"] == {"value": 11}
    assert wait_for(lambda: seen("on-default-bus"))[0]["source"] == "aws.cloudwatch"
    time.sleep(1.5)  # nothing else arrives
    assert len(seen("on-anything-but")) == 1
    assert len(seen("on-numeric")) == 1


def test_events_put_by_handlers_with_boto3_reach_matching_functions(client: httpx.Client) -> None:
    event = {"source": "acme.handler", "detail-type": "FromHandler", "detail": {"via": "boto3"}}
    resp = client.post("/v1/emit", headers=ADMIN, json=event)
    assert resp.status_code == 202 and resp.json() == {"failed": 0}
    got = wait_for(lambda: [e for e in seen("on-prefix") if e["source"] == "acme.handler"])
    assert got[0]["detail"] == {"via": "boto3"}


def test_bad_events_are_refused(client: httpx.Client) -> None:
    _error(client.post("/_local/events", json={"detail": {}}), 400, "VALIDATION_FAILED")
    _error(client.post("/_local/events", content=b"nope"), 400, "MALFORMED_JSON")


def test_topic_subscribers_get_an_sns_event(platform: LocalPlatform) -> None:
    boto3.client("sns").publish(
        TopicArn=platform.resources.topics["alerts"], Message="hello", Subject="greeting"
    )
    record = wait_for(lambda: seen("on-topic"))[0]["Records"][0]
    assert record["EventSource"] == "aws:sns"
    assert record["Sns"]["Message"] == "hello" and record["Sns"]["Subject"] == "greeting"
    assert record["Sns"]["TopicArn"] == platform.resources.topics["alerts"]


# ---- SQS --------------------------------------------------------------------------------------


def test_queue_batches_partial_failures_retry_and_dlq(platform: LocalPlatform) -> None:
    sqs = boto3.client("sqs")
    url = platform.resources.queue_urls["work"]
    bodies = [{"id": i} for i in range(4)] + [{"id": "flaky", "flaky": True}]
    bodies.append({"id": "poison", "poison": True})
    sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {
                "Id": str(i),
                "MessageBody": json.dumps(b),
                "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "t"}},
            }
            for i, b in enumerate(bodies)
        ],
    )
    # a rule on the platform bus feeds the same queue (QUEUE_RULES)
    platform.put_event({"source": "fixture.work", "detail-type": "Work", "detail": {"id": "ev"}})

    def done() -> list[Any]:
        got = seen("consume-work")
        return got if len(got) >= 6 else []

    records = wait_for(done, timeout=15)
    ids = sorted(
        str(r["body"]["detail"]["id"] if "detail" in r["body"] else r["body"]["id"])
        for r in records
    )
    assert ids == ["0", "1", "2", "3", "ev", "flaky"]
    flaky = next(r for r in records if r["body"].get("id") == "flaky")["record"]
    assert flaky["attributes"]["ApproximateReceiveCount"] == "2"  # failed once, then retried
    first = records[0]["record"]
    assert first["eventSource"] == "aws:sqs" and first["awsRegion"] == "us-east-1"
    assert first["eventSourceARN"].endswith(":omp-local-work")
    assert first["md5OfBody"] and first["receiptHandle"]
    assert first["messageAttributes"]["kind"]["stringValue"] == "t"

    dlq = platform.resources.dlq_urls["work"]

    def in_dlq() -> list[Any]:
        return sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=1).get("Messages", [])

    poisoned = wait_for(in_dlq, timeout=15)
    assert json.loads(poisoned[0]["Body"]) == {"id": "poison", "poison": True}
    assert not [r for r in seen("consume-work") if r["body"].get("poison")]


# ---- Step Functions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "output"), [(3, {"value": 7, "checked": True}), (60, {"too_big": True})]
)
def test_state_machine_tasks_run_in_process(
    platform: LocalPlatform, value: int, output: dict[str, Any]
) -> None:
    sfn = boto3.client("stepfunctions")
    arn = sfn.start_execution(
        stateMachineArn=platform.resources.machines["pipeline"], input=json.dumps({"value": value})
    )["executionArn"]

    def finished() -> dict[str, Any] | None:
        out = sfn.describe_execution(executionArn=arn)
        return None if out["status"] == "RUNNING" else dict(out)

    result = wait_for(finished, timeout=20)
    assert result["status"] == "SUCCEEDED", result
    assert json.loads(result["output"]) == output
    sources = {(i.function, i.source) for i in platform.history}
    assert ("double", "lambda") in sources and ("add-one", "lambda") in sources
