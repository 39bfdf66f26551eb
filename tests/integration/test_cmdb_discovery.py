"""AWS Config discovery through the handlers under moto: configuration item changes (create,
update, redelivery, out of order, deletion, relationships, bad events), the source priority
against a manual edit, and the scheduled reconcile against moto's Config (SNS topics: the one
supported CMDB kind moto's ListDiscoveredResources and BatchGetResourceConfig serve)."""

import copy
import json
from datetime import UTC, datetime

import boto3
import pytest

from infra import wiring
from omp.adapters.aws_config import DynamoCmdbSettings
from omp.adapters.memory import FixedClock
from omp.runtime import container, env
from omp.services import cmdb_discovery
from tests.support import PREFIX, ROOT, call_api, invoke, resolve

SAMPLE = json.loads((ROOT / "events" / "discover-config-item.json").read_text())
EFS = json.loads((ROOT / "tests" / "data" / "config_item_change_efs.json").read_text())
ARN = SAMPLE["detail"]["configurationItem"]["ARN"]


def event(captured="2023-04-27T15:03:11.636Z", status="OK", **configuration):
    e = copy.deepcopy(SAMPLE)
    item = e["detail"]["configurationItem"]
    item["configurationItemCaptureTime"] = captured
    item["configurationStateId"] = int(
        datetime.fromisoformat(captured.replace("Z", "+00:00")).timestamp() * 1000
    )
    item["configurationItemStatus"] = status
    item["configuration"].update(configuration)
    return e


def item_event(resource_type, resource_id, configuration, relationships=()):
    e = copy.deepcopy(SAMPLE)
    kind = {"AWS::EC2::Subnet": "subnet", "AWS::EC2::SecurityGroup": "security-group"}
    e["detail"]["configurationItem"] = {
        "resourceType": resource_type,
        "resourceId": resource_id,
        "ARN": f"arn:aws:ec2:us-east-1:0123456789012:{kind[resource_type]}/{resource_id}",
        "awsAccountId": "0123456789012",
        "awsRegion": "us-east-1",
        "configurationItemCaptureTime": "2023-04-27T15:00:00.000Z",
        "configurationStateId": 1,
        "configurationItemStatus": "ResourceDiscovered",
        "configuration": configuration,
        "relationships": list(relationships),
        "tags": {},
    }
    return e


def ci_by_arn(arn=ARN, type_="ec2_instance"):
    status, body, _ = call_api("list-cis", query={"type": type_, "attribute": "arn", "value": arn})
    assert status == 200, body
    return body["cis"][0] if body["cis"] else None


def history(ci_id):
    status, body, _ = call_api("get-ci-history", path_params={"ci_id": ci_id})
    assert status == 200
    return body["history"]


def verified(ci_id):
    status, body, _ = call_api("verify-ci-history", path_params={"ci_id": ci_id})
    return status == 200 and body["verification"]["valid"]


def test_an_item_change_creates_the_ci_and_redelivery_adds_no_version(graph):
    first = invoke("discover-config-item", SAMPLE)
    assert first["outcome"] == "created", first
    ci = ci_by_arn()
    assert ci["id"] == first["ci_id"] and ci["name"] == "Minha"
    assert ci["attributes"]["instance_type"] == "t2.medium"
    assert ci["attributes"]["state"] == "stopped"
    assert ci["attributes"]["config_captured_at"] == "2023-04-27T15:03:11.636Z"
    assert ci["sources"] == ["aws-config"]
    assert set(ci["attribute_sources"].values()) == {"aws-config"}
    again = invoke("discover-config-item", SAMPLE)
    assert again["outcome"] == "unchanged"
    assert ci_by_arn()["version"] == 1 and len(history(ci["id"])) == 1


