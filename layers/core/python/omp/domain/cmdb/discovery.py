"""AWS Config configuration items as CIs. Pure: no I/O.

A Config item (from a "Configuration Item Change" event or BatchGetResourceConfig) is mapped to
`{type, name, attributes}` of a built-in AWS CI type, keyed on its ARN (the AWS types' natural
key); its `relationships` become `(relation, Config resource type, resource id)` triples.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

SOURCE = "aws-config"
DELETED = frozenset({"ResourceDeleted", "ResourceDeletedNotRecorded", "ResourceNotRecorded"})

# Config resource type -> CI type (the built-in AWS kinds)
RESOURCE_TYPES: dict[str, str] = {
    "AWS::EC2::Instance": "ec2_instance",
    "AWS::Lambda::Function": "lambda_function",
    "AWS::RDS::DBInstance": "rds_instance",
    "AWS::DynamoDB::Table": "dynamodb_table",
    "AWS::ElasticLoadBalancingV2::LoadBalancer": "load_balancer",
    "AWS::SQS::Queue": "sqs_queue",
    "AWS::SNS::Topic": "sns_topic",
    "AWS::EC2::VPC": "vpc",
    "AWS::EC2::Subnet": "subnet",
    "AWS::EC2::SecurityGroup": "security_group",
    "AWS::ECS::Service": "ecs_service",
}
CI_TYPES: dict[str, str] = {v: k for k, v in RESOURCE_TYPES.items()}

# CI attribute -> path into `configuration` (tried case-insensitively: Config writes `vpcId`
# for EC2 and `VpcId` for others, and its casing has changed between versions)
_FIELDS: dict[str, dict[str, tuple[str, ...]]] = {
    "ec2_instance": {
        "instance_id": ("instanceId",),
        "instance_type": ("instanceType",),
        "state": ("state", "name"),
        "private_ip": ("privateIpAddress",),
        "public_ip": ("publicIpAddress",),
        "subnet_id": ("subnetId",),
        "vpc_id": ("vpcId",),
        "launched_at": ("launchTime",),
    },
    "lambda_function": {
        "function_name": ("functionName",),
        "runtime": ("runtime",),
        "memory_mb": ("memorySize",),
    },
    "rds_instance": {
        "db_instance_identifier": ("dBInstanceIdentifier",),
        "engine": ("engine",),
        "engine_version": ("engineVersion",),
        "multi_az": ("multiAZ",),
        "endpoint": ("endpoint", "address"),
    },
    "dynamodb_table": {
        "table_name": ("tableName",),
        "billing_mode": ("billingModeSummary", "billingMode"),
    },
    "load_balancer": {
        "dns_name": ("dNSName",),
        "scheme": ("scheme",),
        "lb_type": ("type",),
        "vpc_id": ("vpcId",),
    },
    "sqs_queue": {"queue_url": ("QueueUrl",), "fifo": ("FifoQueue",)},
    "sns_topic": {},
    "vpc": {"vpc_id": ("vpcId",), "cidr_block": ("cidrBlock",)},
    "subnet": {
        "subnet_id": ("subnetId",),
        "vpc_id": ("vpcId",),
        "cidr_block": ("cidrBlock",),
        "availability_zone": ("availabilityZone",),
    },
    "security_group": {"group_id": ("groupId",), "vpc_id": ("vpcId",)},
    "ecs_service": {
        "cluster_arn": ("Cluster",),
        "launch_type": ("LaunchType",),
        "desired_count": ("DesiredCount",),
    },
}


class BadConfigItem(ValueError):
    """A Config item that cannot become a CI; the message is the reason logged."""


@dataclass(frozen=True)
class ConfigItem:
    resource_type: str
    resource_id: str
    ci_type: str
    arn: str
    status: str  # configurationItemStatus
    captured_at: str  # configurationItemCaptureTime, RFC 3339 UTC (ms)
    state_id: str  # configurationStateId
    name: str
    attributes: dict[str, Any] = field(default_factory=dict)
    relationships: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def deleted(self) -> bool:
        return self.status in DELETED


def _lookup(values: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(values, dict):
            return None
        if part in values:
            values = values[part]
            continue
        lowered = {str(k).lower(): v for k, v in values.items()}
        values = lowered.get(part.lower())
    return values


def _time(value: Any) -> str:
    """A capture time as RFC 3339 UTC with milliseconds: Config sends ISO strings in events;
    boto3 answers datetimes; epoch seconds or milliseconds also occur."""
    if isinstance(value, datetime):
        parsed = value if value.tzinfo else value.replace(tzinfo=UTC)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if value > 10**11 else value
        parsed = datetime.fromtimestamp(seconds, tz=UTC)
    elif isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise BadConfigItem(f"configurationItemCaptureTime {value!r} is not a time") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
    else:
        raise BadConfigItem("configurationItemCaptureTime is missing")
    return parsed.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def relation_for(name: str, target_type: str) -> str:
    """The CMDB relation a Config relationship name stands for (from the item to the related
    resource): "Is contained in Subnet" / "Is associated with SecurityGroup" -> member_of,
    "Contains NetworkInterface" -> contains, anything else ("Is attached to Volume") ->
    connects_to."""
    lowered = name.strip().lower()
    if lowered.startswith("is contained in"):
        return "member_of"
    if lowered.startswith("contains"):
        return "contains"
    if lowered.startswith("is associated with") and target_type == "AWS::EC2::SecurityGroup":
        return "member_of"
    return "connects_to"


def _tag_name(item: dict[str, Any]) -> str | None:
    tags = item.get("tags")
    if isinstance(tags, dict) and isinstance(tags.get("Name"), str) and tags["Name"].strip():
        return str(tags["Name"]).strip()
    return None


def parse(item: Any) -> ConfigItem:
    """A Config configuration item (the event's `configurationItem`, or a BatchGetResourceConfig
    `baseConfigurationItem`) as a ConfigItem; BadConfigItem says why it cannot be one."""
    if not isinstance(item, dict):
        raise BadConfigItem("configurationItem is missing or not an object")
    resource_type = item.get("resourceType")
    if not isinstance(resource_type, str) or not resource_type:
        raise BadConfigItem("resourceType is missing")
    ci_type = RESOURCE_TYPES.get(resource_type)
    if ci_type is None:
        raise BadConfigItem(f"resource type {resource_type} is not discovered into the CMDB")
    resource_id = item.get("resourceId")
    arn = item.get("ARN") or item.get("arn")
    if not isinstance(resource_id, str) or not resource_id:
        raise BadConfigItem("resourceId is missing")
    if not isinstance(arn, str) or not arn.startswith("arn:"):
        raise BadConfigItem("ARN is missing")
    status = str(item.get("configurationItemStatus") or "OK")
    captured = _time(item.get("configurationItemCaptureTime"))
    state_id = str(item.get("configurationStateId") or "")
    configuration = item.get("configuration")
    if isinstance(configuration, str):  # BatchGetResourceConfig answers it as JSON text
        try:
            configuration = json.loads(configuration) if configuration else {}
        except ValueError:
            raise BadConfigItem("configuration is not JSON") from None
    if configuration is None:
        configuration = {}
    if not isinstance(configuration, dict):
        raise BadConfigItem("configuration is not an object")
    attributes: dict[str, Any] = {
        "arn": arn,
        "resource_id": resource_id,
        "configuration_state": state_id or None,
        "config_captured_at": captured,
    }
    account = item.get("awsAccountId") or item.get("accountId")
    if isinstance(account, str) and account:
        attributes["account_id"] = account
    region = item.get("awsRegion")
    if isinstance(region, str) and region:
        attributes["region"] = region
    for attribute, path in _FIELDS[ci_type].items():
        value = _lookup(configuration, path)
        if value is not None and value != "":
            attributes[attribute] = value
    if ci_type == "sns_topic":
        attributes["topic_name"] = arn.rsplit(":", 1)[-1]
    attributes = {k: v for k, v in attributes.items() if v is not None}
    name = item.get("resourceName") or _tag_name(item) or resource_id
    relationships: list[tuple[str, str, str]] = []
    for rel in item.get("relationships") or []:
        if not isinstance(rel, dict):
            continue
        target_type, target_id = rel.get("resourceType"), rel.get("resourceId")
        rel_name = rel.get("name") or rel.get("relationshipName") or ""
        if isinstance(target_type, str) and isinstance(target_id, str) and target_id:
            relationships.append((relation_for(str(rel_name), target_type), target_type, target_id))
    return ConfigItem(
        resource_type=resource_type,
        resource_id=resource_id,
        ci_type=ci_type,
        arn=arn,
        status=status,
        captured_at=captured,
        state_id=state_id,
        name=str(name)[:256],
        attributes=attributes,
        relationships=relationships,
    )


def from_event(event: Any) -> ConfigItem:
    """The item of an EventBridge "Config Configuration Item Change" event."""
    if not isinstance(event, dict):
        raise BadConfigItem("the event is not an object")
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise BadConfigItem("the event has no detail")
    message = detail.get("messageType")
    if message == "OversizedConfigurationItemChangeNotification":
        # the item itself is in S3; the scheduled reconcile picks the change up
        raise BadConfigItem("an oversized item (only its summary is in the event)")
    if message not in (None, "ConfigurationItemChangeNotification"):
        raise BadConfigItem(f"messageType {message} is not a configuration item change")
    return parse(detail.get("configurationItem"))


def mapped_attributes(ci_type: str) -> list[str]:
    """The attributes a Config item of the type can set from its `configuration`."""
    return list(_FIELDS.get(ci_type, {}))


def resource_key(ci_type: str, attributes: dict[str, Any]) -> dict[str, str] | None:
    """The Config ResourceKey of a discovered CI (None: not a Config kind or no resource id)."""
    resource_type = CI_TYPES.get(ci_type)
    resource_id = attributes.get("resource_id")
    if resource_type is None or not isinstance(resource_id, str):
        return None
    return {"resourceType": resource_type, "resourceId": resource_id}


def located(attributes: dict[str, Any]) -> tuple[str, str] | None:
    """The (account, region) a discovered CI's resource lives in: the item's `account_id` and
    `region`, else the ARN's (`arn:partition:service:region:account:...`); None when neither
    says (the reconcile then cannot tell which account's Config answers for it)."""
    account, region = attributes.get("account_id"), attributes.get("region")
    arn = attributes.get("arn")
    if isinstance(arn, str) and arn.startswith("arn:"):
        parts = arn.split(":", 5)
        if len(parts) == 6:
            account = account if isinstance(account, str) and account else parts[4]
            region = region if isinstance(region, str) and region else parts[3]
    if isinstance(account, str) and account and isinstance(region, str) and region:
        return account, region
    return None
