"""A correlation group past its resource sample (MAX_GROUP_RESOURCES), under moto: a storm of
distinct resources through the real `process-alerts` consumer leaves the group item the same
size, every resource stays findable (an alarm on an old resource still correlates), a
redelivered record counts nothing twice, and closing the group removes its resource items.
Also: group items of the old layout (every resource in a list) still read and shrink on the
next save, and a resource item of an earlier group under the same key finds nothing."""

from datetime import UTC, datetime, timedelta

import pytest

from infra.local import dynamodb as local_dynamodb
from omp.adapters.dynamo_alerting import DynamoAlertStateStore, DynamoCorrelationGroupStore, ts
from omp.analytics import correlation
from omp.analytics.correlation import MAX_GROUP_RESOURCES, AlarmFacts, Group, LabelGroupRule
from omp.domain.ingest import IngestEnvelope
from tests.support import PREFIX, call_api, generic_alert, invoke

TABLE = PREFIX + "monitoring"
T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
STORM = 120  # six times the sample
KEY = "service|service=api"  # the default label rule's group for service=api


@pytest.fixture(autouse=True)
def _cheap_transactions(monkeypatch):
    """As in test_incident_members: moto deep-copies the table for each transaction item."""
    from moto.dynamodb import models
    from moto.dynamodb.models import DynamoDBBackend

    monkeypatch.setattr(models, "copy", local_dynamodb._Copy())
    monkeypatch.setattr(
        DynamoDBBackend, "transact_write_items", local_dynamodb._transact_write_items
    )


def _value_size(v):
    """DynamoDB's item size rules (names and values in bytes; lists/maps 3 + 1 per element)."""
    ((kind, value),) = v.items()
    if kind == "S":
        return len(value.encode())
    if kind == "N":
        return (len(value.strip("-").replace(".", "").lstrip("0")) + 1) // 2 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(1 + _value_size(x) for x in value)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + _value_size(x) for k, x in value.items())
    raise AssertionError(kind)


def _size(item):
    return sum(len(k.encode()) + _value_size(v) for k, v in item.items())


def _group_item(dynamodb, key=KEY):
    return dynamodb.get_item(
        TableName=TABLE, Key={"pk": {"S": f"CGROUP#{key}"}, "sk": {"S": "G"}}, ConsistentRead=True
    ).get("Item")


def _resource_items(dynamodb, key=KEY):
    pages = dynamodb.get_paginator("query").paginate(
        TableName=TABLE,
        KeyConditionExpression="pk = :p AND begins_with(sk, :r)",
        ExpressionAttributeValues={":p": {"S": f"CGROUP#{key}"}, ":r": {"S": "R#"}},
        ConsistentRead=True,
    )
    return [i for page in pages for i in page["Items"]]


def _record(alerts, message_id):
    body = IngestEnvelope(
        "generic", T0.isoformat(), "key:test", "req-1", payload={"alerts": alerts}
    ).to_json()
    return {"messageId": message_id, "body": body}


def _consume(*records):
    assert invoke("process-alerts", {"Records": list(records)}) == {"batchItemFailures": []}


