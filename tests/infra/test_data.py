"""Data stores: DLQs, PITR, KMS, TTL, TLS and the stage's removal/deletion protection."""

from __future__ import annotations

import copy
import json

from tests.infra.checks import check_data
from tests.infra.synth import Synth


def test_data_stores_are_protected(stage_synth: Synth) -> None:
    assert check_data(stage_synth) == []


def test_small_catalog_data_stores(small: Synth) -> None:
    assert check_data(small) == []


def test_stage_differences(dev: Synth, prod: Synth) -> None:
    def tables(s: Synth) -> list[dict]:
        return [r for _, _, r in s.resources("AWS::DynamoDB::Table")]

    assert all(
        r["DeletionPolicy"] == "Retain" and r["Properties"]["DeletionProtectionEnabled"]
        for r in tables(prod)
    )
    assert all(
        r["DeletionPolicy"] == "Delete" and not r["Properties"].get("DeletionProtectionEnabled")
        for r in tables(dev)
    )
    ((_, _, neptune_prod),) = prod.resources("AWS::Neptune::DBCluster")
    ((_, _, neptune_dev),) = dev.resources("AWS::Neptune::DBCluster")
    assert neptune_prod["Properties"]["DeletionProtection"] is True
    assert neptune_dev["Properties"]["DeletionProtection"] is False
    assert neptune_prod["DeletionPolicy"] == "Snapshot"
    assert len(prod.resources("AWS::Neptune::DBInstance")) == 2
    assert len(dev.resources("AWS::Neptune::DBInstance")) == 1
    ((_, _, os_prod),) = prod.resources("AWS::OpenSearchService::Domain")
    ((_, _, os_dev),) = dev.resources("AWS::OpenSearchService::Domain")
    assert os_prod["Properties"]["ClusterConfig"]["InstanceType"] == "r6g.large.search"
    assert os_prod["Properties"]["ClusterConfig"]["ZoneAwarenessEnabled"] is True
    assert os_dev["Properties"]["ClusterConfig"]["InstanceCount"] == 1
    assert len(prod.resources("AWS::EC2::NatGateway")) == 2
    assert len(dev.resources("AWS::EC2::NatGateway")) == 1


def test_missing_dlq_and_pitr_are_detected(small: Synth) -> None:
    tampered = copy.deepcopy(small)
    for template in tampered.templates.values():
        for res in template["Resources"].values():
            if res["Type"] == "AWS::SQS::Queue":
                res["Properties"].pop("RedrivePolicy", None)
            if res["Type"] == "AWS::DynamoDB::Table":
                res["Properties"].pop("PointInTimeRecoverySpecification", None)
            if res["Type"] == "AWS::S3::BucketPolicy":
                res["Properties"]["PolicyDocument"]["Statement"] = []
    problems = check_data(tampered)
    assert any("queue work: redrive" in p for p in problems), problems
    assert any("no DLQ" in p for p in problems), problems
    assert any("table monitoring: no PITR" in p for p in problems), problems
    assert any("TLS not enforced" in p and "bucket" in p for p in problems), problems


def test_idempotency_table_follows_powertools_defaults(dev: Synth) -> None:
    ((_, _, table),) = [
        r
        for r in dev.resources("AWS::DynamoDB::Table")
        if r[2]["Properties"]["TableName"] == "omp-dev-idempotency"
    ]
    assert table["Properties"]["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert table["Properties"]["TimeToLiveSpecification"] == {
        "AttributeName": "expiration",
        "Enabled": True,
    }


def test_queue_rules_route_bus_events_to_queues(dev: Synth) -> None:
    rules = [
        r
        for _, _, r in dev.resources("AWS::Events::Rule")
        if "SqsParameters" in str(r) or "audit-events" in str(r)
    ]
    matching = [
        r for r in rules if r["Properties"].get("EventPattern") == {"source": [{"prefix": "omp."}]}
    ]
    assert len(matching) == 1
    assert "QueueAuditEvents" in str(matching[0]["Properties"]["Targets"])


def test_alarms_notify_the_platform_alarms_topic(dev: Synth) -> None:
    alarms = dev.resources("AWS::CloudWatch::Alarm")
    names = {r["Properties"]["AlarmName"] for _, _, r in alarms}
    assert "omp-dev-create-alarm-errors" in names and "omp-dev-create-alarm-throttles" in names
    assert "omp-dev-api-5xx" in names and "omp-dev-audit-events-dlq-not-empty" in names
    for _, lid, res in alarms:
        actions = res["Properties"].get("AlarmActions", [])
        assert len(actions) == 1 and "omp-dev-platform-alarms" in str(actions[0]), lid
    assert len(dev.resources("AWS::CloudWatch::Dashboard")) == 1


def test_aws_service_events_are_forwarded_from_the_default_bus(dev: Synth) -> None:
    from infra import wiring

    forwards = [
        r["Properties"]
        for _, _, r in dev.resources("AWS::Events::Rule")
        if r["Properties"].get("EventPattern") == {"source": list(wiring.AWS_EVENT_SOURCES)}
    ]
    assert len(forwards) == 1
    rule = forwards[0]
    assert rule.get("EventBusName", "default") == "default"
    (target,) = rule["Targets"]
    assert "BusPlatform" in json.dumps(target["Arn"]) and "RoleArn" in target


def test_async_functions_keep_failed_events_in_an_encrypted_dlq(dev: Synth) -> None:
    from infra import wiring

    asynchronous = {
        f"omp-dev-{fn.name}"
        for fn in wiring.FUNCTIONS
        if isinstance(
            fn.trigger,
            wiring.EventRule | wiring.Schedule | wiring.TopicTrigger | wiring.DirectInvoke,
        )
    }
    assert asynchronous, "the catalog has an async function to check"
    queues = {lid: r["Properties"] for _, lid, r in dev.resources("AWS::SQS::Queue")}
    for _, _, res in dev.resources("AWS::Lambda::Function"):
        props = res["Properties"]
        if props["FunctionName"] not in asynchronous:
            assert "DeadLetterConfig" not in props
            continue
        target = json.dumps(props["DeadLetterConfig"]["TargetArn"])
        (queue,) = [q for lid, q in queues.items() if lid in target]
        assert queue["QueueName"] == props["FunctionName"] + "-async-dlq"
        assert "KmsMasterKeyId" in queue
