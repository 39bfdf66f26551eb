"""The authorizer, the audit consumer and the audit list under moto."""

import json

import pytest

from omp.runtime import env
from tests import support
from tests.support import call_api, invoke

METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/POST/v1/alarms"


def _authorize(header):
    event = {
        "type": "REQUEST",
        "methodArn": METHOD_ARN,
        "headers": {"Authorization": header} if header else {},
    }
    return invoke("authorize", event)


@pytest.fixture
def seeded(dynamodb):
    from infra import wiring
    from omp.runtime import bootstrap

    with env.overlay(wiring.environment(wiring.function("authorize"), support.resolve, "test")):
        bootstrap.seed_api_key(token="tok-admin", principal="ops-bot", roles=["operator"])


def test_known_key_is_allowed_for_the_whole_api_with_roles_in_context(seeded):
    result = _authorize("Bearer tok-admin")
    assert result["principalId"] == "ops-bot"
    statement = result["policyDocument"]["Statement"][0]
    assert statement["Effect"] == "Allow"
    assert statement["Resource"] == "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/*"
    assert result["context"] == {
        "principal": "ops-bot",
        "roles": "operator",
        "source": "",
        "fingerprint_labels": "",
        "stage": "test",
    }


@pytest.mark.parametrize(
    "header",
    [None, "Bearer nope", "Basic dG9rLWFkbWlu", "tok-admin", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig"],
)
def test_anything_else_is_unauthorized(seeded, header):
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        _authorize(header)


def _sqs_event(bodies):
    return {
        "Records": [
            {
                "messageId": f"m-{i}",
                "receiptHandle": f"r-{i}",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q",
                "awsRegion": "us-east-1",
            }
            for i, body in enumerate(bodies)
        ]
    }


def _bus_event(i, detail_type="AlarmRaised"):
    return json.dumps(
        {
            "version": "0",
            "id": f"evt-{i}",
            "detail-type": detail_type,
            "source": "omp.monitoring",
            "account": "123456789012",
            "time": f"2026-03-10T0{i}:00:00Z",
            "region": "us-east-1",
            "resources": [],
            "detail": {"actor": "me", "alarm": {"id": f"alm_{i}"}},
        }
    )


def test_audit_consumer_fails_only_the_poison_record_and_redelivery_is_a_no_op(dynamodb):
    event = _sqs_event(
        [_bus_event(1), "not json", _bus_event(2), '"a string"', json.dumps({"id": "x"})]
    )
    result = invoke("record-audit-event", event)
    assert sorted(f["itemIdentifier"] for f in result["batchItemFailures"]) == ["m-1", "m-3", "m-4"]
    again = invoke("record-audit-event", _sqs_event([_bus_event(1)]))
    assert again["batchItemFailures"] == []
    status, body, _ = call_api("list-audit-events", query={"to": "2026-03-11T00:00:00Z"})
    assert status == 200
    assert [e["event_id"] for e in body["audit_events"]] == ["evt-2", "evt-1"]
    assert body["audit_events"][0]["actor"] == "me"


def test_audit_events_need_the_audit_permission(dynamodb):
    status, body, _ = call_api("list-audit-events", roles="viewer")
    assert status == 403 and body["error"]["code"] == "FORBIDDEN"