def _incidents():
    now = datetime.now(UTC)  # incidents are listed by the day they opened (processing time)
    query = {
        "start": (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end": (now + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    status, body, _ = call_api("list-incidents", query=query)
    assert status == 200, body
    return body["incidents"]


def _storm_alert(i, status="firing"):
    # resource host-s0000 ...: the sample keeps the smallest 20 names, host-s0000..host-s0019
    return generic_alert(f"s{i:04d}", "api", T0 + timedelta(seconds=i), status)


def test_a_storm_of_distinct_resources_past_the_sample(graph, dynamodb, monkeypatch):
    sizes = {}
    for start in range(0, STORM, 10):  # one webhook body of 10 alerts a record
        _consume(_record([_storm_alert(i) for i in range(start, start + 10)], f"m{start}"))
        sizes[start + 10] = _size(_group_item(dynamodb))
    (incident,) = _incidents()
    assert incident["alarm_count"] == STORM

    item = _group_item(dynamodb)
    assert len(item["resources"]["L"]) == MAX_GROUP_RESOURCES
    assert item["resources_truncated"] == {"BOOL": True}
    assert int(item["size"]["N"]) == STORM
    # the item no longer grows with the resources once its sample is full (the 20th alarm):
    # only the size counter's digits (before, about 25 bytes more per resource: 2,500 bytes
    # more here, and DynamoDB's 400 KB limit at roughly 15,000)
    assert sizes[10] < sizes[20], sizes  # filling the sample
    assert 0 <= sizes[STORM] - sizes[20] <= 1 and sizes[STORM] < 2048, sizes
    # ... and every resource is indexed, each once
    assert sorted(i["sk"]["S"] for i in _resource_items(dynamodb)) == [
        f"R#host-s{i:04d}" for i in range(STORM)
    ]

    # another service's alarm on a resource outside the sample: the topology rule (by the
    # alarm's own resource) finds the storm's group through the index and joins its incident
    late = generic_alert("late", "payments", T0 + timedelta(minutes=5)) | {"resource": "host-s0100"}
    late_record = _record([late], "m-late")
    # the first attempt crashes before its commit point (the state write), after the group,
    # its resource item and the join were written; SQS delivers the record again
    original, crashed = DynamoAlertStateStore.put, []

    def crash_once(self, state, expected_version):
        if not crashed:
            crashed.append(state.fingerprint)
            raise RuntimeError("crash before the commit point")
        return original(self, state, expected_version)

    monkeypatch.setattr(DynamoAlertStateStore, "put", crash_once)
    failed = invoke("process-alerts", {"Records": [late_record]})
    assert failed == {"batchItemFailures": [{"itemIdentifier": "m-late"}]}
    assert crashed == ["late"]
    _consume(late_record)
    (incident,) = _incidents()
    assert incident["alarm_count"] == STORM + 1  # joined once
    assert len(_resource_items(dynamodb)) == STORM  # host-s0100's item, once

    # a record delivered again after its commit: nothing joins, grows or is indexed twice
    before = _group_item(dynamodb)
    _consume(late_record, _record([_storm_alert(i) for i in range(110, 120)], "m110"))
    (incident,) = _incidents()
    assert incident["alarm_count"] == STORM + 1
    assert _group_item(dynamodb) == before
    assert len(_resource_items(dynamodb)) == STORM

    # everything resolves: the incident auto-resolves, the group closes, its index is removed
    for start in range(0, STORM, 10):
        alerts = [_storm_alert(i, "resolved") for i in range(start, start + 10)]
        _consume(_record(alerts, f"r{start}"))
    resolved_late = late | {"status": "resolved"}
    _consume(_record([resolved_late], "r-late"))
    (incident,) = _incidents()
    assert incident["status"] == "resolved"
    closed = _group_item(dynamodb)
    assert closed["closed"] == {"BOOL": True} and "expires_at" in closed
    assert _resource_items(dynamodb) == []
    assert list(DynamoCorrelationGroupStore(TABLE).groups_with_resource("host-s0100")) == []


def test_a_group_item_of_the_old_layout_reads_and_shrinks(dynamodb):
    """Written before the sample: every resource in the list, resource items without a
    `first_at` stamp. It reads as its sample, is found through its old resource items, and
    the next save writes the small item."""
    store = DynamoCorrelationGroupStore(TABLE)
    resources = [f"legacy-{i:05d}" for i in range(5_000)]
    dynamodb.put_item(
        TableName=TABLE,
        Item={
            "pk": {"S": f"CGROUP#{KEY}"},
            "sk": {"S": "G"},
            "key": {"S": KEY},
            "rule": {"S": "service"},
            "first_at": {"S": ts(T0)},
            "last_at": {"S": ts(T0 + timedelta(minutes=1))},
            "size": {"N": "5000"},
            "resources": {"L": [{"S": r} for r in resources]},
            "incident_id": {"S": "inc_old"},
            "pending": {"L": []},
            "closed": {"BOOL": False},
        },
    )
    assert _size(_group_item(dynamodb)) > 60_000
    for r in ("legacy-00003", "legacy-04000"):
        dynamodb.put_item(
            TableName=TABLE,
            Item={
                "pk": {"S": f"CGROUP#{KEY}"},
                "sk": {"S": f"R#{r}"},
                "key": {"S": KEY},
                "gsi2pk": {"S": f"CGROUP_RES#{r}"},
                "gsi2sk": {"S": KEY},
            },
        )
    group = store.group(KEY)
    assert group is not None
    assert group.resources == frozenset(resources[:MAX_GROUP_RESOURCES])
    assert group.resources_truncated and group.size == 5000
    assert [g.key for g in store.groups_with_resource("legacy-04000")] == [KEY]

    rule = LabelGroupRule(name="service", by=("service",))
    alarm = AlarmFacts(
        alarm_id="alm_new",
        at=T0 + timedelta(minutes=2),
        resource="new-host",
        labels={"service": "api"},
    )
    decision = correlation.correlate(alarm, [rule], store, alarm.at)
    assert decision.incident_id == "inc_old" and decision.new_resources == {"new-host"}
    store.save(decision.group, decision.new_resources)
    assert _size(_group_item(dynamodb)) < 2048
    assert [g.size for g in store.groups_with_resource("new-host")] == [5001]
    assert [g.key for g in store.groups_with_resource("legacy-00003")] == [KEY]


def test_resource_items_of_an_earlier_group_under_the_same_key_find_nothing(dynamodb):
    """A quiet gap past the window starts a new group under the same key without closing the
    old one (and a closing that crashed leaves items behind): the items are stamped with
    their group's `first_at`, so the old ones do not find the new group."""
    store = DynamoCorrelationGroupStore(TABLE)

    def group(first_at, *resources):
        return Group(
            key=KEY,
            rule="service",
            first_at=first_at,
            last_at=first_at,
            size=1,
            resources=frozenset(resources),
            incident_id="inc_" + first_at.strftime("%H%M"),
        )

    store.save(group(T0, "host-1", "host-2"))
    later = group(T0 + timedelta(hours=2), "host-2", "host-3")
    store.save(later, {"host-2", "host-3"})
    assert list(store.groups_with_resource("host-1")) == []
    assert list(store.groups_with_resource("host-2")) == [later]
    assert list(store.groups_with_resource("host-3")) == [later]
    store.save(later, ())  # saving again writes the group only, and keeps the index
    assert list(store.groups_with_resource("host-3")) == [later]
    store.save(correlation.close(later))
    assert _resource_items(dynamodb) == []  # host-1 of the earlier group too


def test_a_held_group_opens_before_its_item_outgrows_dynamodb(dynamodb):
    """A group held by time only (`open_after`) keeps its held alarms on its item. A storm of
    alarms with the longest names and long resources opens it at `MAX_PENDING_BYTES`, and
    every save until then fits DynamoDB's 400 KB (moto refuses a larger item, as AWS does)."""
    store = DynamoCorrelationGroupStore(TABLE)
    rule = LabelGroupRule("held", by=("service",), open_after=timedelta(hours=1))
    name, largest, opened = "n" * 256, 0, None
    for i in range(2_000):
        alarm = AlarmFacts(
            alarm_id=f"alm_held{i:05d}",
            at=T0 + timedelta(milliseconds=i),
            name=name,
            resource=f"arn:aws:ec2:eu-west-1:123456789012:instance/i-{i:017d}"
            + "/x" * 470,  # ~1 KB
            labels={"service": "api"},
        )
        decision = correlation.correlate(alarm, [rule], store, T0 + timedelta(seconds=1))
        store.save(decision.group, decision.new_resources)
        stored = _group_item(dynamodb, decision.group.key)
        largest = max(largest, _size(stored))
        if decision.group.pending:  # the estimate bounds what the held alarms take on the item
            held = _value_size(stored["pending"])
            assert 0.8 * correlation.pending_bytes(decision.group.pending) < held
            assert held <= correlation.pending_bytes(decision.group.pending)
        if decision.outcome is correlation.Outcome.OPEN:
            opened = (i + 1, decision)
            break
    assert opened is not None, largest
    count, decision = opened
    assert len(decision.alarms) == count and decision.group.pending == ()
    assert "the most a group holds" in decision.reason
    assert largest < 400 * 1024
