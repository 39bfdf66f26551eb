"""Merging incidents and splitting alarms out, under moto, on incidents the alert consumer
opened; then the consumer's later messages find the moved alarms' new incidents."""

import datetime as dt
import json

import boto3
import pytest

from omp.domain.ingest import IngestEnvelope
from tests.support import call_api, generic_alert, invoke

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def _alert(name, service, status="firing", minute=0):
    return generic_alert(name, service, NOW + dt.timedelta(minutes=minute), status)


def _consume(*alerts):
    envelope = IngestEnvelope(
        "generic", NOW.isoformat(), "key:test", "req-1", payload={"alerts": list(alerts)}
    )
    record = {"messageId": "m1", "body": envelope.to_json()}
    assert invoke("process-alerts", {"Records": [record]}) == {"batchItemFailures": []}


def _incidents():
    """Each listed incident as GET answers it (its alarms on the first page)."""
    status, listed, _ = call_api("list-incidents")
    assert status == 200
    found = [_get(i["id"]) for i in listed["incidents"]]
    return {tuple(sorted(a["name"] for a in i["alarms"])): i for i in found}


def _get(incident_id, **query):
    status, got, _ = call_api(
        "get-incident", path_params={"incident_id": incident_id}, query=query or None
    )
    assert status == 200, got
    return got["incident"]


def _events(platform):
    sqs, kinds = boto3.client("sqs"), []
    while got := sqs.receive_message(QueueUrl=platform["queue_url"], MaxNumberOfMessages=10).get(
        "Messages"
    ):
        kinds += [json.loads(m["Body"])["detail-type"] for m in got]
    return kinds


@pytest.fixture
def two(platform):
    _consume(_alert("a1", "one"), _alert("b1", "two"))
    found = _incidents()
    _events(platform)  # drain
    return found[("a1",)], found[("b1",)]


def test_merge_moves_alarms_is_idempotent_and_the_pipeline_follows(two, platform):
    target, source = two
    path = {"incident_id": target["id"]}
    status, merged, _ = call_api(
        "merge-incidents", path_params=path, body={"incident_ids": [source["id"]]}
    )
    assert status == 200, merged
    assert merged["incident"]["alarm_count"] == 2
    assert sorted(a["name"] for a in _get(target["id"])["alarms"]) == ["a1", "b1"]
    assert _get(source["id"])["alarms"] == []  # the member items moved
    (closed,) = merged["merged"]
    assert closed["status"] == "merged" and closed["merged_into"] == target["id"]
    assert sorted(_events(platform)) == ["IncidentResolved", "IncidentUpdated"]
    # A retry (no Idempotency-Key) answers the same and writes nothing.
    status, again, _ = call_api(
        "merge-incidents", path_params=path, body={"incident_ids": [source["id"]]}
    )
    assert status == 200 and again["incident"]["version"] == merged["incident"]["version"]
    assert _events(platform) == []
    # A new alarm of the merged incident's group joins the target...
    _consume(_alert("b2", "two", minute=1))
    assert sorted(a["name"] for a in _get(target["id"])["alarms"]) == ["a1", "b1", "b2"]
    # ...and the moved alarms' resolves reach it: the last one resolves it.
    _consume(_alert("b1", "two", "resolved", 2), _alert("b2", "two", "resolved", 2))
    assert _get(target["id"])["status"] == "open"
    _consume(_alert("a1", "one", "resolved", 3))
    done = _get(target["id"])
    assert done["status"] == "resolved" and done["resolved_by"] == "auto"
    assert _get(source["id"])["status"] == "merged"


