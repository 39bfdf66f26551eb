"""The incident API under moto: incidents the alert consumer opened, read and moved by people."""

import datetime as dt
import json

import boto3
import pytest

from omp.domain.ingest import IngestEnvelope
from tests.support import call_api, invoke

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def _alerts(*names, status="firing", service="checkout"):
    return {
        "alerts": [
            {
                "name": n,
                "status": status,
                "severity": "critical",
                "resource": f"host-{n}",
                "labels": {"service": service},
                "fingerprint": n,
                "starts_at": NOW.isoformat(),
            }
            for n in names
        ]
    }


def _consume(payload):
    envelope = IngestEnvelope("generic", NOW.isoformat(), "key:test", "req-1", payload=payload)
    record = {
        "messageId": "m1",
        "receiptHandle": "r1",
        "body": envelope.to_json(),
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "awsRegion": "us-east-1",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:omp-test-alert-ingest",
    }
    assert invoke("process-alerts", {"Records": [record]}) == {"batchItemFailures": []}


@pytest.fixture
def incident(platform):
    _consume(_alerts("a", "b"))  # same service label: one incident
    status, listed, _ = call_api("list-incidents")
    assert status == 200
    (only,) = listed["incidents"]
    return only


def test_alarms_of_one_service_share_one_incident(incident):
    assert incident["id"].startswith("inc_") and incident["status"] == "open"
    assert incident["alarm_count"] == 2 and incident["severity"] == "critical"
    assert incident["open_alarm_count"] == 2 and "alarms" not in incident  # paged on GET
    assert incident["affected_resources"] == ["host-a", "host-b"]
    status, got, _ = call_api("get-incident", path_params={"incident_id": incident["id"]})
    # no CMDB CI names host-a or host-b: no affected services (docs/noise-reduction.md)
    assert status == 200 and got["incident"].pop("affected_services") == []
    alarms = got["incident"].pop("alarms")
    assert sorted(a["resource"] for a in alarms) == ["host-a", "host-b"]
    assert got["incident"].pop("alarms_next_token") is None
    assert got["incident"] == incident


def test_acknowledge_then_resolve_publishes_and_guards_the_lifecycle(incident, platform):
    iid = {"incident_id": incident["id"]}
    status, acked, _ = call_api("acknowledge-incident", path_params=iid, body={"comment": "on it"})
    assert status == 200 and acked["incident"]["status"] == "acknowledged"
    assert acked["incident"]["acknowledged_by"] == "tester"
    assert acked["incident"]["timeline"][-1]["note"] == "on it"
    status, stale, _ = call_api(
        "resolve-incident", path_params=iid, body={"version": incident["version"]}
    )
    assert status == 409 and stale["error"]["code"] == "VERSION_CONFLICT"
    status, done, _ = call_api("resolve-incident", path_params=iid)
    assert status == 200 and done["incident"]["status"] == "resolved"
    status, again, _ = call_api("acknowledge-incident", path_params=iid)
    assert status == 409 and again["error"]["code"] == "INVALID_TRANSITION"
    sqs = boto3.client("sqs")
    kinds = []
    while got := sqs.receive_message(QueueUrl=platform["queue_url"], MaxNumberOfMessages=10).get(
        "Messages"
    ):
        kinds += [json.loads(m["Body"])["detail-type"] for m in got]
    assert {"IncidentOpened", "IncidentUpdated", "IncidentResolved"} <= set(kinds)


def test_filters_and_pages(platform):
    _consume(_alerts("a", service="one"))
    _consume(_alerts("b", service="two"))
    status, page, _ = call_api("list-incidents", query={"limit": "1"})
    assert status == 200 and len(page["incidents"]) == 1 and page["next_token"]
    status, rest, _ = call_api(
        "list-incidents", query={"limit": "1", "next_token": page["next_token"]}
    )
    assert len(rest["incidents"]) == 1 and rest["incidents"][0]["id"] != page["incidents"][0]["id"]
    status, none, _ = call_api("list-incidents", query={"status": "resolved"})
    assert status == 200 and none["incidents"] == []


@pytest.mark.parametrize(
    ("name", "kwargs", "status", "code"),
    [
        (
            "get-incident",
            {"path_params": {"incident_id": "inc_01ARZ3NDEKTSV4RRFFQ69G5FAV"}},
            404,
            "INCIDENT_NOT_FOUND",
        ),
        (
            "get-incident",
            {"path_params": {"incident_id": "alm_01ARZ3NDEKTSV4RRFFQ69G5FAV"}},
            404,
            "INCIDENT_NOT_FOUND",
        ),
        ("resolve-incident", {"path_params": {"incident_id": "nope"}}, 404, "INCIDENT_NOT_FOUND"),
        (
            "acknowledge-incident",
            {"path_params": {"incident_id": "nope"}, "roles": "viewer"},
            403,
            "FORBIDDEN",
        ),
        ("list-incidents", {"query": {"status": "sleeping"}}, 422, "VALIDATION_FAILED"),
        ("list-incidents", {"query": {"next_token": "garbage"}}, 400, "INVALID_NEXT_TOKEN"),
    ],
)
def test_bad_input(platform, name, kwargs, status, code):
    got, body, _ = call_api(name, **kwargs)
    assert (got, body["error"]["code"]) == (status, code), body
