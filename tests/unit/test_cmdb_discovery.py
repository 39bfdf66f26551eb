"""AWS Config items as CIs (mapping, relationships, bad items) and the per-attribute source
priority merge. Pure domain code."""

import copy
import json
from datetime import UTC, datetime

import pytest

from omp.domain.cmdb import discovery
from omp.domain.cmdb.discovery import BadConfigItem
from omp.domain.cmdb.sources import SourcePriority, merge
from tests.support import ROOT

EC2_EVENT = json.loads((ROOT / "events" / "discover-config-item.json").read_text())
EFS_EVENT = json.loads((ROOT / "tests" / "data" / "config_item_change_efs.json").read_text())


def test_the_ec2_sample_maps_to_an_ec2_instance_keyed_on_its_arn():
    item = discovery.from_event(EC2_EVENT)
    assert item.ci_type == "ec2_instance" and not item.deleted
    assert item.arn == "arn:aws:ec2:us-east-1:0123456789012:instance/i-042dd005362091826"
    assert item.name == "Minha"  # no resourceName: the Name tag
    assert item.captured_at == "2023-04-27T15:03:11.636Z"
    assert item.state_id == "1682607791636"
    assert item.attributes == {
        "arn": item.arn,
        "resource_id": "i-042dd005362091826",
        "configuration_state": "1682607791636",
        "config_captured_at": "2023-04-27T15:03:11.636Z",
        "account_id": "0123456789012",
        "region": "us-east-1",
        "instance_id": "i-042dd005362091826",
        "instance_type": "t2.medium",
        "state": "stopped",
        "private_ip": "172.31.78.41",
        "public_ip": "3.232.229.57",
        "subnet_id": "subnet-cad1f2f4",
        "vpc_id": "vpc-2d96be57",
        "launched_at": "2023-04-27T14:57:16.000Z",
    }


def test_relationship_names_become_relation_types():
    rels = set(discovery.from_event(EC2_EVENT).relationships)
    assert ("member_of", "AWS::EC2::Subnet", "subnet-cad1f2f4") in rels
    assert ("member_of", "AWS::EC2::VPC", "vpc-2d96be57") in rels
    assert ("member_of", "AWS::EC2::SecurityGroup", "sg-0fb295a327d9b4835") in rels
    assert ("contains", "AWS::EC2::NetworkInterface", "eni-034dd31c4b17ada8c") in rels
    assert ("connects_to", "AWS::EC2::Volume", "vol-0a288b5eb9fea4b30") in rels
    assert discovery.relation_for("Is associated with Role", "AWS::IAM::Role") == "connects_to"


def test_deleted_and_not_recorded_items_retire():
    for status in ("ResourceDeleted", "ResourceNotRecorded", "ResourceDeletedNotRecorded"):
        event = copy.deepcopy(EC2_EVENT)
        event["detail"]["configurationItem"]["configurationItemStatus"] = status
        event["detail"]["configurationItem"]["configuration"] = None
        item = discovery.from_event(event)
        assert item.deleted and item.attributes["arn"] == item.arn


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda e: e["detail"]["configurationItem"].pop("ARN"), "ARN is missing"),
        (lambda e: e["detail"]["configurationItem"].pop("resourceId"), "resourceId is missing"),
        (lambda e: e["detail"]["configurationItem"].pop("resourceType"), "resourceType"),
        (
            lambda e: e["detail"]["configurationItem"].pop("configurationItemCaptureTime"),
            "CaptureTime is missing",
        ),
        (
            lambda e: e["detail"]["configurationItem"].update(configurationItemCaptureTime="x"),
            "not a time",
        ),
        (lambda e: e["detail"].pop("configurationItem"), "configurationItem is missing"),
        (lambda e: e.pop("detail"), "no detail"),
        (
            lambda e: e["detail"].update(
                messageType="OversizedConfigurationItemChangeNotification"
            ),
            "oversized",
        ),
        (lambda e: e["detail"]["configurationItem"].update(configuration=[1]), "not an object"),
    ],
)
def test_bad_items_say_why(change, reason):
    event = copy.deepcopy(EC2_EVENT)
    change(event)
    with pytest.raises(BadConfigItem, match=reason):
        discovery.from_event(event)


def test_a_resource_type_the_cmdb_does_not_keep_is_refused():
    with pytest.raises(BadConfigItem, match="AWS::EFS::FileSystem is not discovered"):
        discovery.from_event(EFS_EVENT)


