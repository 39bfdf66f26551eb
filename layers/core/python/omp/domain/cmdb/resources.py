"""Which CI an alarm's resource names: ARN, AWS resource id, or a service/application name.

Pure: answers the lookups to try, in order; `omp.services.cmdb.resolve_resource` runs them."""

from __future__ import annotations

import re
from dataclasses import dataclass

# (ARN service, resource prefix) -> CI type
_ARN_TYPES: list[tuple[str, str, str]] = [
    ("ec2", "instance/", "ec2_instance"),
    ("ec2", "subnet/", "subnet"),
    ("ec2", "vpc/", "vpc"),
    ("ec2", "security-group/", "security_group"),
    ("lambda", "function:", "lambda_function"),
    ("rds", "db:", "rds_instance"),
    ("dynamodb", "table/", "dynamodb_table"),
    ("elasticloadbalancing", "loadbalancer/", "load_balancer"),
    ("ecs", "service/", "ecs_service"),
    ("sqs", "", "sqs_queue"),
    ("sns", "", "sns_topic"),
]
# AWS resource ids -> (CI type, attribute holding them; each is unique)
_IDS: list[tuple[re.Pattern[str], str, str]] = [
    (re.compile(r"^i-[0-9a-f]{8,17}$"), "ec2_instance", "instance_id"),
    (re.compile(r"^subnet-[0-9a-f]{8,17}$"), "subnet", "subnet_id"),
    (re.compile(r"^vpc-[0-9a-f]{8,17}$"), "vpc", "vpc_id"),
    (re.compile(r"^sg-[0-9a-f]{8,17}$"), "security_group", "group_id"),
]


@dataclass(frozen=True)
class Lookup:
    type: str
    attribute: str | None  # None: the natural key


def lookups(resource: str) -> list[Lookup]:
    """The lookups to try for a resource string, most specific first."""
    resource = resource.strip()
    if resource.startswith("arn:"):
        parts = resource.split(":", 5)
        if len(parts) == 6:
            service, rest = parts[2], parts[5]
            for svc, prefix, type_name in _ARN_TYPES:
                if service == svc and rest.startswith(prefix):
                    return [Lookup(type_name, None)]
        return []
    for pattern, type_name, attribute in _IDS:
        if pattern.match(resource):
            return [Lookup(type_name, attribute)]
    # a name: services first, then applications (what an alert's `service` label names)
    return [Lookup("service", None), Lookup("application", None)]
