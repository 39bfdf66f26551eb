"""Incidents far past what one DynamoDB item could hold (its members are items of their own):
more than 2,000 alarms in one incident, joined, resolved, paged, merged and split, under moto.
The members are added through the repository call the pipeline makes for a join
(`IncidentRepository.add_alarm`), the alarms around them through the real consumer."""

import datetime as dt

import boto3
import pytest

from infra.local import dynamodb as local_dynamodb
from omp.adapters.dynamo_alerting import DynamoIncidentRepository
from omp.domain import incidents
from omp.domain.alarms import Severity
from omp.domain.incidents import IncidentAlarm
from omp.domain.ingest import IngestEnvelope
from tests.support import PREFIX, call_api, generic_alert, invoke

TABLE = PREFIX + "monitoring"
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
BIG = 2_100


@pytest.fixture(autouse=True)
def _cheap_transactions(monkeypatch):
    """moto deep-copies the whole table for each transaction item (infra/local/dynamodb.py):
    thousands of joins would take minutes. The local runtime's fix backs up only the items a
    transaction writes; the transactions' semantics are moto's own."""
    from moto.dynamodb import models
    from moto.dynamodb.models import DynamoDBBackend

    monkeypatch.setattr(models, "copy", local_dynamodb._Copy())
    monkeypatch.setattr(
        DynamoDBBackend, "transact_write_items", local_dynamodb._transact_write_items
    )


def _consume(*alerts):
    envelope = IngestEnvelope(
        "generic", NOW.isoformat(), "key:test", "req-1", payload={"alerts": list(alerts)}
    )
    record = {"messageId": "m1", "body": envelope.to_json()}
    assert invoke("process-alerts", {"Records": [record]}) == {"batchItemFailures": []}


def _alert(name, service, status="firing", minute=0):
    return generic_alert(name, service, NOW + dt.timedelta(minutes=minute), status)


def _listed():
    status, listed, _ = call_api("list-incidents")
    assert status == 200, listed
    return {i["title"].split(" ")[0]: i for i in listed["incidents"]}


def _grow(repo, incident_id, count, prefix):
    """`count` joins, each the pipeline's one transaction (member + summary)."""
    incident = repo.get(incident_id)
    for i in range(count):
        member = IncidentAlarm(
            alarm_id=f"alm_{prefix}{i:05d}",
            severity=Severity.CRITICAL if i == 7 else Severity.MINOR,
            resource=f"pod-{prefix}-{i % 40}",
            name=f"{prefix}-{i}",
        )
        joined = incidents.add_alarm(incident, member, NOW)
        assert repo.add_alarm(joined, incident.version, member)
        incident = joined
    return incident


def _pages(incident_id, limit):
    seen, token, pages = [], None, 0
    while True:
        query = {"alarms_limit": str(limit)} | ({"alarms_next_token": token} if token else {})
        status, got, _ = call_api(
            "get-incident", path_params={"incident_id": incident_id}, query=query
        )
        assert status == 200, got
        body = got["incident"]
        assert len(body["alarms"]) <= limit
        seen += body["alarms"]
        pages += 1
        token = body["alarms_next_token"]
        if not token:
            return seen, pages, body


def _item_bytes(incident_id):
    item = boto3.client("dynamodb").get_item(
        TableName=TABLE, Key={"pk": {"S": f"INCIDENT#{incident_id}"}, "sk": {"S": "I"}}
    )["Item"]
    return len(repr(item))  # a generous upper bound of DynamoDB's item size