def test_batch_get_items_have_json_text_configuration_and_datetime_capture_times():
    raw = {
        "resourceType": "AWS::EC2::Subnet",
        "resourceId": "subnet-1",
        "arn": "arn:aws:ec2:eu-west-1:1:subnet/subnet-1",
        "accountId": "1",
        "awsRegion": "eu-west-1",
        "configurationItemCaptureTime": datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
        "configurationItemStatus": "OK",
        "configurationStateId": "17",
        "configuration": json.dumps(
            {"subnetId": "subnet-1", "vpcId": "vpc-1", "cidrBlock": "10.0.1.0/24"}
        ),
    }
    item = discovery.parse(raw)
    assert item.captured_at == "2024-01-02T03:04:05.000Z" and item.name == "subnet-1"
    assert item.attributes["vpc_id"] == "vpc-1" and item.attributes["cidr_block"] == "10.0.1.0/24"
    assert item.attributes["account_id"] == "1"
    assert discovery.parse(dict(raw, configurationItemCaptureTime=1704164645.0)).captured_at == (
        "2024-01-02T03:04:05.000Z"
    )
    assert discovery.resource_key("subnet", item.attributes) == {
        "resourceType": "AWS::EC2::Subnet",
        "resourceId": "subnet-1",
    }
    assert discovery.resource_key("team", {}) is None


# ---- source priority ----------------------------------------------------------------------------


def _merge(current, owners, changes, source, priority=None, conflicts=None, ci_sources=("api",)):
    return merge(
        current,
        owners,
        list(ci_sources),
        conflicts or {},
        changes,
        source,
        priority=priority or SourcePriority(),
        types=["ec2_instance", "aws_resource"],
        at="2026-01-01T00:00:00.000Z",
    )


def test_a_manual_value_beats_a_discovered_one_and_the_conflict_is_kept():
    got = _merge(
        {"instance_type": "t3.large", "state": "running"},
        {"instance_type": "manual", "state": "aws-config"},
        {"instance_type": "t2.micro", "state": "stopped"},
        "aws-config",
    )
    assert got.changes == {"state": "stopped"}
    assert got.sources == {"instance_type": "manual", "state": "aws-config"}
    assert got.conflicts == {
        "instance_type": {
            "value": "t2.micro",
            "source": "aws-config",
            "kept_source": "manual",
            "at": "2026-01-01T00:00:00.000Z",
        }
    }
    # the same losing value again: the recorded conflict stays as it was (no change)
    again = merge(
        {"instance_type": "t3.large", "state": "stopped"},
        got.sources,
        ["manual", "aws-config"],
        got.conflicts,
        {"instance_type": "t2.micro", "state": "stopped"},
        "aws-config",
        priority=SourcePriority(),
        types=["ec2_instance"],
        at="2026-01-02T00:00:00.000Z",
    )
    assert again.changes == {} and again.conflicts == got.conflicts


def test_a_higher_source_overrides_and_settles_the_conflict():
    conflicts = {"instance_type": {"value": "t2.micro", "source": "aws-config"}}
    got = _merge(
        {"instance_type": "t3.large"},
        {"instance_type": "aws-config"},
        {"instance_type": "t3.xlarge"},
        "manual",
        conflicts=conflicts,
    )
    assert got.changes == {"instance_type": "t3.xlarge"} and got.conflicts == {}
    assert got.sources == {"instance_type": "manual"}
    # discovery agreeing with the kept value settles it too
    got = _merge(
        {"instance_type": "t3.large"},
        {"instance_type": "manual"},
        {"instance_type": "t3.large"},
        "aws-config",
        conflicts=conflicts,
    )
    assert got.changes == {} and got.conflicts == {}


def test_equal_and_unlisted_sources_write_as_before():
    got = _merge({"a": 1}, {"a": "aws-config"}, {"a": 2}, "aws-config")
    assert got.changes == {"a": 2} and not got.conflicts
    got = _merge({"a": 1}, {"a": "manual"}, {"a": 2}, "terraform")
    assert got.changes == {"a": 2} and got.sources == {"a": "terraform"}
    # a CI from before per-attribute sources: its only source holds every attribute
    got = _merge({"a": 1}, {}, {"a": 2}, "netbox", ci_sources=("api",))
    assert got.changes == {} and got.conflicts["a"]["kept_source"] == "api"
    # with several sources the holder is unknown: the newer write wins
    got = _merge({"a": 1}, {}, {"a": 2}, "netbox", ci_sources=("api", "netbox"))
    assert got.changes == {"a": 2}


def test_priority_per_type_and_per_attribute():
    priority = SourcePriority.from_config(
        {
            "by_type": {"aws_resource": ["aws-config", "manual"]},
            "by_attribute": {"ec2_instance.owner": ["manual", "aws-config"]},
        }
    )
    assert priority.order(["ec2_instance", "aws_resource"], "state") == ("aws-config", "manual")
    assert priority.order(["ec2_instance", "aws_resource"], "owner") == ("manual", "aws-config")
    assert priority.order(["service"], "x") == SourcePriority().default
    got = _merge({"state": "running"}, {"state": "aws-config"}, {"state": "x"}, "manual", priority)
    assert got.changes == {} and got.conflicts["state"]["kept_source"] == "aws-config"
    assert SourcePriority.from_config(None) == SourcePriority()
