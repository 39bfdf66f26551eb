"""The Alarm API handlers under moto, invoked with API Gateway events as Lambda would."""

import json

import boto3
import pytest

from tests.support import call_api


def _captured(platform):
    sqs = boto3.client("sqs")
    out = []
    while True:
        got = sqs.receive_message(QueueUrl=platform["queue_url"], MaxNumberOfMessages=10).get(
            "Messages", []
        )
        if not got:
            return out
        out += [json.loads(m["Body"]) for m in got]


BODY = {
    "name": "cpu high",
    "severity": "major",
    "message": "95%",
    "source": "cloudwatch",
    "resource": "i-0abc",
    "labels": {"team": "sre"},
    "triggered_at": "2026-03-10T11:59:00Z",
}


def _create(**overrides):
    status, body, _ = call_api("create-alarm", body={**BODY, **overrides})
    assert status == 201, body
    return body["alarm"]


def test_create_get_ack_resolve_publish_each_event(platform):
    alarm = _create()
    assert (
        alarm["id"].startswith("alm_")
        and alarm["status"] == "open"
        and alarm["created_by"] == "tester"
    )
    status, got, _ = call_api("get-alarm", path_params={"alarm_id": alarm["id"]})
    assert status == 200 and got["alarm"] == alarm
    status, acked, _ = call_api(
        "acknowledge-alarm", path_params={"alarm_id": alarm["id"]}, body={"comment": "on it"}
    )
    assert (
        status == 200
        and acked["alarm"]["status"] == "acknowledged"
        and acked["alarm"]["version"] == 2
    )
    status, resolved, _ = call_api("resolve-alarm", path_params={"alarm_id": alarm["id"]})
    assert status == 200 and resolved["alarm"]["status"] == "resolved"
    events = _captured(platform)
    assert [(e["source"], e["detail-type"]) for e in events] == [
        ("omp.monitoring", "AlarmRaised"),
        ("omp.monitoring", "AlarmAcknowledged"),
        ("omp.monitoring", "AlarmResolved"),
    ]
    assert all(e["detail"]["alarm"]["id"] == alarm["id"] for e in events)


def test_disallowed_transition_is_409_with_a_stable_code(platform):
    alarm = _create()
    call_api("resolve-alarm", path_params={"alarm_id": alarm["id"]})
    status, body, _ = call_api("acknowledge-alarm", path_params={"alarm_id": alarm["id"]})
    assert status == 409 and body["error"]["code"] == "INVALID_TRANSITION"
    status, body, _ = call_api(
        "resolve-alarm", path_params={"alarm_id": alarm["id"]}, body={"version": 1}
    )
    assert status == 409