def test_newer_changes_apply_and_older_ones_are_skipped(graph):
    invoke("discover-config-item", SAMPLE)
    newer = invoke(
        "discover-config-item",
        event("2023-04-27T16:00:00.000Z", state={"code": 16, "name": "running"}),
    )
    assert newer["outcome"] == "updated"
    ci = ci_by_arn()
    assert ci["version"] == 2 and ci["attributes"]["state"] == "running"
    assert "public_ip" in ci["attributes"]
    # an older item arriving late does not overwrite the newer one
    older = invoke(
        "discover-config-item",
        event("2023-04-27T15:30:00.000Z", instanceType="t2.nano"),
    )
    assert older["outcome"] == "skipped" and "before the stored" in older["reason"]
    assert ci_by_arn()["attributes"]["instance_type"] == "t2.medium"
    # a newer capture with nothing new: no version
    same = invoke(
        "discover-config-item",
        event("2023-04-27T17:00:00.000Z", state={"code": 16, "name": "running"}),
    )
    assert same["outcome"] == "unchanged" and ci_by_arn()["version"] == 2
    # a value Config no longer reports goes (the instance lost its public IP)
    gone = event("2023-04-27T18:00:00.000Z", state={"code": 16, "name": "running"})
    gone["detail"]["configurationItem"]["configuration"].pop("publicIpAddress")
    assert invoke("discover-config-item", gone)["outcome"] == "updated"
    assert "public_ip" not in ci_by_arn()["attributes"]
    assert verified(ci["id"])


def test_deletion_retires_and_an_older_change_cannot_restore(graph):
    invoke("discover-config-item", SAMPLE)
    deleted = event("2023-04-28T00:00:00.000Z", status="ResourceDeleted")
    deleted["detail"]["configurationItem"]["configuration"] = None
    deleted["detail"]["configurationItem"]["relationships"] = []
    got = invoke("discover-config-item", deleted)
    assert got["outcome"] == "retired"
    ci = ci_by_arn()
    assert ci["status"] == "retired" and ci["version"] == 2
    assert ci["attributes"]["config_captured_at"] == "2023-04-28T00:00:00.000Z"
    assert history(ci["id"])[-1]["change"] == "retired"
    assert invoke("discover-config-item", deleted)["outcome"] == "unchanged"
    late = invoke("discover-config-item", event("2023-04-27T20:00:00.000Z"))
    assert late["outcome"] == "skipped" and ci_by_arn()["status"] == "retired"
    # recreated later (a newer item): restored
    back = invoke("discover-config-item", event("2023-04-29T00:00:00.000Z"))
    assert back["outcome"] == "updated" and ci_by_arn()["status"] == "active"
    assert history(ci["id"])[-1]["change"] == "restored" and verified(ci["id"])
    # a deleted resource the CMDB never had
    other = copy.deepcopy(deleted)
    other["detail"]["configurationItem"]["ARN"] = ARN + "x"
    assert invoke("discover-config-item", other)["outcome"] == "skipped"


def test_relationships_become_relations_the_types_allow(graph):
    subnet = item_event(
        "AWS::EC2::Subnet",
        "subnet-cad1f2f4",
        {"subnetId": "subnet-cad1f2f4", "vpcId": "vpc-2d96be57", "cidrBlock": "172.31.64.0/20"},
    )
    group = item_event(
        "AWS::EC2::SecurityGroup",
        "sg-0fb295a327d9b4835",
        {"groupId": "sg-0fb295a327d9b4835", "vpcId": "vpc-2d96be57"},
    )
    assert invoke("discover-config-item", subnet)["outcome"] == "created"
    assert invoke("discover-config-item", group)["outcome"] == "created"
    got = invoke("discover-config-item", SAMPLE)
    # subnet and security group found; the VPC is not in the CMDB; ENIs, EIP and the volume
    # are kinds the CMDB does not keep
    assert got["relations"]["relations_added"] == 2, got
    assert got["relations"]["relations_unresolved"] == 5
    status, body, _ = call_api(
        "get-neighbors", path_params={"ci_id": got["ci_id"]}, query={"direction": "out"}
    )
    assert status == 200, body
    edges = {(e["type"], e["target"]) for e in body["edges"]}
    subnet_id = ci_by_arn(subnet["detail"]["configurationItem"]["ARN"], "subnet")["id"]
    group_id = ci_by_arn(group["detail"]["configurationItem"]["ARN"], "security_group")["id"]
    assert edges == {("member_of", subnet_id), ("member_of", group_id)}
    again = invoke("discover-config-item", SAMPLE)
    assert again["relations"]["relations_existing"] == 2
    assert again["relations"]["relations_added"] == 0


