"""Agreement checks between a catalog and synthesized templates.

Each check returns a list of problems (empty = agreement), so tests can also assert that a
deliberately wrong catalog or template IS reported.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from infra import wiring
from infra.stacks.naming import Names
from infra.wiring import Catalog
from tests.infra.synth import Synth

WRITE_ACTIONS = {
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
}
READ_ACTIONS = {
    "dynamodb:GetItem",
    "dynamodb:Query",
    "dynamodb:BatchGetItem",
    "dynamodb:ConditionCheckItem",
}
CONSUME_ACTIONS = {"sqs:ReceiveMessage", "sqs:DeleteMessage"}
NO_RESOURCE_LEVEL = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def name_pattern(physical: str, bucket: bool = False) -> re.Pattern[str]:
    # A bucket's physical name continues with account/region tokens after "<prefix>-".
    tail = r'-"' if bucket else r"(?![A-Za-z0-9-])"
    return re.compile(r"(?<![A-Za-z0-9-])" + re.escape(physical) + tail)


class Resources:
    """Physical-name patterns of every catalog resource, by (kind, logical name)."""

    def __init__(self, catalog: Catalog, stage: str) -> None:
        n = Names(stage)
        self.patterns: dict[tuple[str, str], re.Pattern[str]] = {}
        for t in catalog.tables:
            self.patterns[("table", t.name)] = name_pattern(n.table(t.name))
        for q in catalog.queues:
            self.patterns[("queue", q.name)] = name_pattern(n.queue(q.name))
            self.patterns[("dlq", q.name)] = name_pattern(n.dlq(q.name))
        for b in catalog.buses:
            self.patterns[("bus", b.name)] = name_pattern(n.bus(b.name))
        for t in catalog.topics:
            self.patterns[("topic", t.name)] = name_pattern(n.topic(t.name))
        for b in catalog.buckets:
            self.patterns[("bucket", b.name)] = name_pattern(
                n.bucket_prefix(b.name)[:-1], bucket=True
            )
        for m in catalog.state_machines:
            self.patterns[("machine", m.name)] = name_pattern(n.machine(m.name))

    def named_in(self, text: str) -> set[tuple[str, str]]:
        return {key for key, pattern in self.patterns.items() if pattern.search(text)}


def allowed_resources(fn: wiring.Function) -> set[tuple[str, str]]:
    allowed = {("table", t) for t in fn.tables}
    if fn.idempotent:
        allowed.add(("table", "idempotency"))
    allowed |= {("bus", b) for b in fn.buses}
    allowed |= {("queue", q) for q in fn.queues}
    allowed |= {("topic", t) for t in fn.topics}
    allowed |= {("bucket", b) for b in fn.buckets}
    allowed |= {("machine", m) for m in fn.state_machines}
    if isinstance(fn.trigger, wiring.QueueTrigger):
        allowed.add(("queue", fn.trigger.queue))
        if fn.dead_letters:
            allowed.add(("dlq", fn.trigger.queue))
    return allowed


def lambda_by_name(synth: Synth, physical: str) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        r
        for r in synth.resources("AWS::Lambda::Function")
        if r[2]["Properties"].get("FunctionName") == physical
    ]


def role_statements(
    synth: Synth, stack: str, fn_resource: dict[str, Any]
) -> tuple[list[dict[str, Any]], list[Any]]:
    role_ref = fn_resource["Properties"]["Role"]
    role_id = role_ref["Fn::GetAtt"][0]
    template = synth.templates[stack]
    role = template["Resources"][role_id]
    statements = []
    for res in template["Resources"].values():
        if res["Type"] == "AWS::IAM::Policy" and {"Ref": role_id} in res["Properties"].get(
            "Roles", []
        ):
            statements += res["Properties"]["PolicyDocument"]["Statement"]
    statements += [
        s for p in role["Properties"].get("Policies", []) for s in p["PolicyDocument"]["Statement"]
    ]
    return statements, role["Properties"].get("ManagedPolicyArns", [])


def api_paths(template: dict[str, Any]) -> dict[str, str]:
    """ApiGateway::Resource logical id -> full path."""
    resources = {
        lid: r
        for lid, r in template["Resources"].items()
        if r["Type"] == "AWS::ApiGateway::Resource"
    }

    def path(lid: str) -> str:
        props = resources[lid]["Properties"]
        parent = props["ParentId"]
        prefix = path(parent["Ref"]) if "Ref" in parent else ""
        return f"{prefix}/{props['PathPart']}"

    return {lid: path(lid) for lid in resources}


def check_functions(synth: Synth, catalog: Catalog | None = None) -> list[str]:
    """Every catalog function has exactly one Lambda agreeing with its entry."""
    catalog = catalog or synth.catalog
    names = Names(synth.stage)
    known = Resources(catalog, synth.stage)
    problems: list[str] = []
    api = next((t for s, t in synth.templates.items() if s == "Api"), None)
    paths = api_paths(api) if api else {}
    authorizers = [
        (lid, r)
        for lid, r in (api or {}).get("Resources", {}).items()
        if r["Type"] == "AWS::ApiGateway::Authorizer"
    ]
    all_lambdas = synth.resources("AWS::Lambda::Function")
    catalog_names = {names.function(fn.name) for fn in catalog.functions}
    for _, lid, res in all_lambdas:
        physical = res["Properties"].get("FunctionName")
        if physical not in catalog_names:
            problems.append(f"Lambda {lid} ({physical}) is not in the catalog")

    for fn in catalog.functions:
        physical = names.function(fn.name)
        found = lambda_by_name(synth, physical)
        if len(found) != 1:
            problems.append(f"{fn.name}: {len(found)} Lambda functions named {physical}")
            continue
        stack, lid, res = found[0]
        props = res["Properties"]
        module = fn.handler.split("/", 1)[1]
        expect = {
            "Handler": f"{module}.lambda_handler",
            "Runtime": "python3.13",
            "Architectures": ["arm64"],
            "MemorySize": fn.memory_mb,
            "Timeout": fn.timeout_s,
            "TracingConfig": {"Mode": "Active"},
        }
        for key, value in expect.items():
            if props.get(key) != value:
                problems.append(f"{fn.name}: {key} is {props.get(key)!r}, expected {value!r}")
        if "LogGroup" not in props.get("LoggingConfig", {}):
            problems.append(f"{fn.name}: no dedicated log group")
        if fn.in_vpc and not props.get("VpcConfig", {}).get("SecurityGroupIds"):
            problems.append(f"{fn.name}: graph/search function is not in the VPC")
        if not fn.in_vpc and "VpcConfig" in props:
            problems.append(f"{fn.name}: in the VPC without graph/search")

        # ---- environment ----
        def resolver(kind: str, name: str) -> str:
            return f"<{kind}:{name}>"

        expected_env = wiring.environment(fn, resolver, synth.stage)
        env = props.get("Environment", {}).get("Variables", {})
        if set(env) != set(expected_env):
            problems.append(
                f"{fn.name}: environment keys differ: missing {sorted(set(expected_env) - set(env))}, "
                f"extra {sorted(set(env) - set(expected_env))}"
            )
        for key, value in expected_env.items():
            if key not in env:
                continue
            m = re.fullmatch(r"<(\w+):(.+)>", value)
            if m is None:
                if env[key] != value:
                    problems.append(f"{fn.name}: env {key}={env[key]!r}, expected {value!r}")
                continue
            kind, name = m.groups()
            pattern = known.patterns.get((kind, name))
            if pattern is not None and not pattern.search(dumps(env[key])):
                problems.append(f"{fn.name}: env {key} does not name the {kind} {name}")

        # ---- IAM ----
        statements, managed = role_statements(synth, stack, res)
        allowed = allowed_resources(fn)
        for st in statements:
            if st.get("Effect") != "Allow":
                continue
            actions = set(as_list(st.get("Action", [])))
            text = dumps(st.get("Resource"))
            named = known.named_in(text)
            extra = named - allowed
            if extra:
                problems.append(
                    f"{fn.name}: IAM statement names resources outside its catalog entry: {sorted(extra)}"
                )
            if "*" in actions or any(a.endswith(":*") for a in actions):
                problems.append(f"{fn.name}: wildcard action {sorted(actions)}")
            # `*` only for actions without resource-level permissions: X-Ray, and the catalog
            # entry's own `aws_actions` (e.g. cloudwatch:GetMetricData)
            star_ok = NO_RESOURCE_LEVEL | set(fn.aws_actions)
            if st.get("Resource") == "*" and not actions <= star_ok:
                problems.append(f"{fn.name}: Resource * for {sorted(actions - star_ok)}")
            if set(fn.aws_actions) & actions and st.get("Resource") != "*":
                problems.append(f"{fn.name}: aws_actions {sorted(actions)} on a named resource")
            if actions & WRITE_ACTIONS:
                for kind, name in named:
                    if kind == "table":
                        access = (
                            "write"
                            if (name == "idempotency" and fn.idempotent)
                            else fn.tables.get(name)
                        )
                        if access != "write":
                            problems.append(
                                f"{fn.name}: write actions on table {name} (catalog: {access})"
                            )
            if actions & CONSUME_ACTIONS:
                for kind, name in named:
                    trigger_queue = (
                        fn.trigger.queue if isinstance(fn.trigger, wiring.QueueTrigger) else None
                    )
                    if kind == "queue" and name != trigger_queue:
                        problems.append(f"{fn.name}: consumes queue {name} it is not triggered by")
            if "sqs:SendMessage" in actions:
                for kind, name in named:
                    if kind == "queue" and name not in fn.queues:
                        problems.append(
                            f"{fn.name}: SendMessage on {name} not in its catalog queues"
                        )
        granted = {k for st in statements for k in known.named_in(dumps(st.get("Resource")))}
        for kind, name in allowed:
            if (kind, name) not in granted:
                problems.append(f"{fn.name}: no IAM grant for its {kind} {name}")
        for arn in managed:
            if not fn.in_vpc or "AWSLambdaVPCAccessExecutionRole" not in dumps(arn):
                problems.append(f"{fn.name}: unexpected managed policy {dumps(arn)}")

        # ---- trigger ----
        problems += check_trigger(synth, catalog, fn, stack, lid, api, paths, authorizers)
    return problems


def check_trigger(
    synth: Synth,
    catalog: Catalog,
    fn: wiring.Function,
    stack: str,
    lid: str,
    api: dict[str, Any] | None,
    paths: dict[str, str],
    authorizers: list[tuple[str, dict[str, Any]]],
) -> list[str]:
    names = Names(synth.stage)
    physical = names.function(fn.name)
    trigger = fn.trigger
    template = synth.templates[stack]
    problems: list[str] = []
    fn_ref_pattern = name_pattern(physical)

    fn_arn = {"Fn::GetAtt": [lid, "Arn"]}

    def properties(type_: str, where: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        """The Properties of this stack's resources of a type that `where` accepts."""
        return [
            r["Properties"]
            for r in template["Resources"].values()
            if r["Type"] == type_ and where(r["Properties"])
        ]

    def rules_targeting_fn() -> list[dict[str, Any]]:
        return properties(
            "AWS::Events::Rule",
            lambda props: any(t.get("Arn") == fn_arn for t in props.get("Targets", [])),
        )

    if isinstance(trigger, wiring.HttpRoute):
        if api is None:
            return [f"{fn.name}: no API stack"]
        matches = [
            r
            for r in api["Resources"].values()
            if r["Type"] == "AWS::ApiGateway::Method"
            and r["Properties"]["HttpMethod"] == trigger.method
            and paths.get(r["Properties"]["ResourceId"].get("Ref", "")) == trigger.path
        ]
        if len(matches) != 1:
            return [f"{fn.name}: {len(matches)} API methods for {trigger.method} {trigger.path}"]
        props = matches[0]["Properties"]
        if not fn_ref_pattern.search(dumps(props["Integration"].get("Uri"))):
            problems.append(
                f"{fn.name}: {trigger.method} {trigger.path} integrates another function"
            )
        if props["Integration"].get("Type") != "AWS_PROXY":
            problems.append(f"{fn.name}: integration is not a Lambda proxy")
        if trigger.permission == "public":
            if props.get("AuthorizationType") != "NONE":
                problems.append(
                    f"{fn.name}: public route has authorization {props.get('AuthorizationType')}"
                )
        else:
            if (
                props.get("AuthorizationType") != "CUSTOM"
                or len(authorizers) != 1
                or props.get("AuthorizerId") != {"Ref": authorizers[0][0]}
            ):
                problems.append(f"{fn.name}: route is not behind the single authorizer")
    elif isinstance(trigger, wiring.Authorizer):
        if len(authorizers) != 1:
            return [f"{fn.name}: {len(authorizers)} API authorizers"]
        props = authorizers[0][1]["Properties"]
        want = {
            "Type": "REQUEST",
            "IdentitySource": "method.request.header.Authorization",
            "AuthorizerResultTtlInSeconds": 300,
        }
        for key, value in want.items():
            if props.get(key) != value:
                problems.append(
                    f"{fn.name}: authorizer {key}={props.get(key)!r}, expected {value!r}"
                )
        if not fn_ref_pattern.search(dumps(props.get("AuthorizerUri"))):
            problems.append(f"{fn.name}: the API authorizer invokes another function")
    elif isinstance(trigger, wiring.QueueTrigger):
        queue_pattern = name_pattern(names.queue(trigger.queue))
        esms = properties(
            "AWS::Lambda::EventSourceMapping",
            lambda props: props.get("FunctionName") == {"Ref": lid},
        )
        if len(esms) != 1:
            return [f"{fn.name}: {len(esms)} event source mappings"]
        esm = esms[0]
        if not queue_pattern.search(dumps(esm.get("EventSourceArn"))):
            problems.append(f"{fn.name}: event source is not queue {trigger.queue}")
        if esm.get("FunctionResponseTypes") != ["ReportBatchItemFailures"]:
            problems.append(f"{fn.name}: no ReportBatchItemFailures")
        if esm.get("BatchSize") != trigger.batch_size:
            problems.append(f"{fn.name}: BatchSize {esm.get('BatchSize')} != {trigger.batch_size}")
        if esm.get("MaximumBatchingWindowInSeconds", 0) != trigger.max_batching_window_s:
            problems.append(f"{fn.name}: batching window differs")
    elif isinstance(trigger, wiring.EventRule):
        rules = rules_targeting_fn()
        if len(rules) != 1:
            return [f"{fn.name}: {len(rules)} EventBridge rules target it"]
        rule = rules[0]
        if rule.get("EventPattern") != dict(trigger.pattern):
            problems.append(
                f"{fn.name}: rule pattern {rule.get('EventPattern')} != {dict(trigger.pattern)}"
            )
        bus = rule.get("EventBusName")
        if trigger.bus == wiring.DEFAULT_BUS:
            if bus not in (None, "default"):
                problems.append(f"{fn.name}: rule is on bus {bus}, expected the default bus")
        elif not name_pattern(names.bus(trigger.bus)).search(dumps(bus)):
            problems.append(f"{fn.name}: rule is on bus {bus}, expected {names.bus(trigger.bus)}")
    elif isinstance(trigger, wiring.Schedule):
        rules = rules_targeting_fn()
        if [r.get("ScheduleExpression") for r in rules] != [trigger.expression]:
            problems.append(f"{fn.name}: schedule rules {rules} != {trigger.expression}")
    elif isinstance(trigger, wiring.TopicTrigger):
        subs = properties("AWS::SNS::Subscription", lambda props: props.get("Endpoint") == fn_arn)
        if len(subs) != 1 or not name_pattern(names.topic(trigger.topic)).search(
            dumps(subs[0].get("TopicArn"))
        ):
            problems.append(f"{fn.name}: not subscribed to topic {trigger.topic}")
    elif isinstance(trigger, wiring.DirectInvoke):
        perms = properties(
            "AWS::Lambda::Permission",
            lambda props: props.get("FunctionName") == fn_arn
            and props.get("Principal") == trigger.principal,
        )
        if len(perms) != 1:
            return [f"{fn.name}: {len(perms)} invoke permissions for {trigger.principal}"]
        if perms[0].get("SourceAccount") != {"Ref": "AWS::AccountId"}:
            problems.append(f"{fn.name}: {trigger.principal} is not limited to this account")
        source_arn = dumps(perms[0].get("SourceArn"))
        if trigger.source_arn and ":alarm:" in trigger.source_arn and ":alarm:" not in source_arn:
            problems.append(f"{fn.name}: {trigger.principal} is not limited to alarms")
    elif isinstance(trigger, wiring.StateMachineTask):
        machines = [
            r["Properties"]
            for _, _, r in synth.resources("AWS::StepFunctions::StateMachine")
            if r["Properties"].get("StateMachineName") == names.machine(trigger.machine)
        ]
        if len(machines) != 1 or not fn_ref_pattern.search(
            dumps(machines[0].get("DefinitionSubstitutions"))
        ):
            problems.append(f"{fn.name}: state machine {trigger.machine} does not resolve it")
    return problems