def test_idempotency_key_replays_the_first_result_and_writes_once(platform):
    headers = {"Idempotency-Key": "retry-1"}
    first = call_api("create-alarm", body=BODY, headers=headers)
    second = call_api("create-alarm", body=BODY, headers=headers)
    assert first[0] == second[0] == 201
    assert first[1]["alarm"] == second[1]["alarm"]
    assert second[2].get("Idempotent-Replayed") == "true"
    status, listed, _ = call_api(
        "list-alarms", query={"from": "2026-03-01T00:00:00Z", "to": "2026-03-11T00:00:00Z"}
    )
    assert [a["id"] for a in listed["alarms"]] == [first[1]["alarm"]["id"]]
    assert len(_captured(platform)) == 1
    status, body, _ = call_api("create-alarm", body={**BODY, "name": "other"}, headers=headers)
    assert status == 422 and body["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    other_caller = call_api("create-alarm", body=BODY, headers=headers, principal="someone-else")
    assert other_caller[1]["alarm"]["id"] != first[1]["alarm"]["id"]


def test_list_filters_and_paginates(platform):
    made = [
        _create(resource=f"host-{i % 2}", triggered_at=f"2026-03-0{i + 1}T10:00:00Z")
        for i in range(5)
    ]
    window = {"from": "2026-02-20T00:00:00Z", "to": "2026-03-11T00:00:00Z"}
    status, page, _ = call_api("list-alarms", query={**window, "limit": "2", "resource": "host-0"})
    assert status == 200 and len(page["alarms"]) == 2 and page["next_token"]
    status, rest, _ = call_api(
        "list-alarms",
        query={**window, "limit": "2", "resource": "host-0", "next_token": page["next_token"]},
    )
    ids = [a["id"] for a in page["alarms"] + rest["alarms"]]
    assert ids == [a["id"] for a in reversed(made) if a["resource"] == "host-0"]
    assert rest["next_token"] is None


@pytest.mark.parametrize(
    ("name", "kwargs", "status", "code"),
    [
        ("create-alarm", {"body": "{not json"}, 400, "MALFORMED_JSON"),
        ("create-alarm", {"body": {"name": "x"}}, 422, "VALIDATION_FAILED"),
        ("create-alarm", {"body": {**BODY, "severity": "fatal"}}, 422, "VALIDATION_FAILED"),
        (
            "create-alarm",
            {"body": {**BODY, "triggered_at": "2099-01-01T00:00:00Z"}},
            422,
            "VALIDATION_FAILED",
        ),
        ("create-alarm", {"body": {**BODY, "message": "x" * 1_100_000}}, 413, "PAYLOAD_TOO_LARGE"),
        ("create-alarm", {"body": BODY, "roles": "viewer"}, 403, "FORBIDDEN"),
        ("create-alarm", {"body": BODY, "principal": ""}, 401, "UNAUTHORIZED"),
        (
            "create-alarm",
            {"body": BODY, "headers": {"Idempotency-Key": "x" * 300}},
            400,
            "INVALID_IDEMPOTENCY_KEY",
        ),
        (
            "get-alarm",
            {"path_params": {"alarm_id": "alm_01ARZ3NDEKTSV4RRFFQ69G5FAV"}},
            404,
            "ALARM_NOT_FOUND",
        ),
        ("get-alarm", {"path_params": {"alarm_id": "alm_not-a-ulid"}}, 404, "ALARM_NOT_FOUND"),
        ("acknowledge-alarm", {"path_params": {"alarm_id": "nope"}}, 404, "ALARM_NOT_FOUND"),
        (
            "acknowledge-alarm",
            {"path_params": {"alarm_id": "nope"}, "body": "[1"},
            400,
            "MALFORMED_JSON",
        ),
        (
            "resolve-alarm",
            {"path_params": {"alarm_id": "nope"}, "body": {"version": 0}},
            422,
            "VALIDATION_FAILED",
        ),
        ("list-alarms", {"query": {"limit": "0"}}, 422, "VALIDATION_FAILED"),
        ("list-alarms", {"query": {"status": "sleeping"}}, 422, "VALIDATION_FAILED"),
        ("list-alarms", {"query": {"from": "yesterday"}}, 422, "VALIDATION_FAILED"),
        ("list-alarms", {"query": {"from": "2020-01-01T00:00:00Z"}}, 422, "VALIDATION_FAILED"),
        ("list-alarms", {"query": {"next_token": "bogus"}}, 400, "INVALID_NEXT_TOKEN"),
    ],
)
def test_bad_input_gets_a_clear_4xx(platform, name, kwargs, status, code):
    got, body, _ = call_api(name, **kwargs)
    assert (got, body["error"]["code"]) == (status, code), body
    assert body["error"]["message"] and body["error"]["request_id"]


def test_validation_errors_name_the_field_paths(platform):
    status, body, _ = call_api("create-alarm", body={"severity": "major", "labels": {"ok": 1}})
    assert status == 422
    locs = {tuple(d["loc"]) for d in body["error"]["details"]}
    assert ("body", "name") in locs and ("body", "labels", "ok") in locs