@pytest.mark.parametrize(
    "bad",
    [
        EFS,
        {"source": "aws.config", "detail-type": "Config Configuration Item Change"},
        {"detail": {"configurationItem": {"resourceType": "AWS::EC2::Instance"}}},
        {"detail": {"messageType": "OversizedConfigurationItemChangeNotification"}},
    ],
)
def test_bad_events_are_skipped_with_the_reason(graph, bad):
    got = invoke("discover-config-item", bad)
    assert got["outcome"] == "skipped" and got["reason"]
    _, body, _ = call_api("list-cis", query={"type": "ec2_instance"})
    assert body["cis"] == []


def test_a_manual_edit_beats_discovery_and_the_conflict_is_in_the_history(graph):
    ci = ci_by_arn() if invoke("discover-config-item", SAMPLE) else None
    status, body, _ = call_api(
        "update-ci",
        path_params={"ci_id": ci["id"]},
        body={"version": 1, "attributes": {"instance_type": "t3.large"}, "source": "manual"},
    )
    assert status == 200, body
    assert body["ci"]["attribute_sources"]["instance_type"] == "manual"
    got = invoke(
        "discover-config-item",
        event("2023-04-27T16:00:00.000Z", state={"code": 16, "name": "running"}),
    )
    assert got["outcome"] == "updated"
    now = ci_by_arn()
    assert now["attributes"]["instance_type"] == "t3.large"  # the manual value stands
    assert now["attributes"]["state"] == "running"  # discovery's own attribute moved
    assert now["conflicts"]["instance_type"]["value"] == "t2.medium"
    assert now["conflicts"]["instance_type"]["kept_source"] == "manual"
    record = history(ci["id"])[-1]
    assert record["diff"]["conflicts.instance_type"]["to"]["value"] == "t2.medium"
    assert record["after"]["conflicts"]["instance_type"]["source"] == "aws-config"
    # the same discovered value again records nothing new
    again = invoke(
        "discover-config-item",
        event("2023-04-27T17:00:00.000Z", state={"code": 16, "name": "running"}),
    )
    assert again["outcome"] == "unchanged" and ci_by_arn()["version"] == now["version"]
    assert verified(ci["id"])


def test_the_priority_comes_from_the_settings_document(graph):
    DynamoCmdbSettings(PREFIX + "cmdb").document.put(
        {"source_priority": {"by_type": {"aws_resource": ["aws-config", "manual"]}}},
        0,
        actor="test",
        now=datetime(2026, 1, 1, tzinfo=UTC),
    )
    invoke("discover-config-item", SAMPLE)
    ci = ci_by_arn()
    status, body, _ = call_api(
        "update-ci",
        path_params={"ci_id": ci["id"]},
        body={"version": 1, "attributes": {"instance_type": "t3.large"}, "source": "manual"},
    )
    assert status == 200 and body["ci"]["attributes"]["instance_type"] == "t2.medium"
    assert body["ci"]["conflicts"]["instance_type"]["value"] == "t3.large"


# ---- reconcile against moto's Config -----------------------------------------------------------


def _topics(*names):
    sns = boto3.client("sns")
    return {n: sns.create_topic(Name=n)["TopicArn"] for n in names}


