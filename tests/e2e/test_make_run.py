"""`python -m infra.local` (what `make run` calls) with the real catalog, driven over HTTP."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import LocalServer, wait_for

ROOT = Path(__file__).resolve().parents[2]
HANDLERS = ("monitoring/create_alarm", "monitoring/get_alarm", "security/list_audit_events")
pytestmark = pytest.mark.skipif(
    not all((ROOT / "functions" / f"{h}.py").is_file() for h in HANDLERS),
    reason="the Alarm API handlers are not in the tree yet",
)


@pytest.fixture(scope="module")
def api(local_server: LocalServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=local_server.base_url, headers=local_server.headers, timeout=30
    ) as client:
        yield client


def alarm_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "HighCPU",
        "severity": "major",
        "message": "CPU above 90% for 5 minutes",
        "source": "cloudwatch",
        "resource": f"i-{uuid.uuid4().hex[:12]}",
        "labels": {"env": "e2e"},
        "triggered_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    body.update(overrides)
    return body


def assert_error(resp: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    error = resp.json()["error"]
    assert error["code"] == code, error
    assert error["request_id"]
    return dict(error)


def test_starts_quickly_and_lists_the_catalog(local_server: LocalServer, api: httpx.Client) -> None:
    assert local_server.startup_s < 30
    names = {f["name"] for f in api.get("/_local/functions").json()["functions"]}
    assert {"authorize", "create-alarm", "record-audit-event"} <= names
    assert api.get("/v1/openapi.json", headers={"Authorization": ""}).status_code == 200
    assert api.get("/docs").status_code == 200


def test_alarm_lifecycle(api: httpx.Client) -> None:
    created = api.post("/v1/alarms", json=alarm_body())
    assert created.status_code == 201, created.text
    alarm = created.json()["alarm"]
    assert alarm["id"].startswith("alm_") and len(alarm["id"]) == 30
    assert alarm["status"] == "open" and alarm["version"] == 1

    got = api.get(f"/v1/alarms/{alarm['id']}")
    assert got.status_code == 200 and got.json()["alarm"]["id"] == alarm["id"]

    listed = api.get("/v1/alarms", params={"resource": alarm["resource"]})
    assert listed.status_code == 200, listed.text
    assert [a["id"] for a in listed.json()["alarms"]] == [alarm["id"]]
    assert "next_token" in listed.json()

    acked = api.post(f"/v1/alarms/{alarm['id']}/ack", json={})
    assert acked.status_code == 200, acked.text
    assert acked.json()["alarm"]["status"] == "acknowledged"
    resolved = api.post(f"/v1/alarms/{alarm['id']}/resolve", json={})
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["alarm"]["status"] == "resolved"
    assert_error(api.post(f"/v1/alarms/{alarm['id']}/ack", json={}), 409, "INVALID_TRANSITION")
    by_status = api.get("/v1/alarms", params={"status": "resolved", "limit": 100})
    assert alarm["id"] in [a["id"] for a in by_status.json()["alarms"]]


def test_list_pagination(api: httpx.Client) -> None:
    resource = f"i-{uuid.uuid4().hex[:12]}"
    ids = {
        api.post("/v1/alarms", json=alarm_body(resource=resource)).json()["alarm"]["id"]
        for _ in range(3)
    }
    seen: list[str] = []
    token = None
    for _ in range(5):
        params: dict[str, Any] = {"resource": resource, "limit": 2}
        if token:
            params["next_token"] = token
        page = api.get("/v1/alarms", params=params)
        assert page.status_code == 200, page.text
        seen += [a["id"] for a in page.json()["alarms"]]
        token = page.json()["next_token"]
        if not token:
            break
    assert sorted(seen) == sorted(ids)


def test_idempotency_key_replays_the_first_result(api: httpx.Client) -> None:
    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = alarm_body()
    first = api.post("/v1/alarms", json=body, headers=key)
    second = api.post("/v1/alarms", json=body, headers=key)
    assert first.status_code == 201 and second.status_code == 201, second.text
    assert first.json()["alarm"]["id"] == second.json()["alarm"]["id"]


def test_request_errors(api: httpx.Client) -> None:
    assert_error(api.get("/v1/alarms/alm_01ARZ3NDEKTSV4RRFFQ69G5FAV"), 404, "ALARM_NOT_FOUND")
    bad_json = api.post(
        "/v1/alarms", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert_error(bad_json, 400, "MALFORMED_JSON")
    invalid = assert_error(
        api.post("/v1/alarms", json=alarm_body(severity="apocalyptic")), 422, "VALIDATION_FAILED"
    )
    assert "severity" in str(invalid.get("details"))
    big = alarm_body(message="x" * (1024 * 1024 + 10))
    assert_error(api.post("/v1/alarms", json=big), 413, "PAYLOAD_TOO_LARGE")
    assert_error(api.get("/v1/alarms", headers={"Authorization": ""}), 401, "UNAUTHORIZED")
    assert_error(
        api.get("/v1/alarms", headers={"Authorization": "Bearer wrong"}), 401, "UNAUTHORIZED"
    )
    assert_error(api.get("/v1/nothing-here"), 404, "ROUTE_NOT_FOUND")
    assert_error(api.delete("/v1/alarms"), 405, "METHOD_NOT_ALLOWED")


def test_alarm_events_reach_the_audit_log(api: httpx.Client) -> None:
    alarm = api.post("/v1/alarms", json=alarm_body()).json()["alarm"]

    def audited() -> list[dict[str, Any]]:
        resp = api.get("/v1/audit-events", params={"limit": 100})
        assert resp.status_code == 200, resp.text
        return [e for e in resp.json()["audit_events"] if alarm["id"] in str(e)]

    events = wait_for(audited, timeout=10, interval=0.25)
    assert "AlarmRaised" in str(events)


def test_webhook_alerts_become_alarms_and_repeats_do_not(api: httpx.Client) -> None:
    """A generic webhook through the queue and the consumer: one alarm per alert, replays ignored,
    a resolve resolves."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    name = f"disk-{uuid.uuid4().hex[:8]}"

    def payload(status: str, at: dt.datetime) -> dict[str, Any]:
        alert = {
            "name": name,
            "status": status,
            "severity": "critical",
            "resource": "db-1",
            "labels": {"service": "db"},
            "fingerprint": name,
            "starts_at": at.isoformat(),
        }
        return {"alerts": [alert]}

    for body in (payload("firing", now), payload("firing", now)):  # the second is a replay
        resp = api.post("/v1/ingest/generic", json=body)
        assert resp.status_code == 202, resp.text

    def listed(status: str) -> list[dict[str, Any]]:
        resp = api.get("/v1/alarms", params={"name": name, "status": status})
        assert resp.status_code == 200, resp.text
        return resp.json()["alarms"]

    (alarm,) = wait_for(lambda: listed("open"), timeout=15, interval=0.25)
    assert alarm["source"] == "generic" and alarm["resource"] == "db-1"
    resolved = api.post(
        "/v1/ingest/generic", json=payload("resolved", now + dt.timedelta(minutes=1))
    )
    assert resolved.status_code == 202
    (done,) = wait_for(lambda: listed("resolved"), timeout=15, interval=0.25)
    assert done["id"] == alarm["id"]
    assert listed("open") == []
    bad = api.post("/v1/ingest/generic", json={"alerts": "nope"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "UNPARSEABLE_PAYLOAD"


def test_sigint_stops_within_seconds(local_server: LocalServer) -> None:
    code, took = local_server.interrupt(timeout=15)
    assert code == 0, local_server.output()[-3000:]
    assert took < 10
    out = local_server.output()
    assert "om-platform local runtime stopped" in out


def test_alarms_survive_a_restart(tmp_path):
    """DynamoDB items are saved on a clean stop and loaded at the next start."""
    from infra.local.platform import LocalPlatform

    with LocalPlatform(token="t-1", data_dir=tmp_path, schedules=False) as first:
        created = httpx.post(
            f"{first.base_url}/v1/alarms",
            headers={"Authorization": "Bearer t-1"},
            json={"name": "kept", "severity": "minor"},
        ).json()["alarm"]
    assert (tmp_path / "dynamodb.json").is_file()
    with LocalPlatform(token="t-2", data_dir=tmp_path, schedules=False) as second:
        got = httpx.get(
            f"{second.base_url}/v1/alarms/{created['id']}", headers={"Authorization": "Bearer t-2"}
        )
    assert got.status_code == 200 and got.json()["alarm"] == created


def test_aws_service_events_reach_the_platform_bus(tmp_path):
    """The default-bus rule forwards AWS service events (wiring.BUS_FORWARDS) to the platform bus."""
    import json as _json

    from infra.local.platform import LocalPlatform

    with LocalPlatform(token="t", data_dir=tmp_path, schedules=False, persist=False) as local:
        assert local.session is not None
        sqs, events = local.session.client("sqs"), local.session.client("events")
        url = sqs.create_queue(QueueName="capture-forwarded")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
        bus = local.resources.buses["platform"]
        events.put_rule(
            Name="capture", EventBusName=bus, EventPattern='{"source": ["aws.cloudwatch"]}'
        )
        events.put_targets(
            Rule="capture", EventBusName=bus, Targets=[{"Id": "q", "Arn": arn["QueueArn"]}]
        )
        local.put_event(
            {
                "source": "aws.cloudwatch",
                "detail-type": "CloudWatch Alarm State Change",
                "detail": {"alarmName": "cpu"},
            }
        )
        local.put_event({"source": "vendor.other", "detail-type": "Thing", "detail": {}})
        got = []
        for _ in range(10):
            got += sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
                "Messages", []
            )
            if got:
                break
        assert [_json.loads(m["Body"])["source"] for m in got] == ["aws.cloudwatch"]
