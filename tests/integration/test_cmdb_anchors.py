"""Anchoring CI history heads to the Object Lock bucket, under moto, through the handlers."""

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from omp.adapters.memory import FixedClock
from omp.domain.cmdb.anchors import ANCHOR_PREFIX, HEAD_PREFIX
from omp.domain.cmdb.history import GENESIS, digest
from omp.runtime import container
from omp.services import cmdb_anchors
from tests.support import PREFIX, call_api, invoke

BUCKET = PREFIX + "cmdb-anchors"
TABLE = PREFIX + "cmdb"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock(platform):
    c = FixedClock(T0)
    with container.override(clock=c):
        yield c


def create(name, clock, **attributes):
    attributes.setdefault("arn", f"arn:aws:ec2:us-east-1:1:instance/{name}")
    status, body, _ = call_api(
        "create-ci", body={"type": "ec2_instance", "name": name, "attributes": attributes}
    )
    assert status == 201, body
    clock.advance(1)
    return body["ci"]


def update(ci_id, version, clock, **attributes):
    status, body, _ = call_api(
        "update-ci",
        path_params={"ci_id": ci_id},
        body={"version": version, "attributes": attributes},
    )
    assert status == 200, body
    clock.advance(1)
    return body["ci"]


def anchor(clock, minutes=5):
    clock.advance(minutes * 60)
    return invoke("anchor-ci-history", {"detail-type": "Scheduled Event", "detail": {}})


def verify(ci_id):
    status, body, _ = call_api("verify-ci-history", path_params={"ci_id": ci_id})
    assert status == 200, body
    return body["verification"]


def anchors():
    s3 = boto3.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=ANCHOR_PREFIX)["Contents"]]
    return [json.loads(s3.get_object(Bucket=BUCKET, Key=k)["Body"].read()) for k in keys]


def test_first_run_anchors_every_ci_then_only_the_changed(clock):
    a, b = create("a", clock), create("b", clock)
    run = anchor(clock)
    assert run["anchors"] == 1 and run["heads"] == 2 and run["complete"] is True
    first = anchors()[0]
    assert first["seq"] == 1 and first["prev_hash"] == GENESIS
    assert {e["ci_id"]: e["version"] for e in first["entries"]} == {a["id"]: 1, b["id"]: 1}

    update(a["id"], 1, clock, region="eu-west-1")
    update(a["id"], 2, clock, region="eu-west-2")
    run = anchor(clock)
    assert run["anchors"] == 1 and run["heads"] == 1
    second = anchors()[0]  # newest first
    assert second["seq"] == 2 and second["prev_key"] == first["key"]
    assert second["prev_hash"] == first["hash"]
    assert second["entries"] == [
        {"ci_id": a["id"], "version": 3, "head_hash": second["entries"][0]["head_hash"]}
    ]
    assert anchor(clock)["anchors"] == 0  # nothing changed, heartbeat not due

    result = verify(a["id"])
    assert result["valid"] is True
    assert result["anchored"]["version"] == 3 and result["anchored"]["matches"] is True
    assert result["anchored"]["anchor_key"] == second["key"]
    assert result["anchored"]["head_hash"] == result["head_hash"]
    assert verify(b["id"])["anchored"]["anchor_key"] == first["key"]

    status, body, _ = call_api("verify-history-anchors")
    assert status == 200 and body["anchor_chain"]["valid"] is True
    assert body["anchor_chain"]["anchors"] == 2 and body["anchor_chain"]["complete"] is True


def test_objects_are_locked(clock):
    create("a", clock)
    anchor(clock)
    s3 = boto3.client("s3")
    key = anchors()[0]["key"]
    head = s3.head_object(Bucket=BUCKET, Key=key)
    assert head["ObjectLockMode"] == "GOVERNANCE"
    version = s3.list_object_versions(Bucket=BUCKET, Prefix=key)["Versions"][0]["VersionId"]
    with pytest.raises(Exception, match="AccessDenied"):
        s3.delete_object(Bucket=BUCKET, Key=key, VersionId=version)


def test_an_unanchored_ci_verifies_without_anchor(clock):
    ci = create("new", clock)
    result = verify(ci["id"])
    assert result["valid"] is True and result["anchored"] is None


def _rewrite_whole_chain(ci_id, change):
    """What an administrator with table write access can do: rewrite every record, recompute
    every hash, and put the new head on the CI item. The chain stays internally consistent."""
    ddb = boto3.client("dynamodb")
    items = ddb.query(
        TableName=TABLE,
        KeyConditionExpression="pk = :p AND begins_with(sk, :v)",
        ExpressionAttributeValues={":p": {"S": f"CI#{ci_id}"}, ":v": {"S": "V#"}},
    )["Items"]
    prev = GENESIS
    for item in items:
        record = json.loads(item["record"]["S"])
        change(record)
        record["prev_hash"] = prev
        body = {k: v for k, v in record.items() if k != "hash"}
        record["hash"] = prev = digest(prev, body)
        item["record"] = {"S": json.dumps(record)}
        ddb.put_item(TableName=TABLE, Item=item)
    ddb.update_item(
        TableName=TABLE,
        Key={"pk": {"S": f"CI#{ci_id}"}, "sk": {"S": "CI"}},
        UpdateExpression="SET head_hash = :h",
        ExpressionAttributeValues={":h": {"S": prev}},
    )


