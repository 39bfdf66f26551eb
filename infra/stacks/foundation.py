"""Foundation stack: KMS key, tables, platform bus, queues + DLQs, topics, buckets, Cognito."""

from __future__ import annotations

from collections.abc import Mapping

import aws_cdk as cdk
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import wiring
from infra.stacks.config import StageConfig
from infra.stacks.naming import Names
from infra.wiring import Catalog

ROLES = ("admin", "operator", "viewer", "integration")

IDEMPOTENCY_TABLE = "idempotency"


# Where a service principal's publishes come from, when it says (aws:SourceArn): CloudWatch
# publishes alarm notifications from the alarm's ARN.
_SOURCE_ARNS = {
    "cloudwatch.amazonaws.com": "arn:{partition}:cloudwatch:{region}:{account}:alarm:*",
}


def publisher_statement(topic: sns.ITopic, service: str) -> iam.PolicyStatement:
    """sns:Publish for an AWS service principal (a catalog Topic's `publishers`), for this
    account's resources only (aws:SourceAccount, and aws:SourceArn where the service sets it).
    The platform key's policy lets the same services encrypt to the topic."""
    conditions: dict[str, object] = {"StringEquals": {"aws:SourceAccount": cdk.Aws.ACCOUNT_ID}}
    source_arn = _SOURCE_ARNS.get(service)
    if source_arn:
        conditions["ArnLike"] = {"aws:SourceArn": fill_arn(source_arn)}
    return iam.PolicyStatement(
        sid=f"Allow{cid(service.split('.')[0])}Publish",
        principals=[iam.ServicePrincipal(service)],
        actions=["sns:Publish"],
        resources=[topic.topic_arn],
        conditions=conditions,
    )


def fill_arn(template: str) -> str:
    """`{partition}`, `{region}`, `{account}` in a catalog ARN pattern -> this stack's."""
    return template.format(
        partition=cdk.Aws.PARTITION, region=cdk.Aws.REGION, account=cdk.Aws.ACCOUNT_ID
    )


def _lock(config: StageConfig) -> s3.ObjectLockRetention:
    """The default retention of an Object Lock bucket, per stage (cdk.json)."""
    days = cdk.Duration.days(config.object_lock_days)
    if config.object_lock_mode == "COMPLIANCE":
        return s3.ObjectLockRetention.compliance(days)
    return s3.ObjectLockRetention.governance(days)


def cid(name: str) -> str:
    """A construct id from a kebab-case catalog name: audit-events -> AuditEvents."""
    return "".join(part.capitalize() for part in name.replace("_", "-").split("-"))


def event_pattern(pattern: Mapping[str, object]) -> events.EventPattern:
    """A stand-in L2 pattern; `exact_pattern` then writes the catalog dict verbatim into the rule
    (the typed L2 EventPattern cannot carry content filters such as {"prefix": "omp."})."""
    known = {
        "source",
        "detail-type",
        "detail",
        "account",
        "region",
        "resources",
        "id",
        "time",
        "version",
    }
    unknown = set(pattern) - known
    if unknown or not pattern:
        raise ValueError(f"unsupported event pattern keys {sorted(unknown) or '(empty)'}")
    return events.EventPattern(account=[cdk.Aws.ACCOUNT_ID])


def exact_pattern(rule: events.Rule, pattern: Mapping[str, object]) -> None:
    cfn = rule.node.default_child
    assert isinstance(cfn, events.CfnRule)
    cfn.event_pattern = dict(pattern)  # replaces the L2's rendered stand-in entirely


def pattern_rule(
    scope: Construct,
    cid_: str,
    *,
    bus: events.IEventBus,
    pattern: Mapping[str, object],
    target: events.IRuleTarget,
    description: str,
) -> events.Rule:
    """A rule whose pattern is the catalog's dict, verbatim."""
    rule = events.Rule(
        scope,
        cid_,
        event_bus=bus,
        description=description,
        event_pattern=event_pattern(pattern),
        targets=[target],
    )
    exact_pattern(rule, pattern)
    return rule


class FoundationStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        cid_: str,
        *,
        config: StageConfig,
        catalog: Catalog,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, cid_, **kwargs)  # type: ignore[arg-type]
        self.config = config
        self.names = names = Names(config.stage)
        removal = config.removal

        # ---- KMS ------------------------------------------------------------------------------
        self.key = kms.Key(
            self,
            "PlatformKey",
            alias=f"alias/{names.prefix}-platform",
            description=f"om-platform {config.stage}: encryption at rest for every data store",
            enable_key_rotation=True,
            removal_policy=removal,
            pending_window=cdk.Duration.days(30 if config.retain else 7),
        )
        account_arn_prefix = f"arn:{cdk.Aws.PARTITION}:logs:{cdk.Aws.REGION}:{cdk.Aws.ACCOUNT_ID}:*"
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchLogs",
                principals=[iam.ServicePrincipal(f"logs.{cdk.Aws.REGION}.amazonaws.com")],
                actions=[
                    "kms:Encrypt*",
                    "kms:Decrypt*",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:Describe*",
                ],
                resources=["*"],
                conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": account_arn_prefix}},
            )
        )
        for sid, service in (
            ("AllowEventBridgeToEncryptedQueues", "events.amazonaws.com"),
            ("AllowCloudWatchAlarmsToEncryptedTopics", "cloudwatch.amazonaws.com"),
        ):
            self.key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=sid,
                    principals=[iam.ServicePrincipal(service)],
                    actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                    resources=["*"],
                    conditions={"StringEquals": {"aws:SourceAccount": cdk.Aws.ACCOUNT_ID}},
                )
            )

        # ---- DynamoDB -------------------------------------------------------------------------
        self.tables: dict[str, dynamodb.Table] = {}
        for spec in catalog.tables:
            keys = spec.keys
            table = dynamodb.Table(
                self,
                f"Table{cid(spec.name)}",
                table_name=names.table(spec.name),
                partition_key=dynamodb.Attribute(name=keys[0], type=dynamodb.AttributeType.STRING),
                sort_key=(
                    dynamodb.Attribute(name=keys[1], type=dynamodb.AttributeType.STRING)
                    if len(keys) > 1
                    else None
                ),
                billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
                point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                    point_in_time_recovery_enabled=True
                ),
                encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
                encryption_key=self.key,
                time_to_live_attribute=spec.ttl_attribute,
                deletion_protection=config.deletion_protection,
                removal_policy=removal,
            )
            for index in spec.indexes:
                table.add_global_secondary_index(
                    index_name=index,
                    partition_key=dynamodb.Attribute(
                        name=f"{index}pk", type=dynamodb.AttributeType.STRING
                    ),
                    sort_key=dynamodb.Attribute(
                        name=f"{index}sk", type=dynamodb.AttributeType.STRING
                    ),
                    projection_type=dynamodb.ProjectionType.ALL,
                )
            self.tables[spec.name] = table

        # ---- EventBridge ----------------------------------------------------------------------
        self.buses: dict[str, events.IEventBus] = {}
        for bus_spec in catalog.buses:
            bus = events.EventBus(
                self, f"Bus{cid(bus_spec.name)}", event_bus_name=names.bus(bus_spec.name)
            )
            if config.org_id:
                bus.add_to_resource_policy(
                    iam.PolicyStatement(
                        sid="AllowPutEventsFromOrganization",
                        principals=[iam.AnyPrincipal()],
                        actions=["events:PutEvents"],
                        resources=[bus.event_bus_arn],
                        conditions={"StringEquals": {"aws:PrincipalOrgID": config.org_id}},
                    )
                )
            self.buses[bus_spec.name] = bus
        self.buses[wiring.DEFAULT_BUS] = events.EventBus.from_event_bus_name(
            self, "DefaultBus", "default"
        )

        # ---- SQS ------------------------------------------------------------------------------
        self.queues: dict[str, sqs.Queue] = {}
        self.dlqs: dict[str, sqs.Queue] = {}
        for queue_spec in catalog.queues:
            dlq = sqs.Queue(
                self,
                f"Queue{cid(queue_spec.name)}Dlq",
                queue_name=names.dlq(queue_spec.name),
                encryption=sqs.QueueEncryption.KMS,
                encryption_master_key=self.key,
                data_key_reuse=cdk.Duration.minutes(5),
                enforce_ssl=True,
                retention_period=cdk.Duration.days(14),
                removal_policy=removal,
            )
            queue = sqs.Queue(
                self,
                f"Queue{cid(queue_spec.name)}",
                queue_name=names.queue(queue_spec.name),
                encryption=sqs.QueueEncryption.KMS,
                encryption_master_key=self.key,
                data_key_reuse=cdk.Duration.minutes(5),
                enforce_ssl=True,
                visibility_timeout=cdk.Duration.seconds(queue_spec.visibility_timeout_s),
                dead_letter_queue=sqs.DeadLetterQueue(
                    queue=dlq, max_receive_count=queue_spec.max_receive_count
                ),
                removal_policy=removal,
            )
            self.queues[queue_spec.name] = queue
            self.dlqs[queue_spec.name] = dlq

        for queue_name, bus_name, pattern in catalog.queue_rules:
            pattern_rule(
                self,
                f"Route{cid(bus_name)}To{cid(queue_name)}",
                bus=self.buses[bus_name],
                pattern=pattern,
                target=targets.SqsQueue(self.queues[queue_name]),
                description=f"{bus_name} bus -> {queue_name} queue (wiring.QUEUE_RULES)",
            )
        for source_bus, target_bus, pattern in catalog.bus_forwards:
            pattern_rule(
                self,
                f"Forward{cid(source_bus)}To{cid(target_bus)}",
                bus=self.buses[source_bus],
                pattern=pattern,
                target=targets.EventBus(self.buses[target_bus]),
                description=f"{source_bus} bus -> {target_bus} bus (wiring.BUS_FORWARDS)",
            )

        # ---- SNS ------------------------------------------------------------------------------
        self.topics: dict[str, sns.Topic] = {}
        for topic_spec in catalog.topics:
            topic = sns.Topic(
                self,
                f"Topic{cid(topic_spec.name)}",
                topic_name=names.topic(topic_spec.name),
                master_key=self.key,
                enforce_ssl=True,
            )
            self.topics[topic_spec.name] = topic
            for service in topic_spec.publishers:
                topic.add_to_resource_policy(publisher_statement(topic, service))
        alarms = self.topics.get("platform-alarms")
        if alarms is not None and config.alarm_email:
            alarms.add_subscription(subs.EmailSubscription(config.alarm_email))

        # ---- S3 -------------------------------------------------------------------------------
        self.access_logs = s3.Bucket(
            self,
            "AccessLogsBucket",
            # S3 server access logging can only deliver to SSE-S3 encrypted buckets.
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    expiration=cdk.Duration.days(config.log_retention_days),
                    noncurrent_version_expiration=cdk.Duration.days(30),
                )
            ],
            removal_policy=removal,
        )
        self.buckets: dict[str, s3.Bucket] = {}
        for bucket_spec in catalog.buckets:
            self.buckets[bucket_spec.name] = s3.Bucket(
                self,
                f"Bucket{cid(bucket_spec.name)}",
                bucket_name=names.bucket(bucket_spec.name),
                encryption=s3.BucketEncryption.KMS,
                encryption_key=self.key,
                bucket_key_enabled=True,
                block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
                object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
                enforce_ssl=True,
                versioned=True,
                server_access_logs_bucket=self.access_logs,
                server_access_logs_prefix=f"{bucket_spec.name}/",
                removal_policy=removal,
                lifecycle_rules=(
                    [
                        s3.LifecycleRule(
                            expiration=cdk.Duration.days(bucket_spec.expire_days),
                            noncurrent_version_expiration=cdk.Duration.days(1),
                        )
                    ]
                    if bucket_spec.expire_days
                    else None
                ),
                object_lock_enabled=bucket_spec.object_lock or None,
                object_lock_default_retention=_lock(config) if bucket_spec.object_lock else None,
            )

        # ---- Cognito --------------------------------------------------------------------------
        self.user_pool = cognito.UserPool(
            self,
            "UserPool",
            user_pool_name=f"{names.prefix}-users",
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(email=True),
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            mfa=cognito.Mfa.REQUIRED,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                temp_password_validity=cdk.Duration.days(3),
            ),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            feature_plan=cognito.FeaturePlan.PLUS,
            standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION,
            deletion_protection=config.deletion_protection,
            removal_policy=removal,
        )
        for role in ROLES:
            cognito.CfnUserPoolGroup(
                self,
                f"Group{cid(role)}",
                user_pool_id=self.user_pool.user_pool_id,
                group_name=role,
                description=f"om-platform role: {role}",
            )
        self.app_client = self.user_pool.add_client(
            "AppClient",
            user_pool_client_name=f"{names.prefix}-app",
            auth_flows=cognito.AuthFlow(user_srp=True),
            generate_secret=False,
            prevent_user_existence_errors=True,
            access_token_validity=cdk.Duration.hours(1),
            id_token_validity=cdk.Duration.hours(1),
            refresh_token_validity=cdk.Duration.days(30),
        )

        cdk.CfnOutput(self, "UserPoolId", value=self.user_pool.user_pool_id)
        cdk.CfnOutput(self, "UserPoolClientId", value=self.app_client.user_pool_client_id)
