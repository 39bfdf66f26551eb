"""A service stack: its functions, their roles, log groups, triggers and alarms. One per service,
or more where the catalog puts some of a service's functions in a stack of their own
(`Function.stack`), so that no stack nears CloudFormation's resource limit.

Everything is built by looping over the catalog. Resources of other stacks are referenced by
their deterministic names (infra.stacks.naming), so a service stack only imports the KMS key and,
for in-VPC functions, the network.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra import wiring
from infra.stacks import bundling
from infra.stacks.config import StageConfig
from infra.stacks.foundation import IDEMPOTENCY_TABLE, cid, fill_arn, pattern_rule
from infra.stacks.nag import ack
from infra.stacks.naming import Names
from infra.stacks.network import NetworkStack
from infra.stacks.telemetry import alarm_above_zero, log_group
from infra.wiring import Catalog

# Triggers that invoke asynchronously: Lambda retries twice, then keeps the event in a DLQ.
ASYNC_TRIGGERS = (
    wiring.EventRule,
    wiring.Schedule,
    wiring.TopicTrigger,
    wiring.DirectInvoke,  # CloudWatch alarm actions invoke asynchronously
)

RUNTIME = lambda_.Runtime.PYTHON_3_13
ARCHITECTURE = lambda_.Architecture.ARM_64
ALARMS_TOPIC = "platform-alarms"

SEARCH_ACTIONS = [
    "es:ESHttpGet",
    "es:ESHttpHead",
    "es:ESHttpPost",
    "es:ESHttpPut",
    "es:ESHttpPatch",
    "es:ESHttpDelete",
]
GRAPH_ACTIONS = [
    "neptune-db:connect",
    "neptune-db:ReadDataViaQuery",
    "neptune-db:WriteDataViaQuery",
    "neptune-db:DeleteDataViaQuery",
    "neptune-db:GetQueryStatus",
    "neptune-db:CancelQuery",
]


@dataclass(frozen=True)
class NetworkRefs:
    """What in-VPC functions need from the network stack."""

    vpc: ec2.IVpc
    client_security_group: ec2.ISecurityGroup
    graph_endpoint: str  # Fn::ImportValue omp-<stage>-graph-endpoint
    search_endpoint: str  # Fn::ImportValue omp-<stage>-search-endpoint


def handler_parts(fn: wiring.Function) -> tuple[str, str]:
    """ "monitoring/create_alarm" -> ("monitoring", "create_alarm.lambda_handler")."""
    folder, _, module = fn.handler.partition("/")
    if not module or "/" in module or folder != fn.service:
        raise ValueError(f"{fn.name}: handler {fn.handler!r} must be '<service>/<module>'")
    return folder, f"{module}.lambda_handler"


class ServiceStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        cid_: str,
        *,
        service: str,
        stack: str = "",
        config: StageConfig,
        catalog: Catalog,
        key: kms.IKey,
        network: NetworkRefs | None,
        cognito: tuple[str, str] | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, cid_, **kwargs)  # type: ignore[arg-type]
        self.config = config
        self.catalog = catalog
        self.names = Names(config.stage)
        self.key = key
        self.network = network
        self.cognito = cognito  # (issuer URL, app client id)
        self.functions: dict[str, lambda_.Function] = {}
        self._imports: dict[tuple[str, str], object] = {}

        code = bundling.function_code(service)
        layers = [
            lambda_.LayerVersion(
                self,
                "CoreLayer",
                code=bundling.core_layer_code(),
                compatible_runtimes=[RUNTIME],
                compatible_architectures=[ARCHITECTURE],
                description="om-platform shared package (omp)",
            ),
            lambda_.LayerVersion(
                self,
                "DepsLayer",
                code=bundling.deps_layer_code(config.skip_deps_bundling),
                compatible_runtimes=[RUNTIME],
                compatible_architectures=[ARCHITECTURE],
                description="om-platform third-party packages (layers/deps/requirements.txt)",
            ),
        ]
        self.alarm_topic = sns.Topic.from_topic_arn(
            self, "AlarmTopic", self.names.topic_arn(self, ALARMS_TOPIC)
        )
        for fn in catalog.functions:
            if fn.service == service and fn.stack == stack:
                self.functions[fn.name] = self._function(fn, code, layers)

    # ---- imported resources (by name) ---------------------------------------------------------
    def _imported(self, kind: str, name: str, build: Callable[[], object]) -> object:
        key = (kind, name)
        if key not in self._imports:
            self._imports[key] = build()
        return self._imports[key]

    def table(self, name: str) -> dynamodb.ITable:
        spec = self.catalog.table(name)
        return self._imported(  # type: ignore[return-value]
            "table",
            name,
            lambda: dynamodb.Table.from_table_attributes(
                self,
                f"Table{cid(name)}",
                table_name=self.names.table(name),
                encryption_key=self.key,
                global_indexes=list(spec.indexes) or None,
            ),
        )

    def queue(self, name: str) -> sqs.IQueue:
        return self._imported(  # type: ignore[return-value]
            "queue",
            name,
            lambda: sqs.Queue.from_queue_attributes(
                self,
                f"Queue{cid(name)}",
                queue_arn=self.names.queue_arn(self, name),
                queue_url=self.names.queue_url(name),
                queue_name=self.names.queue(name),
                key_arn=self.key.key_arn,
            ),
        )

    def topic(self, name: str) -> sns.ITopic:
        return self._imported(  # type: ignore[return-value]
            "topic",
            name,
            lambda: sns.Topic.from_topic_attributes(
                self,
                f"Topic{cid(name)}",
                topic_arn=self.names.topic_arn(self, name),
                key_arn=self.key.key_arn,
            ),
        )

    def bus(self, name: str) -> events.IEventBus:
        return self._imported(  # type: ignore[return-value]
            "bus",
            name,
            lambda: events.EventBus.from_event_bus_name(
                self, f"Bus{cid(name)}", self.names.bus(name)
            ),
        )

    def bucket(self, name: str) -> s3.IBucket:
        return self._imported(  # type: ignore[return-value]
            "bucket",
            name,
            lambda: s3.Bucket.from_bucket_attributes(
                self,
                f"Bucket{cid(name)}",
                bucket_name=self.names.bucket(name),
                encryption_key=self.key,
            ),
        )

    def machine(self, name: str) -> sfn.IStateMachine:
        return self._imported(  # type: ignore[return-value]
            "machine",
            name,
            lambda: sfn.StateMachine.from_state_machine_arn(
                self, f"Machine{cid(name)}", self.names.machine_arn(self, name)
            ),
        )

    def dlq(self, name: str) -> sqs.IQueue:
        """The DLQ of queue `name`."""
        return self._imported(  # type: ignore[return-value]
            "dlq",
            name,
            lambda: sqs.Queue.from_queue_attributes(
                self,
                f"Dlq{cid(name)}",
                queue_arn=self.names.dlq_arn(self, name),
                queue_url=self.names.dlq_url(name),
                queue_name=self.names.dlq(name),
                key_arn=self.key.key_arn,
            ),
        )

    def resolve_resource(self, kind: str, name: str) -> str:
        """The wiring.ResourceResolver for this stack."""
        if kind == "table":
            return self.names.table(name)
        if kind == "queue":
            return self.names.queue_url(name)
        if kind == "dlq":
            return self.names.dlq_url(name)
        if kind == "bus":
            return self.names.bus(name)
        if kind == "topic":
            return self.names.topic_arn(self, name)
        if kind == "bucket":
            return self.names.bucket(name)
        if kind == "machine":
            return self.names.machine_arn(self, name)
        if kind == "cognito":
            if self.cognito is None:
                raise ValueError("cognito requested but the stack has no user pool")
            return self.cognito[0] if name == "issuer" else self.cognito[1]
        if kind in ("graph", "search"):
            if self.network is None:
                raise ValueError(f"{kind} endpoint requested but the stack has no network")
            return self.network.graph_endpoint if kind == "graph" else self.network.search_endpoint
        raise KeyError(f"unknown resource kind {kind}")

    # ---- one function -------------------------------------------------------------------------
    def _function(
        self, fn: wiring.Function, code: lambda_.Code, layers: Sequence[lambda_.ILayerVersion]
    ) -> lambda_.Function:
        config, names = self.config, self.names
        base = cid(fn.name)
        _, handler = handler_parts(fn)
        physical = names.function(fn.name)

        role = iam.Role(
            self,
            f"{base}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"om-platform {config.stage} function {fn.name}: exactly its catalog entry",
        )
        fn_logs = log_group(
            self, f"{base}Logs", name=f"/aws/lambda/{physical}", config=config, key=self.key
        )
        fn_logs.grant_write(role)

        vpc_props: dict[str, object] = {}
        if fn.in_vpc:
            if self.network is None:
                raise ValueError(f"{fn.name} needs the network stack (graph/search)")
            vpc_props = {
                "vpc": self.network.vpc,
                "vpc_subnets": ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
                "security_groups": [self.network.client_security_group],
            }
            role.add_managed_policy(
                iam.ManagedPolicy.from_aws_managed_policy_name(
                    "service-role/AWSLambdaVPCAccessExecutionRole"
                )
            )

        # Asynchronous triggers (rules, schedules, topics): Lambda retries twice, then keeps the
        # event in this queue instead of dropping it.
        async_dlq = None
        if isinstance(fn.trigger, ASYNC_TRIGGERS):
            async_dlq = sqs.Queue(
                self,
                f"{base}AsyncDlq",
                queue_name=f"{physical}-async-dlq",
                encryption=sqs.QueueEncryption.KMS,
                encryption_master_key=self.key,
                enforce_ssl=True,
                retention_period=cdk.Duration.days(14),
            )
            ack(
                async_dlq,
                "SQS3",
                "This queue is itself the dead-letter queue of the function's async invocations.",
            )
            alarm_above_zero(
                self,
                f"{base}AsyncDlqAlarm",
                alarm_name=f"{physical}-async-dlq-not-empty",
                metric=async_dlq.metric_approximate_number_of_messages_visible(
                    period=cdk.Duration.minutes(5)
                ),
                action=cw_actions.SnsAction(self.alarm_topic),
            )

        function = lambda_.Function(
            self,
            base,
            dead_letter_queue=async_dlq,
            function_name=physical,
            description=f"{fn.service}: {fn.name}",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=handler,
            code=code,
            layers=list(layers),
            memory_size=fn.memory_mb,
            timeout=cdk.Duration.seconds(fn.timeout_s),
            tracing=lambda_.Tracing.ACTIVE,
            log_group=fn_logs,
            logging_format=lambda_.LoggingFormat.JSON,
            role=role,
            environment=wiring.environment(fn, self.resolve_resource, config.stage),
            reserved_concurrent_executions=config.lambda_reserved_concurrency or None,
            **vpc_props,  # type: ignore[arg-type]
        )
        ack(
            function,
            "L1",
            "DESIGN.md pins Lambda to python3.13 (the deps layer's wheels are built for cp313 and "
            "the code is tested on 3.11-3.13); a runtime upgrade is a deliberate, tested change.",
        )
        wildcard_findings = self._grants(fn, role)
        self._trigger(fn, function)
        self._alarms(fn, function)
        self._acknowledge(fn, role, wildcard_findings)
        if fn.aws_actions:
            ack(
                role,
                "IAM5",
                f"{fn.name}: {', '.join(fn.aws_actions)} (the catalog's aws_actions) and X-Ray "
                "PutTraceSegments/PutTelemetryRecords support no resource-level permission, so "
                "IAM accepts only `*` for them (docs/infrastructure.md).",
                ["Resource::*"],
            )
        return function

    def _grants(self, fn: wiring.Function, role: iam.Role) -> list[str]:
        """Grant exactly the catalog entry; return the IAM5 findings those grants produce."""
        findings = ["Resource::*"]  # X-Ray PutTraceSegments/PutTelemetryRecords (no resource-level)
        write_kms = False
        tables = dict(fn.tables)
        if fn.idempotent:
            tables[IDEMPOTENCY_TABLE] = "write"
        for name, access in tables.items():
            table = self.table(name)
            if access == "write":
                table.grant_read_write_data(role)
                write_kms = True
            else:
                table.grant_read_data(role)
            if self.catalog.table(name).indexes:
                findings.append(f"Resource::{self._table_arn_pattern(name)}/index/*")
        for name in fn.buses:
            self.bus(name).grant_put_events_to(role)
        for name in fn.queues:
            self.queue(name).grant_send_messages(role)
            write_kms = True
        for name in fn.topics:
            self.topic(name).grant_publish(role)
            findings.append("Action::kms:GenerateDataKey*")
        for name, access in fn.buckets.items():
            bucket = self.bucket(name)
            if access == "write" and self.catalog.bucket(name).object_lock:
                # Write-once evidence: put (and read, to chain), never delete.
                bucket.grant_read(role)
                bucket.grant_put(role)
                write_kms = True
                findings += ["Action::s3:Abort*"]
            elif access == "write":
                bucket.grant_read_write(role)
                write_kms = True
                findings += ["Action::s3:DeleteObject*", "Action::s3:Abort*"]
            else:
                bucket.grant_read(role)
            findings += ["Action::s3:GetObject*", "Action::s3:GetBucket*", "Action::s3:List*"]
            findings.append(f"Resource::{self._bucket_arn_pattern(name)}/*")
        for name in fn.state_machines:
            self.machine(name).grant_start_execution(role)
        # A queue trigger's SqsEventSource grants consume (receive/delete/attributes) on its
        # queue; a consumer that parks poison records may also send to that queue's DLQ.
        if isinstance(fn.trigger, wiring.QueueTrigger) and fn.dead_letters:
            self.dlq(fn.trigger.queue).grant_send_messages(role)
            write_kms = True
        findings += self._external_grants(fn, role)
        if fn.aws_actions:
            # Actions that support no resource-level permission (cloudwatch:GetMetricData):
            # `*` is the only resource IAM takes for them; the catalog names each action.
            role.add_to_policy(iam.PolicyStatement(actions=list(fn.aws_actions), resources=["*"]))
        if fn.graph:
            assert self.network is not None
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=GRAPH_ACTIONS,
                    resources=[NetworkStack.neptune_resource_arn(self, self.config.stage)],
                )
            )
            findings.append(
                "Resource::arn:<AWS::Partition>:neptune-db:<AWS::Region>:<AWS::AccountId>:"
                f"{self.names.prefix}-neptune-resource-id/*"
            )
        if fn.search:
            assert self.network is not None
            domain_arn = NetworkStack.search_domain_arn(self, self.config.stage)
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=SEARCH_ACTIONS, resources=[domain_arn, f"{domain_arn}/*"]
                )
            )
            findings.append(
                "Resource::arn:<AWS::Partition>:es:<AWS::Region>:<AWS::AccountId>:"
                f"domain/{self.names.prefix}-search/*"
            )
        if write_kms:
            findings += ["Action::kms:ReEncrypt*", "Action::kms:GenerateDataKey*"]
        return sorted(set(findings))

    def _external_grants(self, fn: wiring.Function, role: iam.Role) -> list[str]:
        """Secrets and SNS topics users create for notifications, by name prefix (their names
        are not known when the stack is built): read only the stage's `omp/<stage>/<x>/`
        secrets, publish only to `omp-<stage>-<x>-*` topics of this account and region."""
        findings: list[str] = []
        pattern = "arn:<AWS::Partition>:{service}:<AWS::Region>:<AWS::AccountId>:{rest}"
        if fn.secrets:
            prefix = wiring.secret_prefix(fn, self.config.stage)
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=["secretsmanager:GetSecretValue"],
                    resources=[
                        self.format_arn(
                            service="secretsmanager",
                            resource="secret",
                            resource_name=f"{prefix}*",
                            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                        )
                    ],
                )
            )
            # `*`: Secrets Manager appends a random 6-character suffix to every secret's ARN
            findings.append(
                "Resource::" + pattern.format(service="secretsmanager", rest=f"secret:{prefix}*")
            )
        if fn.external_topics:
            prefix = wiring.external_topic_prefix(fn, self.config.stage)
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=["sns:Publish"],
                    resources=[
                        self.format_arn(
                            service="sns",
                            resource=f"{prefix}*",
                            arn_format=cdk.ArnFormat.NO_RESOURCE_NAME,
                        )
                    ],
                )
            )
            findings.append("Resource::" + pattern.format(service="sns", rest=f"{prefix}*"))
        return findings

    def _table_arn_pattern(self, name: str) -> str:
        return (
            "arn:<AWS::Partition>:dynamodb:<AWS::Region>:<AWS::AccountId>:table/"
            + self.names.table(name)
        )

    def _bucket_arn_pattern(self, name: str) -> str:
        prefix = self.names.bucket_prefix(name)
        return f"arn:<AWS::Partition>:s3:::{prefix}<AWS::AccountId>-<AWS::Region>"

    def _trigger(self, fn: wiring.Function, function: lambda_.Function) -> None:
        trigger = fn.trigger
        base = cid(fn.name)
        if isinstance(trigger, wiring.QueueTrigger):
            function.add_event_source(
                sources.SqsEventSource(
                    self.queue(trigger.queue),
                    batch_size=trigger.batch_size,
                    max_batching_window=(
                        cdk.Duration.seconds(trigger.max_batching_window_s)
                        if trigger.max_batching_window_s
                        else None
                    ),
                    report_batch_item_failures=True,
                )
            )
        elif isinstance(trigger, wiring.EventRule):
            pattern_rule(
                self,
                f"{base}Rule",
                bus=self.bus(trigger.bus),
                pattern=trigger.pattern,
                target=targets.LambdaFunction(function, retry_attempts=4),
                description=f"{trigger.bus} bus -> {fn.name}",
            )
        elif isinstance(trigger, wiring.Schedule):
            events.Rule(
                self,
                f"{base}Schedule",
                description=f"schedule -> {fn.name}",
                schedule=events.Schedule.expression(trigger.expression),
                targets=[targets.LambdaFunction(function, retry_attempts=2)],
            )
        elif isinstance(trigger, wiring.TopicTrigger):
            function.add_event_source(sources.SnsEventSource(self.topic(trigger.topic)))
        elif isinstance(trigger, wiring.DirectInvoke):
            # A resource policy for the service (e.g. CloudWatch alarm actions), this account's
            # resources only.
            function.add_permission(
                f"{base}Invoke",
                principal=iam.ServicePrincipal(trigger.principal),
                action="lambda:InvokeFunction",
                source_account=cdk.Aws.ACCOUNT_ID,
                source_arn=fill_arn(trigger.source_arn) if trigger.source_arn else None,
            )
        # HttpRoute and Authorizer: the API stack; StateMachineTask: the workflows stack.

    def _alarms(self, fn: wiring.Function, function: lambda_.Function) -> None:
        base = cid(fn.name)
        action = cw_actions.SnsAction(self.alarm_topic)
        for metric_name, metric in (
            ("Errors", function.metric_errors(period=cdk.Duration.minutes(5))),
            ("Throttles", function.metric_throttles(period=cdk.Duration.minutes(5))),
        ):
            alarm_above_zero(
                self,
                f"{base}{metric_name}Alarm",
                alarm_name=f"{self.names.function(fn.name)}-{metric_name.lower()}",
                metric=metric,
                action=action,
            )

    def _acknowledge(self, fn: wiring.Function, role: iam.Role, findings: list[str]) -> None:
        ack(
            role,
            "IAM5",
            f"{fn.name}: wildcards generated by CDK grants for exactly the resources in its "
            "catalog entry (DynamoDB index/*, KMS GenerateDataKey*/ReEncrypt*, S3 object keys, "
            "notification secrets and SNS topics by the stage's name prefix) and X-Ray "
            "PutTraceSegments/PutTelemetryRecords, which support no resource ARN.",
            findings,
        )
        if fn.in_vpc:
            ack(
                role,
                "IAM4",
                f"{fn.name} runs in the VPC: AWSLambdaVPCAccessExecutionRole is the AWS-maintained "
                "minimum for ENI management.",
                [
                    "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
                ],
            )