def test_a_consistent_rewrite_of_a_whole_chain_is_caught_by_the_anchor(clock):
    ci = create("victim", clock)
    update(ci["id"], 1, clock, region="eu-west-1")
    anchor(clock)
    assert verify(ci["id"])["valid"] is True

    _rewrite_whole_chain(ci["id"], lambda r: r.update(actor="nobody"))
    result = verify(ci["id"])
    assert result["valid"] is False
    assert result["anchored"]["version"] == 2 and result["anchored"]["matches"] is False
    assert result["first_broken"]["version"] == 2
    assert "anchored head" in result["first_broken"]["reason"]


def test_a_history_cut_below_the_anchored_version_is_caught(clock):
    ci = create("short", clock)
    update(ci["id"], 1, clock, region="x")
    anchor(clock)
    ddb = boto3.client("dynamodb")
    ddb.delete_item(
        TableName=TABLE, Key={"pk": {"S": f"CI#{ci['id']}"}, "sk": {"S": "V#0000000002"}}
    )
    # ... and the CI item set back to version 1 so the chain check alone passes
    item = ddb.get_item(TableName=TABLE, Key={"pk": {"S": f"CI#{ci['id']}"}, "sk": {"S": "CI"}})[
        "Item"
    ]
    first = json.loads(
        ddb.get_item(
            TableName=TABLE, Key={"pk": {"S": f"CI#{ci['id']}"}, "sk": {"S": "V#0000000001"}}
        )["Item"]["record"]["S"]
    )
    body = json.loads(item["body"]["S"]) | {"version": 1}
    item["body"], item["version"] = {"S": json.dumps(body)}, {"N": "1"}
    item["head_hash"] = {"S": first["hash"]}
    ddb.put_item(TableName=TABLE, Item=item)
    result = verify(ci["id"])
    assert result["valid"] is False and result["anchored"]["matches"] is False
    assert "missing" in result["first_broken"]["reason"]


def test_changes_inside_the_lag_wait_for_the_next_anchor(clock):
    a = create("a", clock)
    anchor(clock)
    update(a["id"], 1, clock, region="r")  # stamped now; the next run reads up to now - 2 min
    clock.advance(30)
    run = invoke("anchor-ci-history", {"detail": {}})
    assert run["heads"] == 0
    assert anchor(clock)["heads"] == 1


def test_the_anchor_chain_check_names_an_altered_anchor():
    anchors_ = []
    prev = None
    from omp.domain.cmdb.anchors import build_anchor

    for seq in (1, 2, 3):
        prev = build_anchor(
            seq=seq,
            at="2026-03-01T12:00:00.000Z",
            heads=[{"ci_id": f"ci_{seq}", "version": 1, "head_hash": "a" * 64}],
            cursor={},
            prev=prev,
        )
        anchors_.insert(0, prev)

    class Store:
        def anchors(self, limit, start_after=None):
            return anchors_[:limit]

    assert cmdb_anchors.verify_anchors(Store(), limit=10).valid is True
    anchors_[1] = dict(anchors_[1], entries=[])
    result = cmdb_anchors.verify_anchors(Store(), limit=10)
    assert result.valid is False and result.first_broken["seq"] == 2
    del anchors_[1]
    result = cmdb_anchors.verify_anchors(Store(), limit=10)
    assert result.valid is False and "missing" in result.first_broken["reason"]


def test_a_long_backlog_is_anchored_in_batches_and_resumed_after_the_deadline(clock):
    ids = [create(f"ci-{i}", clock)["id"] for i in range(5)]
    changes, store = container.ci_changes, container.history_anchors
    from infra import wiring
    from omp.runtime import env
    from tests.support import resolve

    with env.overlay(wiring.environment(wiring.function("anchor-ci-history"), resolve, "test")):
        calls = iter([True, True, False])
        run = cmdb_anchors.anchor_heads(
            changes(),
            store(),
            now=clock.now() + timedelta(minutes=5),
            time_left=lambda: next(calls),
            batch=2,
        )
        assert run.anchors == 2 and run.heads == 4 and run.reason == "deadline"
        run = cmdb_anchors.anchor_heads(
            changes(),
            store(),
            now=clock.now() + timedelta(minutes=5),
            time_left=lambda: True,
            batch=2,
        )
        assert run.anchors == 1 and run.heads == 1 and run.complete
    anchored = {e["ci_id"] for a in anchors() for e in a["entries"]}
    assert anchored == set(ids)
    s3 = boto3.client("s3")
    heads = s3.list_objects_v2(Bucket=BUCKET, Prefix=HEAD_PREFIX)["KeyCount"]
    assert heads == 5


def test_verify_history_anchors_rejects_a_bad_limit(clock):
    status, body, _ = call_api("verify-history-anchors", query={"limit": "0"})
    assert status == 422 and body["error"]["code"]
    status, body, _ = call_api("verify-history-anchors")
    assert status == 200 and body["anchor_chain"]["anchors"] == 0