def test_an_incident_of_more_than_2000_alarms_joins_pages_merges_and_splits(platform):
    repo = DynamoIncidentRepository(TABLE)
    _consume(_alert("big0", "big"), _alert("other0", "other"))
    found = _listed()
    big, other = found["big0"]["id"], found["other0"]["id"]
    _grow(repo, big, BIG, "b")
    _grow(repo, other, 300, "o")

    # The pipeline still joins and resolves on the big incident.
    _consume(_alert("big1", "big", minute=1), _alert("big2", "big", minute=1))
    _consume(_alert("big1", "big", "resolved", minute=2))
    incident = repo.get(big)
    assert (incident.alarm_count, incident.open_alarm_count) == (BIG + 3, BIG + 2)
    assert incident.severity is Severity.CRITICAL
    assert len(incident.resources) == incidents.MAX_RESOURCES and incident.resources_truncated
    assert _item_bytes(big) < 4_000  # the summary stays small: 400 KB is nowhere near

    # GET pages every alarm exactly once.
    seen, pages, body = _pages(big, 500)
    assert len(seen) == BIG + 3 == len({a["alarm_id"] for a in seen}) and pages == 5
    assert body["alarm_count"] == BIG + 3
    assert {a["name"]: a["resolved"] for a in seen}["big1"] is True
    status, bad, _ = call_api(
        "get-incident", path_params={"incident_id": big}, query={"alarms_limit": "501"}
    )
    assert status == 422 and bad["error"]["code"] == "VALIDATION_FAILED"
    # a token of another incident's alarms
    status, got, _ = call_api(
        "get-incident",
        path_params={"incident_id": big},
        query={
            "alarms_limit": "1",
            "alarms_next_token": call_api(
                "get-incident",
                path_params={"incident_id": other},
                query={"alarms_limit": "1"},
            )[1]["incident"]["alarms_next_token"],
        },
    )
    assert status == 400 and got["error"]["code"] == "INVALID_NEXT_TOKEN"

    # Merge the 301-alarm incident into the big one: summaries first, members in chunks.
    status, merged, _ = call_api(
        "merge-incidents", path_params={"incident_id": big}, body={"incident_ids": [other]}
    )
    assert status == 200, merged
    total = BIG + 3 + 301
    assert merged["incident"]["alarm_count"] == total
    assert merged["merged"][0]["alarm_count"] == 0
    seen, _, _ = _pages(big, 500)
    assert len(seen) == total == len({a["alarm_id"] for a in seen})
    assert _pages(other, 100)[0] == []

    # A moved alarm's resolve reaches the target; a split moves 48 in one transaction.
    _consume(_alert("other0", "other", "resolved", minute=3))
    assert repo.get(big).open_alarm_count == total - 2
    moving = [a["alarm_id"] for a in seen if a["name"].startswith("o-")][: incidents.MAX_SPLIT]
    status, split, _ = call_api(
        "split-incident", path_params={"incident_id": big}, body={"alarm_ids": moving}
    )
    assert status == 201, split
    assert split["incident"]["alarm_count"] == total - incidents.MAX_SPLIT
    assert split["new_incident"]["alarm_count"] == incidents.MAX_SPLIT
    new_seen, _, _ = _pages(split["new_incident"]["id"], 500)
    assert sorted(a["alarm_id"] for a in new_seen) == sorted(moving)
    status, too_many, _ = call_api(
        "split-incident",
        path_params={"incident_id": big},
        body={"alarm_ids": [a["alarm_id"] for a in seen[: incidents.MAX_SPLIT + 1]]},
    )
    assert status == 422 and too_many["error"]["code"] == "VALIDATION_FAILED"


def test_resolving_every_alarm_of_a_merged_incident_resolves_the_target(platform):
    """Merged members not yet moved (a crash mid-move) still resolve into the target's
    counters, and a retried merge finishes the move."""
    repo = DynamoIncidentRepository(TABLE)
    _consume(_alert("t0", "t"), _alert("s0", "s"))
    found = _listed()
    target, source = repo.get(found["t0"]["id"]), repo.get(found["s0"]["id"])
    merged, closed = incidents.merge(target, source, NOW, "me")
    repo.save_all([(merged, target.version), (closed, source.version)])  # the commit, no move
    _consume(_alert("s0", "s", "resolved", minute=1))  # its member is still in the source
    assert repo.get(target.id).open_alarm_count == 1
    (left,) = repo.alarms(source.id).items
    assert left.resolved
    status, again, _ = call_api(
        "merge-incidents",
        path_params={"incident_id": target.id},
        body={"incident_ids": [source.id]},
    )
    assert status == 200 and again["incident"]["alarm_count"] == 2
    assert repo.alarms(source.id).items == [] and len(repo.alarms(target.id).items) == 2
    _consume(_alert("t0", "t", "resolved", minute=2))
    done = repo.get(target.id)
    assert done.status.value == "resolved" and done.resolved_by == "auto"
