"""Create every catalog resource in moto and resolve logical names to physical ones."""

from __future__ import annotations

import io
import json
import logging
import zipfile
from dataclasses import dataclass, field
from typing import Any

from boto3.session import Session

from infra import wiring
from infra.local import names

log = logging.getLogger("omp.local")

LAMBDA_ROLE = "omp-local-lambda"
SFN_ROLE = "omp-local-states"
_ASSUME = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]},
            "Action": "sts:AssumeRole",
        }
    ],
}


@dataclass
class Resources:
    """Physical names, URLs and ARNs of everything created, keyed by logical name."""

    tables: dict[str, str] = field(default_factory=dict)
    queue_urls: dict[str, str] = field(default_factory=dict)
    queue_arns: dict[str, str] = field(default_factory=dict)
    dlq_urls: dict[str, str] = field(default_factory=dict)
    buses: dict[str, str] = field(default_factory=dict)
    topics: dict[str, str] = field(default_factory=dict)
    buckets: dict[str, str] = field(default_factory=dict)
    machines: dict[str, str] = field(default_factory=dict)
    functions: dict[str, str] = field(default_factory=dict)  # catalog name -> Lambda ARN

    def resolve(self, kind: str, name: str) -> str:
        """The `wiring.ResourceResolver`: table/bus/bucket -> name, queue -> URL, topic/machine ->
        ARN; cognito/graph/search -> "" (no user pool: JWTs are refused; graph and search use the
        SQLite files named by OMP_GRAPH_PATH / OMP_SEARCH_PATH)."""
        if kind in ("cognito", "graph", "search"):
            return ""  # no user pool, Neptune or OpenSearch: the embedded defaults apply
        table: dict[str, dict[str, str]] = {
            "table": self.tables,
            "queue": self.queue_urls,
            "dlq": self.dlq_urls,
            "bus": self.buses,
            "topic": self.topics,
            "bucket": self.buckets,
            "machine": self.machines,
        }
        try:
            return table[kind][name]
        except KeyError:
            raise KeyError(f"unknown {kind} {name!r}") from None


def create_all(catalog: wiring.Catalog, session: Session) -> Resources:
    res = Resources(buses={wiring.DEFAULT_BUS: "default"})
    _create_tables(catalog, session, res)
    _create_queues(catalog, session, res)
    events = session.client("events")
    for bus in catalog.buses:
        if bus.name == wiring.DEFAULT_BUS:
            continue
        res.buses[bus.name] = names.physical(bus.name)
        events.create_event_bus(Name=res.buses[bus.name])
    sns = session.client("sns")
    for topic in catalog.topics:
        res.topics[topic.name] = sns.create_topic(Name=names.physical(topic.name))["TopicArn"]
    s3 = session.client("s3")
    for bucket in catalog.buckets:
        res.buckets[bucket.name] = names.physical(bucket.name)
        s3.create_bucket(
            Bucket=res.buckets[bucket.name], ObjectLockEnabledForBucket=bucket.object_lock
        )
        if bucket.object_lock:
            # Governance, one day: locally written anchors stay removable by an admin bypass.
            s3.put_object_lock_configuration(
                Bucket=res.buckets[bucket.name],
                ObjectLockConfiguration={
                    "ObjectLockEnabled": "Enabled",
                    "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}},
                },
            )
    _create_functions(catalog, session, res)
    _create_state_machines(catalog, session, res)
    return res


def _create_tables(catalog: wiring.Catalog, session: Session, res: Resources) -> None:
    """Tables exactly as the catalog's `create_table_request` describes them (TTL included)."""
    ddb = session.client("dynamodb")
    for table in catalog.tables:
        physical = names.physical(table.name)
        res.tables[table.name] = physical
        ddb.create_table(**wiring.create_table_request(table, physical))  # type: ignore[arg-type]
        ddb.update_time_to_live(
            TableName=physical,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": wiring.ttl_attribute(table)},
        )


def create_queue(
    session: Session, physical: str, visibility_timeout_s: int, max_receive_count: int
) -> tuple[str, str, str]:
    """A queue with its `<name>-dlq` and redrive policy; returns (url, arn, dlq url)."""
    sqs = session.client("sqs")
    dlq_url = sqs.create_queue(
        QueueName=names.dlq(physical), Attributes={"MessageRetentionPeriod": "1209600"}
    )["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive_count)}
    url = sqs.create_queue(
        QueueName=physical,
        Attributes={
            "VisibilityTimeout": str(visibility_timeout_s),
            "RedrivePolicy": json.dumps(redrive),
        },
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return url, arn, dlq_url


def _create_queues(catalog: wiring.Catalog, session: Session, res: Resources) -> None:
    for queue in catalog.queues:
        url, arn, dlq_url = create_queue(
            session, names.physical(queue.name), queue.visibility_timeout_s, queue.max_receive_count
        )
        res.queue_urls[queue.name] = url
        res.queue_arns[queue.name] = arn
        res.dlq_urls[queue.name] = dlq_url


def _dummy_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("index.py", "def lambda_handler(event, context):\n    return event\n")
    return buf.getvalue()


def _create_functions(catalog: wiring.Catalog, session: Session, res: Resources) -> None:
    """One moto Lambda function per catalog function; its invoke is routed in-process."""
    iam = session.client("iam")
    role_arn = iam.create_role(RoleName=LAMBDA_ROLE, AssumeRolePolicyDocument=json.dumps(_ASSUME))[
        "Role"
    ]["Arn"]
    lam = session.client("lambda")
    code = _dummy_zip()
    for fn in catalog.functions:
        out = lam.create_function(
            FunctionName=names.physical(fn.name),
            Runtime="python3.13",
            Role=role_arn,
            Handler=f"{fn.handler.replace('/', '.')}.lambda_handler",
            Code={"ZipFile": code},
            Timeout=fn.timeout_s,
            MemorySize=fn.memory_mb,
            Architectures=["arm64"],
        )
        res.functions[fn.name] = out["FunctionArn"]


def resolve_definition(definition: Any, functions: dict[str, str]) -> Any:
    """Replace `fn:<name>` in Task `Resource` / `FunctionName` fields with the Lambda ARN."""
    if isinstance(definition, dict):
        out: dict[str, Any] = {}
        for key, value in definition.items():
            if (
                key in ("Resource", "FunctionName")
                and isinstance(value, str)
                and value.startswith("fn:")
            ):
                name = value[3:]
                if name not in functions:
                    raise ValueError(f"state machine refers to unknown function {name!r}")
                out[key] = functions[name]
            else:
                out[key] = resolve_definition(value, functions)
        return out
    if isinstance(definition, list):
        return [resolve_definition(v, functions) for v in definition]
    return definition


def _create_state_machines(catalog: wiring.Catalog, session: Session, res: Resources) -> None:
    if not catalog.state_machines:
        return
    iam = session.client("iam")
    role_arn = iam.create_role(RoleName=SFN_ROLE, AssumeRolePolicyDocument=json.dumps(_ASSUME))[
        "Role"
    ]["Arn"]
    sfn = session.client("stepfunctions")
    for machine in catalog.state_machines:
        definition = resolve_definition(dict(machine.definition), res.functions)
        res.machines[machine.name] = sfn.create_state_machine(
            name=names.physical(machine.name), definition=json.dumps(definition), roleArn=role_arn
        )["stateMachineArn"]


def function_environments(catalog: wiring.Catalog, res: Resources) -> dict[str, dict[str, str]]:
    return {fn.name: wiring.environment(fn, res.resolve, names.STAGE) for fn in catalog.functions}