def test_merge_refusals(two):
    target, source = two
    path = {"incident_id": target["id"]}

    def merge(body, incident=path):
        got, answer, _ = call_api("merge-incidents", path_params=incident, body=body)
        return got, answer.get("error", {}).get("code")

    assert merge({"incident_ids": [target["id"]]}) == (422, "MERGE_INTO_SELF")
    assert merge({"incident_ids": []}) == (422, "VALIDATION_FAILED")
    assert merge({"incident_ids": ["inc_01ARZ3NDEKTSV4RRFFQ69G5FAV"]}) == (
        404,
        "INCIDENT_NOT_FOUND",
    )
    unknown = {"incident_id": "inc_01ARZ3NDEKTSV4RRFFQ69G5FAV"}
    assert merge({"incident_ids": [source["id"]]}, unknown) == (404, "INCIDENT_NOT_FOUND")
    assert merge({"incident_ids": [source["id"]], "version": 99}) == (409, "VERSION_CONFLICT")
    status, _, _ = call_api("resolve-incident", path_params={"incident_id": source["id"]})
    assert status == 200
    assert merge({"incident_ids": [source["id"]]}) == (422, "INCIDENT_NOT_ACTIVE")
    assert merge({"incident_ids": [target["id"]]}, {"incident_id": source["id"]}) == (
        422,
        "INCIDENT_NOT_ACTIVE",
    )
    # nothing changed on the refused attempts
    assert _get(target["id"])["version"] == target["version"]


def test_split_alarms_out_and_the_pipeline_follows(platform):
    _consume(_alert("c1", "web"), _alert("c2", "web"), _alert("c3", "web"))
    (incident,) = _incidents().values()
    _events(platform)
    by_name = {a["name"]: a["alarm_id"] for a in incident["alarms"]}
    path = {"incident_id": incident["id"]}
    body = {"alarm_ids": [by_name["c2"], by_name["c3"]], "version": incident["version"]}
    status, split, _ = call_api("split-incident", path_params=path, body=body)
    assert status == 201, split
    left, new = split["incident"], split["new_incident"]
    assert left["alarm_count"] == 1 and new["alarm_count"] == 2 and new["rule"] == "split"
    assert [a["name"] for a in _get(left["id"])["alarms"]] == ["c1"]
    assert sorted(a["name"] for a in _get(new["id"])["alarms"]) == ["c2", "c3"]
    assert sorted(_events(platform)) == ["IncidentOpened", "IncidentUpdated"]
    # A retry answers the same new incident and writes nothing (its version check is moot).
    status, again, _ = call_api("split-incident", path_params=path, body=body)
    assert status == 201 and again["new_incident"]["id"] == new["id"]
    assert again["incident"]["version"] == left["version"] and _events(platform) == []
    # The moved alarms' timelines name their new group; their resolves reach the new incident.
    status, timeline, _ = call_api("get-alarm-timeline", path_params={"alarm_id": by_name["c2"]})
    assert timeline["timeline"][-1]["kind"] == "correlated"
    assert timeline["timeline"][-1]["actor"] == "tester"
    _consume(_alert("c2", "web", "resolved", 1), _alert("c3", "web", "resolved", 1))
    assert _get(new["id"])["status"] == "resolved"
    assert _get(incident["id"])["status"] == "open"


def test_split_refusals(platform):
    _consume(_alert("d1", "db"), _alert("d2", "db"))
    (incident,) = _incidents().values()
    ids = [a["alarm_id"] for a in incident["alarms"]]
    path = {"incident_id": incident["id"]}

    def split(body, where=path):
        got, answer, _ = call_api("split-incident", path_params=where, body=body)
        return got, answer.get("error", {}).get("code")

    assert split({"alarm_ids": ids}) == (409, "INVALID_TRANSITION")
    assert split({"alarm_ids": ["alm_01ARZ3NDEKTSV4RRFFQ69G5FAV"]}) == (
        404,
        "ALARM_NOT_IN_INCIDENT",
    )
    assert split({"alarm_ids": ids[:1], "version": 42}) == (409, "VERSION_CONFLICT")
    assert split({"alarm_ids": []}) == (422, "VALIDATION_FAILED")
    assert split({"alarm_ids": ids[:1]}, {"incident_id": "inc_nope"}) == (
        404,
        "INCIDENT_NOT_FOUND",
    )
    assert split({"alarm_ids": ids[:1], "extra": 1}) == (422, "VALIDATION_FAILED")