def test_reconcile_discovers_marks_stale_then_retires(platform):
    arns = _topics("orders", "billing")
    clock = FixedClock(datetime(2026, 3, 1, tzinfo=UTC))
    with container.override(clock=clock):
        got = invoke("reconcile-config", {})
        assert got["done"] is True and got["created"] == 2, got
        cis = {c["name"]: c for c in call_api("list-cis", query={"type": "sns_topic"})[1]["cis"]}
        assert set(cis) == {"orders", "billing"}
        assert cis["orders"]["attributes"]["arn"] == arns["orders"]
        assert cis["orders"]["attributes"]["topic_name"] == "orders"
        # again: nothing changed, no versions (moto answers a new capture time every call)
        got = invoke("reconcile-config", {})
        assert got["unchanged"] == 2 and "created" not in got and "updated" not in got
        boto3.client("sns").delete_topic(TopicArn=arns["billing"])
        clock.advance(3600)
        got = invoke("reconcile-config", {})
        assert got["stale"] == 1
        billing = ci_by_arn(arns["billing"], "sns_topic")
        assert billing["status"] == "active"
        assert billing["attributes"]["stale_since"] == "2026-03-01T01:00:00.000Z"
        clock.advance(23 * 3600)  # under the 24 h grace period
        assert "retired" not in invoke("reconcile-config", {})
        clock.advance(3600)
        got = invoke("reconcile-config", {})
        assert got["retired"] == 1
        billing = ci_by_arn(arns["billing"], "sns_topic")
        assert billing["status"] == "retired" and verified(billing["id"])
        assert ci_by_arn(arns["orders"], "sns_topic")["version"] == 1


def test_a_stale_ci_seen_again_is_fresh(platform):
    arns = _topics("orders")
    clock = FixedClock(datetime(2026, 3, 1, tzinfo=UTC))
    with container.override(clock=clock):
        invoke("reconcile-config", {})
        boto3.client("sns").delete_topic(TopicArn=arns["orders"])
        assert invoke("reconcile-config", {})["stale"] == 1
        _topics("orders")
        got = invoke("reconcile-config", {})
        assert got.get("updated") == 1, got
        ci = ci_by_arn(arns["orders"], "sns_topic")
        assert "stale_since" not in ci["attributes"] and ci["status"] == "active"


def test_the_grace_period_is_a_setting(platform):
    arns = _topics("orders")
    DynamoCmdbSettings(PREFIX + "cmdb").document.put(
        {"stale_retire_after_hours": 0}, 0, actor="test", now=datetime(2026, 1, 1, tzinfo=UTC)
    )
    invoke("reconcile-config", {})
    boto3.client("sns").delete_topic(TopicArn=arns["orders"])
    assert invoke("reconcile-config", {})["stale"] == 1
    assert invoke("reconcile-config", {})["retired"] == 1


def test_reconcile_stops_at_the_deadline_and_goes_on_from_its_cursor(platform):
    _topics(*[f"t{i}" for i in range(3)])
    from omp.api.cmdb import types

    store = DynamoCmdbSettings(PREFIX + "cmdb")
    ticks = iter([True, True, False])

    def run(time_left):
        with container.override():
            return cmdb_discovery.reconcile(
                config=container.config_discovery(),
                store=store,
                types=types(),
                repo=container.cis(),
                events=container.publisher(),
                clock=FixedClock(),
                time_left=time_left,
            )

    with env.overlay(wiring.environment(wiring.function("reconcile-config"), resolve, "test")):
        first = run(lambda: next(ticks))
        assert first["done"] is False and first["cursor"]["phase"] == "discover"
        assert first["cursor"]["type"] == 2  # two resource types paged, then the deadline
        assert store.cursor() == first["cursor"]
        rest = run(lambda: True)
    assert rest["done"] is True and rest["created"] == 3 and store.cursor() is None


class _Unprocessing:
    """Config answering every key as unprocessed (throttled): nothing may be taken as gone."""

    def list_discovered(self, resource_type, token):
        return [], None

    def batch_get(self, keys):
        return [], keys


def test_unprocessed_keys_are_never_taken_as_gone(platform):
    arns = _topics("orders")
    invoke("reconcile-config", {})
    with container.override(config_discovery=_Unprocessing()):
        got = invoke("reconcile-config", {})
    assert "stale" not in got and got["unprocessed"] == 1
    assert "stale_since" not in ci_by_arn(arns["orders"], "sns_topic")["attributes"]


