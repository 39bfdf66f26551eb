"""The built-in CI types: served next to the user's types, never stored, never changed by users.

Kept as data in code so every function (and the docs) sees the same definitions without a
table read. `aws_resource` and `netbox_object` are abstract parents that carry the attributes
their kinds share.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from omp.domain.cmdb.types import AttributeDef, CiType, DerivationRule, RelationRule


def _a(name: str, kind: str = "string", **extra: Any) -> AttributeDef:
    return AttributeDef.model_validate({"name": name, "type": kind, **extra})


def _r(relation: str, target: str, cardinality: str = "many") -> RelationRule:
    return RelationRule.model_validate(
        {"relation": relation, "target": target, "cardinality": cardinality}
    )


def _d(
    attribute: str, relation: str, target_type: str, target_attribute: str | None = None
) -> DerivationRule:
    return DerivationRule(
        attribute=attribute,
        relation=relation,
        target_type=target_type,
        target_attribute=target_attribute,
    )


def _t(
    name: str,
    description: str,
    attributes: list[AttributeDef] | None = None,
    relations: list[RelationRule] | None = None,
    *,
    parent: str | None = None,
    natural_key: str = "name",
    derive: list[DerivationRule] | None = None,
) -> CiType:
    return CiType(
        name=name,
        parent=parent,
        description=description,
        natural_key=natural_key,
        attributes=attributes or [],
        relations=relations or [],
        derive=derive or [],
        builtin=True,
    )


_ENV = ["prod", "staging", "dev", "test"]
_TIER = ["tier0", "tier1", "tier2", "tier3"]
_COMPUTE = ["ec2_instance", "lambda_function", "ecs_service", "virtual_machine", "device"]


def _definitions() -> list[CiType]:
    aws = "aws_resource"
    nb = "netbox_object"
    return [
        # ---- what people run and who owns it --------------------------------------------------
        _t(
            "service",
            "A business or technical service: what users see fail.",
            [
                _a("tier", "enum", values=_TIER, indexed=True),
                _a("environment", "enum", values=_ENV, indexed=True),
                _a("description"),
                _a("runbook_url"),
            ],
            [
                _r("depends_on", "*"),
                _r("owned_by", "team", "one"),
                _r("runs_on", "*"),
            ],
        ),
        _t(
            "application",
            "A deployable application or component of a service.",
            [
                _a("environment", "enum", values=_ENV, indexed=True),
                _a("repository"),
                _a("app_version"),
                _a("language"),
            ],
            [
                _r("depends_on", "*"),
                _r("runs_on", "*"),
                _r("member_of", "service"),
                _r("owned_by", "team", "one"),
            ],
        ),
        _t(
            "team",
            "A team that owns services and is paged for them.",
            [_a("email"), _a("slack_channel"), _a("oncall_schedule")],
        ),
        # ---- AWS resources ---------------------------------------------------------------------
        _t(
            aws,
            "Any AWS resource: the attributes every kind shares (found by ARN).",
            [
                _a("arn", unique=True, indexed=True),
                _a("account_id", indexed=True),
                _a("region", indexed=True),
                _a("resource_id", indexed=True),
                _a("configuration_state"),
                # AWS Config discovery (omp.services.cmdb_discovery): the capture time of the
                # item last applied, and since when the reconcile no longer finds the resource
                _a("config_captured_at", "datetime"),
                _a("stale_since", "datetime"),
            ],
            [
                _r("depends_on", "*"),
                _r("owned_by", "team", "one"),
                _r("connects_to", "*"),
            ],
            natural_key="arn",
        ),
        _t(
            "vpc",
            "An Amazon VPC.",
            [_a("vpc_id", unique=True, indexed=True), _a("cidr_block", "cidr")],
            parent=aws,
        ),
        _t(
            "subnet",
            "A VPC subnet.",
            [
                _a("subnet_id", unique=True, indexed=True),
                _a("vpc_id", indexed=True),
                _a("cidr_block", "cidr"),
                _a("availability_zone", indexed=True),
            ],
            [_r("member_of", "vpc", "one")],
            parent=aws,
            derive=[_d("vpc_id", "member_of", "vpc", "vpc_id")],
        ),
        _t(
            "security_group",
            "A VPC security group.",
            [_a("group_id", unique=True, indexed=True), _a("vpc_id", indexed=True)],
            [_r("member_of", "vpc", "one")],
            parent=aws,
            derive=[_d("vpc_id", "member_of", "vpc", "vpc_id")],
        ),
        _t(
            "ec2_instance",
            "An EC2 instance.",
            [
                _a("instance_id", unique=True, indexed=True),
                _a("instance_type", indexed=True),
                _a(
                    "state",
                    "enum",
                    values=[
                        "pending",
                        "running",
                        "stopping",
                        "stopped",
                        "shutting-down",
                        "terminated",
                    ],
                ),
                _a("private_ip", "ip", indexed=True),
                _a("public_ip", "ip"),
                _a("subnet_id", indexed=True),
                _a("vpc_id", indexed=True),
                _a("launched_at", "datetime"),
            ],
            [_r("member_of", "subnet", "one"), _r("member_of", "security_group")],
            parent=aws,
            derive=[_d("subnet_id", "member_of", "subnet", "subnet_id")],
        ),
        _t(
            "lambda_function",
            "An AWS Lambda function.",
            [_a("function_name", indexed=True), _a("runtime"), _a("memory_mb", "int")],
            [_r("member_of", "subnet"), _r("member_of", "security_group")],
            parent=aws,
        ),
        _t(
            "rds_instance",
            "An RDS database instance.",
            [
                # unique per account and region only (a user's name, unlike AWS-made ids such as
                # instance_id): two accounts of one aggregator may both have "prod-db"
                _a("db_instance_identifier", indexed=True),
                _a("engine", indexed=True),
                _a("engine_version"),
                _a("multi_az", "bool"),
                _a("endpoint"),
            ],
            [_r("member_of", "subnet"), _r("member_of", "security_group")],
            parent=aws,
        ),
        _t(
            "dynamodb_table",
            "A DynamoDB table.",
            [_a("table_name", indexed=True), _a("billing_mode")],
            parent=aws,
        ),
        _t(
            "load_balancer",
            "An Elastic Load Balancer (application, network or gateway).",
            [
                _a("dns_name", indexed=True),
                _a("scheme", "enum", values=["internet-facing", "internal"]),
                _a("lb_type", "enum", values=["application", "network", "gateway", "classic"]),
                _a("vpc_id", indexed=True),
            ],
            [
                _r("member_of", "subnet"),
                _r("member_of", "security_group"),
                _r("member_of", "vpc", "one"),
            ],
            parent=aws,
            derive=[_d("vpc_id", "member_of", "vpc", "vpc_id")],
        ),
        _t(
            "sqs_queue",
            "An SQS queue.",
            [_a("queue_url", indexed=True), _a("fifo", "bool")],
            parent=aws,
        ),
        _t("sns_topic", "An SNS topic.", [_a("topic_name", indexed=True)], parent=aws),
        _t(
            "ecs_service",
            "An ECS service.",
            [
                _a("cluster_arn", indexed=True),
                _a("launch_type", "enum", values=["EC2", "FARGATE", "EXTERNAL"]),
                _a("desired_count", "int"),
            ],
            [
                _r("member_of", "subnet"),
                _r("member_of", "security_group"),
                _r("runs_on", "ec2_instance"),
            ],
            parent=aws,
        ),
        # ---- NetBox kinds ----------------------------------------------------------------------
        _t(
            nb,
            "Any object imported from NetBox: its NetBox id keeps re-imports idempotent.",
            [_a("netbox_id", "int", indexed=True), _a("netbox_url")],
            [_r("owned_by", "tenant", "one")],
            natural_key="netbox_id",
        ),
        _t("tenant", "A NetBox tenant.", [_a("slug", indexed=True)], parent=nb),
        _t(
            "site",
            "A NetBox site.",
            [
                _a("slug", indexed=True),
                _a("facility"),
                _a("region"),
                _a(
                    "site_status",
                    "enum",
                    values=["planned", "staging", "active", "decommissioning", "retired"],
                ),
            ],
            [_r("contains", "rack"), _r("contains", "device")],
            parent=nb,
        ),
        _t(
            "rack",
            "A NetBox rack.",
            [_a("site"), _a("u_height", "int"), _a("serial")],
            [_r("contains", "device"), _r("member_of", "site", "one")],
            parent=nb,
        ),
        _t(
            "device",
            "A NetBox device (server, switch, router, PDU, ...).",
            [
                _a("serial", indexed=True),
                _a("asset_tag", indexed=True),
                _a("role", indexed=True),
                _a("device_type"),
                _a("platform"),
                _a("primary_ip", "ip", indexed=True),
                _a("position", "float"),
            ],
            [
                _r("member_of", "rack", "one"),
                _r("member_of", "site", "one"),
                _r("contains", "interface"),
                _r("connects_to", "device"),
                _r("member_of", "cluster"),
            ],
            parent=nb,
        ),
        _t(
            "interface",
            "A NetBox interface of a device.",
            [
                _a("device"),
                _a("mac_address", indexed=True),
                _a("kind"),
                _a("enabled", "bool"),
                _a("mtu", "int"),
            ],
            [
                _r("member_of", "device", "one"),
                _r("connects_to", "interface"),
                _r("member_of", "vlan"),
            ],
            parent=nb,
        ),
        _t(
            "cable",
            "A NetBox cable between two interfaces (also a connects_to edge between devices).",
            [_a("label"), _a("kind"), _a("color"), _a("length", "float")],
            [_r("connects_to", "interface")],
            parent=nb,
        ),
        _t(
            "cluster",
            "A NetBox virtualization cluster.",
            [_a("cluster_type"), _a("site")],
            [_r("member_of", "site", "one"), _r("runs_on", "device")],
            parent=nb,
        ),
        _t(
            "virtual_machine",
            "A NetBox virtual machine.",
            [
                _a("vcpus", "float"),
                _a("memory_mb", "int"),
                _a("disk_gb", "int"),
                _a("primary_ip", "ip", indexed=True),
                _a("role", indexed=True),
            ],
            [_r("runs_on", "cluster", "one"), _r("runs_on", "device", "one")],
            parent=nb,
        ),
        _t(
            "prefix",
            "A NetBox IP prefix.",
            [_a("prefix", "cidr", indexed=True), _a("vrf"), _a("role")],
            [_r("member_of", "vlan", "one"), _r("member_of", "site", "one")],
            parent=nb,
        ),
        _t(
            "ip_address",
            "A NetBox IP address.",
            # `address` as NetBox writes it, host and mask (192.168.0.1/22): a cidr would keep
            # only the network
            [_a("address", indexed=True), _a("dns_name", indexed=True), _a("role")],
            [_r("member_of", "interface", "one"), _r("member_of", "prefix", "one")],
            parent=nb,
        ),
        _t(
            "vlan",
            "A NetBox VLAN.",
            [_a("vid", "int", indexed=True), _a("site")],
            [_r("member_of", "site", "one")],
            parent=nb,
        ),
        _t(
            "circuit",
            "A NetBox circuit from a provider.",
            [_a("cid", indexed=True), _a("provider", indexed=True), _a("commit_rate_kbps", "int")],
            [_r("connects_to", "site"), _r("connects_to", "interface")],
            parent=nb,
        ),
    ]


@cache
def builtin_types() -> dict[str, CiType]:
    return {t.name: t for t in _definitions()}


def is_builtin(name: str) -> bool:
    return name in builtin_types()


ABSTRACT = frozenset({"aws_resource", "netbox_object"})
COMPUTE_TYPES = tuple(_COMPUTE)