def check_data(synth: Synth) -> list[str]:
    """Queues have DLQs, tables PITR/KMS/TTL, TLS enforced, stage-dependent protection."""
    catalog, names, prod = synth.catalog, Names(synth.stage), synth.stage == "prod"
    problems: list[str] = []
    expected_deletion = "Retain" if prod else "Delete"

    def deny_insecure(policy_type: str, target_key: str, lid: str, stack: str) -> bool:
        for res in synth.templates[stack]["Resources"].values():
            if res["Type"] != policy_type:
                continue
            if {"Ref": lid} not in as_list(res["Properties"].get(target_key)) and res[
                "Properties"
            ].get(target_key) != {"Ref": lid}:
                continue
            for st in res["Properties"]["PolicyDocument"]["Statement"]:
                if (
                    st.get("Effect") == "Deny"
                    and st.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport")
                    == "false"
                ):
                    return True
        return False

    def allows_publish(service: str, lid: str, stack: str) -> bool:
        """The topic's policy lets `service` publish, from this account only."""
        for res in synth.templates[stack]["Resources"].values():
            if res["Type"] != "AWS::SNS::TopicPolicy":
                continue
            if {"Ref": lid} not in as_list(res["Properties"].get("Topics")):
                continue
            for st in res["Properties"]["PolicyDocument"]["Statement"]:
                if (
                    st.get("Effect") == "Allow"
                    and st.get("Principal") == {"Service": service}
                    and st.get("Action") == "sns:Publish"
                    and st.get("Condition", {}).get("StringEquals", {}).get("aws:SourceAccount")
                    == {"Ref": "AWS::AccountId"}
                ):
                    return True
        return False

    tables = {
        r[2]["Properties"].get("TableName"): r for r in synth.resources("AWS::DynamoDB::Table")
    }
    for spec in catalog.tables:
        found = tables.get(names.table(spec.name))
        if found is None:
            problems.append(f"table {spec.name}: missing")
            continue
        _, _, res = found
        props = res["Properties"]
        keys = [k["AttributeName"] for k in props["KeySchema"]]
        if keys != list(spec.keys):
            problems.append(f"table {spec.name}: keys {keys} != {list(spec.keys)}")
        if not props.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled"):
            problems.append(f"table {spec.name}: no PITR")
        sse = props.get("SSESpecification", {})
        if not (
            sse.get("SSEEnabled") and sse.get("SSEType") == "KMS" and sse.get("KMSMasterKeyId")
        ):
            problems.append(f"table {spec.name}: not KMS encrypted")
        ttl = props.get("TimeToLiveSpecification", {})
        if not ttl.get("Enabled") or ttl.get("AttributeName") != wiring.ttl_attribute(spec):
            problems.append(f"table {spec.name}: TTL {ttl}")
        if props.get("BillingMode") != "PAY_PER_REQUEST":
            problems.append(f"table {spec.name}: not on-demand")
        gsis = {g["IndexName"]: g for g in props.get("GlobalSecondaryIndexes", [])}
        if set(gsis) != set(spec.indexes):
            problems.append(f"table {spec.name}: indexes {sorted(gsis)} != {sorted(spec.indexes)}")
        for ix, g in gsis.items():
            if [k["AttributeName"] for k in g["KeySchema"]] != [f"{ix}pk", f"{ix}sk"] or g[
                "Projection"
            ] != {"ProjectionType": "ALL"}:
                problems.append(f"table {spec.name}: index {ix} keys/projection")
        if bool(props.get("DeletionProtectionEnabled")) != prod:
            problems.append(
                f"table {spec.name}: DeletionProtectionEnabled={props.get('DeletionProtectionEnabled')}"
            )
        if res.get("DeletionPolicy") != expected_deletion:
            problems.append(f"table {spec.name}: DeletionPolicy {res.get('DeletionPolicy')}")

    queues = {r[2]["Properties"].get("QueueName"): r for r in synth.resources("AWS::SQS::Queue")}
    for spec in catalog.queues:
        for physical in (names.queue(spec.name), names.dlq(spec.name)):
            found = queues.get(physical)
            if found is None:
                problems.append(f"queue {physical}: missing")
                continue
            stack, lid, res = found
            if not res["Properties"].get("KmsMasterKeyId"):
                problems.append(f"queue {physical}: not KMS encrypted")
            if not deny_insecure("AWS::SQS::QueuePolicy", "Queues", lid, stack):
                problems.append(f"queue {physical}: TLS not enforced")
            if res.get("DeletionPolicy") != expected_deletion:
                problems.append(f"queue {physical}: DeletionPolicy {res.get('DeletionPolicy')}")
        found = queues.get(names.queue(spec.name))
        if found:
            redrive = found[2]["Properties"].get("RedrivePolicy", {})
            dlq = queues.get(names.dlq(spec.name))
            if (
                not dlq
                or redrive.get("deadLetterTargetArn") != {"Fn::GetAtt": [dlq[1], "Arn"]}
                or redrive.get("maxReceiveCount") != spec.max_receive_count
            ):
                problems.append(f"queue {spec.name}: redrive {redrive}")
            if found[2]["Properties"].get("VisibilityTimeout") != spec.visibility_timeout_s:
                problems.append(f"queue {spec.name}: visibility timeout")
    for physical, (_, _, res) in queues.items():
        if not physical.endswith("-dlq") and "RedrivePolicy" not in res["Properties"]:
            problems.append(f"queue {physical}: no DLQ")

    topics = {r[2]["Properties"].get("TopicName"): r for r in synth.resources("AWS::SNS::Topic")}
    for spec in catalog.topics:
        found = topics.get(names.topic(spec.name))
        if not found or not found[2]["Properties"].get("KmsMasterKeyId"):
            problems.append(f"topic {spec.name}: missing or not KMS encrypted")
        elif not deny_insecure("AWS::SNS::TopicPolicy", "Topics", found[1], found[0]):
            problems.append(f"topic {spec.name}: TLS not enforced")
        else:
            for service in spec.publishers:
                if not allows_publish(service, found[1], found[0]):
                    problems.append(f"topic {spec.name}: {service} may not publish (this account)")

    for stack, lid, res in synth.resources("AWS::S3::Bucket"):
        props = res["Properties"]
        if not deny_insecure("AWS::S3::BucketPolicy", "Bucket", lid, stack):
            problems.append(f"bucket {lid}: TLS not enforced")
        block = props.get("PublicAccessBlockConfiguration", {})
        if not all(
            block.get(k)
            for k in (
                "BlockPublicAcls",
                "BlockPublicPolicy",
                "IgnorePublicAcls",
                "RestrictPublicBuckets",
            )
        ):
            problems.append(f"bucket {lid}: public access not blocked")
        if not props.get("BucketEncryption"):
            problems.append(f"bucket {lid}: not encrypted")
        if res.get("DeletionPolicy") != expected_deletion:
            problems.append(f"bucket {lid}: DeletionPolicy {res.get('DeletionPolicy')}")
    for spec in catalog.buckets:
        pattern = name_pattern(names.bucket_prefix(spec.name)[:-1], bucket=True)
        found = [
            r
            for r in synth.resources("AWS::S3::Bucket")
            if pattern.search(dumps(r[2]["Properties"].get("BucketName")))
        ]
        if len(found) != 1:
            problems.append(f"bucket {spec.name}: {len(found)} buckets")
            continue
        props = found[0][2]["Properties"]
        algo = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
            "ServerSideEncryptionByDefault"
        ]
        if algo.get("SSEAlgorithm") != "aws:kms" or not algo.get("KMSMasterKeyID"):
            problems.append(f"bucket {spec.name}: not KMS encrypted")
        if props.get("VersioningConfiguration", {}).get("Status") != "Enabled":
            problems.append(f"bucket {spec.name}: not versioned")
        if not props.get("LoggingConfiguration", {}).get("DestinationBucketName"):
            problems.append(f"bucket {spec.name}: no server access logs")

    retention = 365 if prod else 14
    for _, lid, res in synth.resources("AWS::Logs::LogGroup"):
        if not res["Properties"].get("KmsKeyId"):
            problems.append(f"log group {lid}: not KMS encrypted")
        if res["Properties"].get("RetentionInDays") != retention:
            problems.append(
                f"log group {lid}: retention {res['Properties'].get('RetentionInDays')} != {retention}"
            )

    for _, lid, res in synth.resources("AWS::Neptune::DBCluster"):
        p = res["Properties"]
        if not (p.get("StorageEncrypted") and p.get("KmsKeyId") and p.get("IamAuthEnabled")):
            problems.append(f"neptune {lid}: encryption/IAM auth")
        if bool(p.get("DeletionProtection")) != prod:
            problems.append(f"neptune {lid}: DeletionProtection={p.get('DeletionProtection')}")
        if (p.get("BackupRetentionPeriod") or 0) < 7:
            problems.append(f"neptune {lid}: backups")
    for _, lid, res in synth.resources("AWS::OpenSearchService::Domain"):
        p = res["Properties"]
        if not (
            p.get("EncryptionAtRestOptions", {}).get("Enabled")
            and p.get("NodeToNodeEncryptionOptions", {}).get("Enabled")
            and p.get("DomainEndpointOptions", {}).get("EnforceHTTPS")
            and p.get("VPCOptions")
        ):
            problems.append(f"opensearch {lid}: encryption/https/VPC")
        if res.get("DeletionPolicy") != expected_deletion:
            problems.append(f"opensearch {lid}: DeletionPolicy {res.get('DeletionPolicy')}")
    for _, lid, res in synth.resources("AWS::Cognito::UserPool"):
        p = res["Properties"]
        if p.get("DeletionProtection") != ("ACTIVE" if prod else "INACTIVE"):
            problems.append(f"user pool {lid}: DeletionProtection={p.get('DeletionProtection')}")
    return problems