# ---- the settings routes ------------------------------------------------------------------------


def test_settings_defaults_put_conflict_and_bad_input(graph):
    status, body, _ = call_api("get-cmdb-settings")
    assert status == 200 and body["cmdb_settings"]["version"] == 0
    assert body["cmdb_settings"]["source_priority"]["default"] == [
        "manual",
        "api",
        "aws-config",
        "netbox",
    ]
    assert body["cmdb_settings"]["stale_retire_after_hours"] == 24
    settings = {
        "version": 0,
        "source_priority": {"by_attribute": {"ec2_instance.instance_type": ["aws-config", "api"]}},
        "stale_retire_after_hours": 2,
    }
    status, body, _ = call_api("put-cmdb-settings", body=settings)
    assert status == 200 and body["cmdb_settings"]["version"] == 1, body
    status, body, _ = call_api("put-cmdb-settings", body=settings)
    assert status == 409 and body["error"]["code"] == "VERSION_CONFLICT"
    for bad, field in (
        ({"version": 1, "stale_retire_after_hours": -1}, "stale_retire_after_hours"),
        ({"version": 1, "source_priority": {"default": ["api", "api"]}}, "default"),
        ({"version": 1, "source_priority": {"by_attribute": {"no-dot": ["api"]}}}, "by_attribute"),
        ({"version": 1, "source_priority": {"default": ["Bad Name"]}}, "default"),
        ({"version": 1, "surprise": True}, "surprise"),
    ):
        status, body, _ = call_api("put-cmdb-settings", body=bad)
        assert status == 422, body
        assert any(field in d["loc"] for d in body["error"]["details"]), body
    # the stored priority applies to the next write: discovery now beats an API edit here
    invoke("discover-config-item", SAMPLE)
    ci = ci_by_arn()
    status, body, _ = call_api(
        "update-ci",
        path_params={"ci_id": ci["id"]},
        body={"version": 1, "attributes": {"instance_type": "t3.large", "state": "running"}},
    )
    assert status == 200, body
    assert body["ci"]["attributes"]["instance_type"] == "t2.medium"
    assert body["ci"]["attributes"]["state"] == "running"  # the default list: api wins there
    assert body["ci"]["conflicts"]["instance_type"]["source"] == "api"


def test_settings_need_the_admin_permission(platform):
    status, body, _ = call_api("put-cmdb-settings", body={"version": 0}, roles="viewer")
    assert status == 403, body


def test_a_relationship_that_disappears_removes_only_discoverys_edge(graph):
    subnets = [
        item_event("AWS::EC2::Subnet", sid, {"subnetId": sid, "vpcId": "vpc-2d96be57"})
        for sid in ("subnet-cad1f2f4", "subnet-0000beef")
    ]
    for e in subnets:
        assert invoke("discover-config-item", e)["outcome"] == "created"
    first = invoke("discover-config-item", SAMPLE)
    assert first["relations"]["relations_added"] == 1
    ids = [ci_by_arn(e["detail"]["configurationItem"]["ARN"], "subnet")["id"] for e in subnets]
    # someone relates the instance by hand: discovery must leave that edge alone
    status, body, _ = call_api(
        "add-relation",
        path_params={"ci_id": first["ci_id"]},
        body={"type": "connects_to", "target": ids[1]},
    )
    assert status == 201, body
    moved = event("2023-04-27T16:00:00.000Z", subnetId="subnet-0000beef")
    for rel in moved["detail"]["configurationItem"]["relationships"]:
        if rel["resourceId"] == "subnet-cad1f2f4":
            rel["resourceId"] = "subnet-0000beef"
    got = invoke("discover-config-item", moved)
    assert got["relations"]["relations_removed"] == 1, got
    assert got["relations"]["relations_added"] == 1
    _, body, _ = call_api(
        "get-neighbors", path_params={"ci_id": first["ci_id"]}, query={"direction": "out"}
    )
    assert {(e["type"], e["target"]) for e in body["edges"]} == {
        ("member_of", ids[1]),
        ("connects_to", ids[1]),
    }
