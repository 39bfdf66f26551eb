"""The wiring catalog: the single source of truth for every function, trigger and resource.

Stdlib only. The CDK app (infra/stacks) and the local runtime (infra/local) both loop over it;
tests assert that the catalog, the handlers' routes and the synthesized template agree.

Naming: a resource is referred to by its logical name here ("monitoring", "audit-events"); each
function receives the physical name through an environment variable built by `environment()`,
so handler code never hard-codes a name.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Literal

Access = Literal["read", "write"]

SERVICES = ("monitoring", "cmdb", "automation", "itsm", "security", "bcdr")


def stack_group(service: str, stack: str) -> str:
    """The name of a service stack: the service, or `<service>-<stack>` for a stack of its own."""
    return f"{service}-{stack}" if stack else service


_STACK_NAME = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")  # Function.stack

# --------------------------------------------------------------------------------------------
# Resources
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """A DynamoDB table: single-table design with `pk`/`sk` keys and `gsiNpk`/`gsiNsk` indexes."""

    name: str
    indexes: tuple[str, ...] = ()  # GSI names; index "gsi1" is keyed on gsi1pk/gsi1sk
    ttl_attribute: str = "expires_at"
    keys: tuple[str, ...] = ("pk", "sk")  # partition key[, sort key]; all strings


@dataclass(frozen=True)
class Queue:
    """An SQS queue; every queue gets a DLQ named `<name>-dlq`."""

    name: str
    visibility_timeout_s: int = 60
    max_receive_count: int = 5


@dataclass(frozen=True)
class Bus:
    name: str


@dataclass(frozen=True)
class Topic:
    name: str
    # AWS service principals that may publish to it, from this account's resources only (the
    # topic policy; the platform key lets them encrypt): e.g. "cloudwatch.amazonaws.com".
    publishers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Bucket:
    name: str
    expire_days: int | None = None  # objects (and old versions) deleted after this many days
    # S3 Object Lock with a default retention (mode and days per stage: cdk.json
    # `object_lock_mode`, `object_lock_days`); "write" access to it is put-only, never delete.
    object_lock: bool = False


@dataclass(frozen=True)
class StateMachine:
    """An ASL definition; a Task's Resource may be `fn:<function-name>` and is resolved on build."""

    name: str
    definition: Mapping[str, object]


PLATFORM_BUS = "platform"
DEFAULT_BUS = "default"  # the account's default bus: AWS service events arrive here

TABLES: tuple[Table, ...] = (
    Table("monitoring", indexes=("gsi1", "gsi2", "gsi3")),
    # cmdb gsi3: CIs by the hour of their newest change (anchoring history heads)
    Table("cmdb", indexes=("gsi1", "gsi2", "gsi3")),
    Table("automation", indexes=("gsi1",)),
    Table("itsm", indexes=("gsi1", "gsi2")),
    Table("security", indexes=("gsi1",)),
    Table("bcdr", indexes=("gsi1",)),
    # powertools idempotency (DynamoDBPersistenceLayer defaults: key `id`, TTL `expiration`)
    Table("idempotency", keys=("id",), ttl_attribute="expiration"),
    # Metric points in hour buckets (TTL expires_at), the series registry (gsi1: by name) and
    # CloudWatch metric sources; its own table so metric write bursts never throttle alarms.
    # gsi2 (sparse): detector states with an open anomaly alarm, by last scoring time (the
    # silence sweep, resolve-silent-anomalies).
    Table("metrics", indexes=("gsi1", "gsi2")),
)

QUEUES: tuple[Queue, ...] = (
    # Raw alert payloads accepted by the webhooks, normalised and deduplicated by a consumer.
    Queue("alert-ingest", visibility_timeout_s=120, max_receive_count=5),
    # Every domain event on the platform bus, written to the audit log.
    Queue("audit-events", visibility_timeout_s=60, max_receive_count=5),
    # CMDB import jobs (NetBox files), one per message: long runs, few retries.
    Queue("cmdb-imports", visibility_timeout_s=960, max_receive_count=2),
    # Alarm and incident events for routing into notification groups and escalations.
    Queue("notifications", visibility_timeout_s=120, max_receive_count=5),
    # Accepted metric points grouped by series, for the anomaly scorer (score-metrics).
    Queue("metric-points", visibility_timeout_s=180, max_receive_count=5),
    # Backtest jobs, one per message: runs of up to 300 s, one retry.
    Queue("backtests", visibility_timeout_s=360, max_receive_count=2),
)

BUSES: tuple[Bus, ...] = (Bus(PLATFORM_BUS),)

TOPICS: tuple[Topic, ...] = (
    # Alarms about the platform itself (function errors, API 5xx, DLQ depth).
    Topic("platform-alarms"),
    # CloudWatch alarm notifications: point an alarm's SNS action here (receive-cloudwatch-sns).
    Topic("cloudwatch-alarms", publishers=("cloudwatch.amazonaws.com",)),
)

BUCKETS: tuple[Bucket, ...] = (
    Bucket("reports"),
    # Webhook bodies too large for an SQS message (> 200 KiB), kept until processed and a while
    # after for replays.
    Bucket("ingest", expire_days=7),
    # Uploaded CMDB import files (NetBox dumpdata), kept a while for re-runs and audits.
    Bucket("cmdb-imports", expire_days=30),
    # Anchored heads of the CI history chains: write-once evidence (Object Lock), never expired.
    Bucket("cmdb-anchors", object_lock=True),
)

STATE_MACHINES: tuple[StateMachine, ...] = ()

# --------------------------------------------------------------------------------------------
# Triggers
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpRoute:
    """An API route under the single API; `permission` is checked against the caller's roles."""

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
    path: str  # API Gateway style: /v1/alarms/{alarm_id}
    permission: str  # e.g. "alarms:write"; "public" routes skip the authorizer
    max_body_bytes: int = 1_048_576


@dataclass(frozen=True)
class Schedule:
    expression: str  # "rate(5 minutes)" or "cron(0 * * * ? *)"


@dataclass(frozen=True)
class EventRule:
    """An EventBridge rule; `pattern` uses real EventBridge pattern semantics."""

    pattern: Mapping[str, object]
    bus: str = PLATFORM_BUS


@dataclass(frozen=True)
class QueueTrigger:
    queue: str
    batch_size: int = 10
    max_batching_window_s: int = 0


@dataclass(frozen=True)
class TopicTrigger:
    topic: str


@dataclass(frozen=True)
class StateMachineTask:
    machine: str


@dataclass(frozen=True)
class DirectInvoke:
    """Invoked by an AWS service directly (asynchronously), e.g. a CloudWatch alarm's Lambda
    action: a resource policy lets `principal` invoke the function, from this account only and,
    with `source_arn`, from those resources only. `{partition}`, `{region}` and `{account}` in
    `source_arn` are filled in by the stack."""

    principal: str  # "lambda.alarms.cloudwatch.amazonaws.com"
    source_arn: str | None = None  # "arn:{partition}:cloudwatch:{region}:{account}:alarm:*"


@dataclass(frozen=True)
class Authorizer:
    """The one API authorizer (REQUEST type, identity source: the Authorization header)."""


Trigger = (
    HttpRoute
    | Schedule
    | EventRule
    | QueueTrigger
    | TopicTrigger
    | StateMachineTask
    | DirectInvoke
    | Authorizer
    | None
)

# --------------------------------------------------------------------------------------------
# Functions
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Function:
    """One Lambda function and exactly what it may touch."""

    name: str  # unique, kebab-case: "create-alarm"
    service: str  # one of SERVICES
    handler: str  # module under functions/: "monitoring/create_alarm" -> lambda_handler
    trigger: Trigger
    tables: Mapping[str, Access] = field(default_factory=dict)
    buses: tuple[str, ...] = ()  # PutEvents
    queues: tuple[str, ...] = ()  # SendMessage (consuming is implied by a QueueTrigger)
    topics: tuple[str, ...] = ()  # Publish
    buckets: Mapping[str, Access] = field(default_factory=dict)
    state_machines: tuple[str, ...] = ()  # StartExecution
    idempotent: bool = False  # uses the idempotency table (Idempotency-Key)
    graph: bool = False  # Neptune (in the VPC)
    search: bool = False  # OpenSearch (in the VPC)
    cognito: bool = False  # verifies Cognito JWTs: gets the user pool's issuer and client id
    # GetSecretValue on the secrets named `omp/<stage>/<secrets>/...` (OMP_SECRET_PREFIX)
    secrets: str | None = None
    # sns:Publish on this account's topics named `omp-<stage>-<external_topics>-...`, topics
    # users create for notifications (OMP_EXTERNAL_TOPIC_PREFIX)
    external_topics: str | None = None
    # AWS API actions that support no resource-level permission (granted on `*`, e.g.
    # cloudwatch:GetMetricData); each listed in docs/infrastructure.md with its reason.
    aws_actions: tuple[str, ...] = ()
    # Queue consumers only: a record it can never process goes to its trigger queue's DLQ at
    # once, with the reason as message attributes (sqs:SendMessage on that DLQ, OMP_DLQ_URL),
    # instead of failing maxReceiveCount times with the reason only in the log.
    dead_letters: bool = False
    memory_mb: int = 256
    timeout_s: int = 10
    # The CloudFormation stack within its service: "" is the service's stack; a name puts the
    # function in a stack of its own, `Service<Service><Stack>` (omp-<stage>-svc-<service>-<stack>),
    # so that no stack nears CloudFormation's 500 resources (docs/infrastructure.md, "Stacks").
    # Changing it moves a deployed function between stacks (docs/decisions.md).
    stack: str = ""

    @property
    def in_vpc(self) -> bool:
        return self.graph or self.search

    @property
    def stack_group(self) -> str:
        """ "monitoring" or "monitoring-metrics": the service stack the function is built in."""
        return stack_group(self.service, self.stack)


_ALARM_EVENTS = ("platform",)
# Any CloudWatch alarm of this account and region (a DirectInvoke source_arn).
CLOUDWATCH_ALARMS_ARN = "arn:{partition}:cloudwatch:{region}:{account}:alarm:*"
# What the notifier routes (alarms) and escalates on (incidents); omp.domain.notifications.
NOTIFICATION_EVENTS = (
    "AlarmRaised",
    "AlarmResolved",
    "IncidentOpened",
    "IncidentUpdated",
    "IncidentResolved",
)
_NOTIFY = "notify"  # secrets under omp/<stage>/notify/, topics omp-<stage>-notify-*

FUNCTIONS: tuple[Function, ...] = (
    # ---- security ---------------------------------------------------------------------------
    Function(
        name="authorize",
        service="security",
        handler="security/authorize",
        trigger=Authorizer(),
        tables={"security": "read"},
        cognito=True,
        timeout_s=5,
    ),
    Function(
        name="record-audit-event",
        service="security",
        handler="security/record_audit_event",
        trigger=QueueTrigger("audit-events", batch_size=25, max_batching_window_s=1),
        tables={"security": "write"},
        timeout_s=30,
    ),
    Function(
        name="create-integration-key",
        service="security",
        handler="security/create_integration_key",
        trigger=HttpRoute("POST", "/v1/integration-keys", "keys:write"),
        tables={"security": "write"},
    ),
    Function(
        name="list-integration-keys",
        service="security",
        handler="security/list_integration_keys",
        trigger=HttpRoute("GET", "/v1/integration-keys", "keys:read"),
        tables={"security": "read"},
    ),
    Function(
        name="revoke-integration-key",
        service="security",
        handler="security/revoke_integration_key",
        trigger=HttpRoute("DELETE", "/v1/integration-keys/{key_id}", "keys:write"),
        tables={"security": "write"},
    ),
    Function(
        name="get-openapi",
        service="security",
        handler="security/get_openapi",
        trigger=HttpRoute("GET", "/v1/openapi.json", "public"),
    ),
    Function(
        name="list-audit-events",
        service="security",
        handler="security/list_audit_events",
        trigger=HttpRoute("GET", "/v1/audit-events", "audit:read"),
        tables={"security": "read"},
    ),
    # ---- monitoring: the Alarm API ----------------------------------------------------------
    Function(
        name="create-alarm",
        service="monitoring",
        handler="monitoring/create_alarm",
        trigger=HttpRoute("POST", "/v1/alarms", "alarms:write"),
        tables={"monitoring": "write"},
        buses=_ALARM_EVENTS,
        idempotent=True,
    ),
    # ---- monitoring: incidents ----------------------------------------------------------------
    Function(
        name="get-incident",
        service="monitoring",
        handler="monitoring/get_incident",
        trigger=HttpRoute("GET", "/v1/incidents/{incident_id}", "incidents:read"),
        # cmdb + graph: affected_services, the CMDB impact of the incident's CIs (on read)
        tables={"monitoring": "read", "cmdb": "read"},
        graph=True,
    ),
    Function(
        name="list-incidents",
        service="monitoring",
        handler="monitoring/list_incidents",
        trigger=HttpRoute("GET", "/v1/incidents", "incidents:read"),
        tables={"monitoring": "read"},
    ),
    Function(
        name="acknowledge-incident",
        service="monitoring",
        handler="monitoring/acknowledge_incident",
        trigger=HttpRoute("POST", "/v1/incidents/{incident_id}/ack", "incidents:write"),
        tables={"monitoring": "write"},
        buses=_ALARM_EVENTS,
        idempotent=True,
    ),
    Function(
        name="resolve-incident",
        service="monitoring",
        handler="monitoring/resolve_incident",
        trigger=HttpRoute("POST", "/v1/incidents/{incident_id}/resolve", "incidents:write"),
        tables={"monitoring": "write"},
        buses=_ALARM_EVENTS,
        idempotent=True,
    ),
    # ---- monitoring: alert ingestion ---------------------------------------------------------
    Function(
        name="ingest-alerts",
        service="monitoring",
        handler="monitoring/ingest_alerts",
        trigger=HttpRoute("POST", "/v1/ingest/{source}", "ingest:write"),
        queues=("alert-ingest",),
        buckets={"ingest": "write"},
    ),
    Function(
        name="ingest-any",
        service="monitoring",
        handler="monitoring/ingest_any",
        trigger=HttpRoute("POST", "/v1/ingest", "ingest:write"),
        queues=("alert-ingest",),
        buckets={"ingest": "write"},
    ),
    Function(
        name="process-alerts",
        service="monitoring",
        handler="monitoring/process_alerts",
        trigger=QueueTrigger("alert-ingest", batch_size=10, max_batching_window_s=1),
        # cmdb + graph: the topology rule resolves alarms to CIs and walks k hops (lazily)
        tables={"monitoring": "write", "cmdb": "read"},
        buses=_ALARM_EVENTS,
        buckets={"ingest": "read"},
        graph=True,
        dead_letters=True,  # a payload no normaliser accepts goes to the DLQ with the reason
        timeout_s=60,  # under the alert-ingest queue's 120 s visibility timeout
    ),
    Function(
        name="receive-cloudwatch-alarm",
        service="monitoring",
        handler="monitoring/receive_cloudwatch_alarm",
        trigger=EventRule(
            {"source": ["aws.cloudwatch"], "detail-type": ["CloudWatch Alarm State Change"]}
        ),
        queues=("alert-ingest",),
        buckets={"ingest": "write"},
    ),
    Function(
        name="get-alarm",
        service="monitoring",
        handler="monitoring/get_alarm",
        trigger=HttpRoute("GET", "/v1/alarms/{alarm_id}", "alarms:read"),
        tables={"monitoring": "read"},
    ),
    Function(
        name="list-alarms",
        service="monitoring",
        handler="monitoring/list_alarms",
        trigger=HttpRoute("GET", "/v1/alarms", "alarms:read"),
        tables={"monitoring": "read"},
    ),
    Function(
        name="acknowledge-alarm",
        service="monitoring",
        handler="monitoring/acknowledge_alarm",
        trigger=HttpRoute("POST", "/v1/alarms/{alarm_id}/ack", "alarms:write"),
        tables={"monitoring": "write"},
        buses=_ALARM_EVENTS,
        idempotent=True,
    ),
    Function(
        name="resolve-alarm",
        service="monitoring",
        handler="monitoring/resolve_alarm",
        trigger=HttpRoute("POST", "/v1/alarms/{alarm_id}/resolve", "alarms:write"),
        tables={"monitoring": "write"},
        buses=_ALARM_EVENTS,
        idempotent=True,
    ),
    # ---- monitoring: alarm timeline, incident merge/split, CloudWatch SNS and Lambda action ----
    Function(
        name="get-alarm-timeline",
        service="monitoring",
        handler="monitoring/get_alarm_timeline",
        trigger=HttpRoute("GET", "/v1/alarms/{alarm_id}/timeline", "alarms:read"),
        tables={"monitoring": "read"},
    ),
    Function(
        name="merge-incidents",
        service="monitoring",
        handler="monitoring/merge_incidents",
        trigger=HttpRoute("POST", "/v1/incidents/{incident_id}/merge", "incidents:write"),
        tables={"monitoring": "write"},
        buses=_ALARM_EVENTS,
        idempotent=True,
    ),
    Function(
        name="split-incident",
        service="monitoring",
        handler="monitoring/split_incident",
        trigger=HttpRoute("POST", "/v1/incidents/{incident_id}/split", "incidents:write"),
        tables={"monitoring": "write"},
        buses=_ALARM_EVENTS,
        idempotent=True,
    ),
    Function(
        name="receive-cloudwatch-sns",
        service="monitoring",
        handler="monitoring/receive_cloudwatch_sns",
        trigger=TopicTrigger("cloudwatch-alarms"),
        queues=("alert-ingest",),
        buckets={"ingest": "write"},
    ),
    Function(
        name="receive-cloudwatch-alarm-action",
        service="monitoring",
        handler="monitoring/receive_cloudwatch_alarm_action",
        trigger=DirectInvoke(
            "lambda.alarms.cloudwatch.amazonaws.com",
            source_arn=CLOUDWATCH_ALARMS_ARN,
        ),
        queues=("alert-ingest",),
        buckets={"ingest": "write"},
    ),
    Function(
        name="sweep-alerts",
        service="monitoring",
        handler="monitoring/sweep_alerts",
        # Persist thresholds (open_after) and the flapping quiet period are minutes long.
        trigger=Schedule("rate(1 minute)"),
        tables={"monitoring": "write"},
        buses=_ALARM_EVENTS,
        timeout_s=60,
    ),
    # ---- monitoring: alerting settings (flapping, correlation, incidents), CMDB topology -------
    Function(
        name="get-alerting-config",
        service="monitoring",
        handler="monitoring/get_alerting_config",
        trigger=HttpRoute("GET", "/v1/alerting-config", "alerting:read"),
        tables={"monitoring": "read"},
    ),
    Function(
        name="put-alerting-config",
        service="monitoring",
        handler="monitoring/put_alerting_config",
        trigger=HttpRoute("PUT", "/v1/alerting-config", "alerting:write"),
        tables={"monitoring": "write"},
    ),
    # ---- monitoring: silences, maintenance windows, inhibition rules --------------------------
    # (process-alerts reads them through its monitoring-table access; no new grant needed)
    Function(
        name="create-silence",
        service="monitoring",
        handler="monitoring/create_silence",
        trigger=HttpRoute("POST", "/v1/silences", "silences:write"),
        tables={"monitoring": "write"},  # the silence; reads the active alarms (share check)
        buses=_ALARM_EVENTS,
        idempotent=True,
    ),
    Function(
        name="list-silences",
        service="monitoring",
        handler="monitoring/list_silences",
        trigger=HttpRoute("GET", "/v1/silences", "silences:read"),
        tables={"monitoring": "read"},
    ),
    Function(
        name="get-silence",
        service="monitoring",
        handler="monitoring/get_silence",
        trigger=HttpRoute("GET", "/v1/silences/{silence_id}", "silences:read"),
        tables={"monitoring": "read"},
    ),
    Function(
        name="expire-silence",
        service="monitoring",
        handler="monitoring/expire_silence",
        trigger=HttpRoute("DELETE", "/v1/silences/{silence_id}", "silences:write"),
        tables={"monitoring": "write"},
        buses=_ALARM_EVENTS,
    ),
    Function(
        name="create-maintenance-window",
        service="monitoring",
        handler="monitoring/create_maintenance_window",
        trigger=HttpRoute("POST", "/v1/maintenance-windows", "silences:write"),
        tables={"monitoring": "write"},
        buses=_ALARM_EVENTS,
        idempotent=True,
    ),
    Function(
        name="list-maintenance-windows",
        service="monitoring",
        handler="monitoring/list_maintenance_windows",
        trigger=HttpRoute("GET", "/v1/maintenance-windows", "silences:read"),
        tables={"monitoring": "read"},
    ),
    Function(
        name="get-maintenance-window",
        service="monitoring",
        handler="monitoring/get_maintenance_window",
        trigger=HttpRoute("GET", "/v1/maintenance-windows/{window_id}", "silences:read"),
        tables={"monitoring": "read"},
    ),
    Function(
        name="delete-maintenance-window",
        service="monitoring",
        handler="monitoring/delete_maintenance_window",
        trigger=HttpRoute("DELETE", "/v1/maintenance-windows/{window_id}", "silences:write"),
        tables={"monitoring": "write"},
        buses=_ALARM_EVENTS,
    ),
    Function(
        name="create-inhibition-rule",
        service="monitoring",
        handler="monitoring/create_inhibition_rule",
        trigger=HttpRoute("POST", "/v1/inhibition-rules", "silences:write"),
        tables={"monitoring": "write"},
        buses=_ALARM_EVENTS,
        idempotent=True,
    ),
    Function(
        name="list-inhibition-rules",
        service="monitoring",
        handler="monitoring/list_inhibition_rules",
        trigger=HttpRoute("GET", "/v1/inhibition-rules", "silences:read"),
        tables={"monitoring": "read"},
    ),
    Function(
        name="delete-inhibition-rule",
        service="monitoring",
        handler="monitoring/delete_inhibition_rule",
        trigger=HttpRoute("DELETE", "/v1/inhibition-rules/{rule_id}", "silences:write"),
        tables={"monitoring": "write"},
        buses=_ALARM_EVENTS,
    ),
    Function(
        name="warn-expiring-silences",
        service="monitoring",
        handler="monitoring/warn_expiring_silences",
        trigger=Schedule("rate(5 minutes)"),
        tables={"monitoring": "write"},  # the warned / announced marks
        buses=_ALARM_EVENTS,
        timeout_s=60,
    ),
    # ---- monitoring: routing, notifications, escalation ---------------------------------------
    # stack="notifications": a stack of its own (ServiceMonitoringNotifications)
    Function(
        name="put-notification-config",
        service="monitoring",
        stack="notifications",
        handler="monitoring/put_notification_config",
        trigger=HttpRoute("PUT", "/v1/notification-config", "notifications:write"),
        tables={"monitoring": "write"},
    ),
    Function(
        name="get-notification-config",
        service="monitoring",
        stack="notifications",
        handler="monitoring/get_notification_config",
        trigger=HttpRoute("GET", "/v1/notification-config", "notifications:read"),
        tables={"monitoring": "read"},
    ),
    Function(
        name="list-notifications",
        service="monitoring",
        stack="notifications",
        handler="monitoring/list_notifications",
        trigger=HttpRoute("GET", "/v1/notifications", "notifications:read"),
        tables={"monitoring": "read"},
    ),
    Function(
        name="route-notifications",
        service="monitoring",
        stack="notifications",
        handler="monitoring/route_notifications",
        trigger=QueueTrigger("notifications", batch_size=10, max_batching_window_s=1),
        tables={"monitoring": "write"},
        timeout_s=60,  # under the notifications queue's 120 s visibility timeout
    ),
    Function(
        name="flush-notifications",
        service="monitoring",
        stack="notifications",
        handler="monitoring/flush_notifications",
        trigger=Schedule("rate(1 minute)"),
        tables={"monitoring": "write"},
        buses=_ALARM_EVENTS,
        secrets=_NOTIFY,
        external_topics=_NOTIFY,
        timeout_s=50,  # bounded retries stay inside one tick
    ),
    Function(
        name="create-escalation-policy",
        service="monitoring",
        stack="notifications",
        handler="monitoring/create_escalation_policy",
        trigger=HttpRoute("POST", "/v1/escalation-policies", "notifications:write"),
        tables={"monitoring": "write"},
        idempotent=True,
    ),
    Function(
        name="list-escalation-policies",
        service="monitoring",
        stack="notifications",
        handler="monitoring/list_escalation_policies",
        trigger=HttpRoute("GET", "/v1/escalation-policies", "notifications:read"),
        tables={"monitoring": "read"},
    ),
    Function(
        name="get-escalation-policy",
        service="monitoring",
        stack="notifications",
        handler="monitoring/get_escalation_policy",
        trigger=HttpRoute("GET", "/v1/escalation-policies/{policy_id}", "notifications:read"),
        tables={"monitoring": "read"},
    ),
    Function(
        name="delete-escalation-policy",
        service="monitoring",
        stack="notifications",
        handler="monitoring/delete_escalation_policy",
        trigger=HttpRoute("DELETE", "/v1/escalation-policies/{policy_id}", "notifications:write"),
        tables={"monitoring": "write"},
    ),
    Function(
        name="escalate-incidents",
        service="monitoring",
        stack="notifications",
        handler="monitoring/escalate_incidents",
        trigger=Schedule("rate(1 minute)"),
        tables={"monitoring": "write"},
        buses=_ALARM_EVENTS,
        secrets=_NOTIFY,
        external_topics=_NOTIFY,
        timeout_s=50,
    ),
    # ---- monitoring: metrics, baselines and anomaly detection ---------------------------------
    # stack="metrics": a stack of its own (ServiceMonitoringMetrics)
    Function(
        name="ingest-metrics",
        service="monitoring",
        stack="metrics",
        handler="monitoring/ingest_metrics",
        trigger=HttpRoute("POST", "/v1/metrics", "ingest:write"),
        tables={"metrics": "write"},
        queues=("metric-points",),  # accepted points, for anomaly scoring
        memory_mb=512,
        timeout_s=30,
    ),
    Function(
        name="ingest-otlp-metrics",
        service="monitoring",
        stack="metrics",
        handler="monitoring/ingest_otlp_metrics",
        # under Lambda's 6 MB request limit once API Gateway base64-encodes a protobuf body
        trigger=HttpRoute("POST", "/v1/otlp/metrics", "ingest:write", max_body_bytes=4_000_000),
        tables={"metrics": "write"},
        queues=("metric-points",),  # accepted points, for anomaly scoring
        memory_mb=1024,
        timeout_s=30,
    ),
    Function(
        name="list-metric-series",
        service="monitoring",
        stack="metrics",
        handler="monitoring/list_metric_series",
        trigger=HttpRoute("GET", "/v1/metrics/series", "metrics:read"),
        tables={"metrics": "read"},
    ),
    Function(
        name="query-metrics",
        service="monitoring",
        stack="metrics",
        handler="monitoring/query_metrics",
        trigger=HttpRoute("GET", "/v1/metrics/query", "metrics:read"),
        tables={"metrics": "read"},
        memory_mb=512,
        timeout_s=15,
    ),
    Function(
        name="create-metric-source",
        service="monitoring",
        stack="metrics",
        handler="monitoring/create_metric_source",
        trigger=HttpRoute("POST", "/v1/metric-sources", "metrics:write"),
        tables={"metrics": "write"},
        idempotent=True,
    ),
    Function(
        name="list-metric-sources",
        service="monitoring",
        stack="metrics",
        handler="monitoring/list_metric_sources",
        trigger=HttpRoute("GET", "/v1/metric-sources", "metrics:read"),
        tables={"metrics": "read"},
    ),
    Function(
        name="delete-metric-source",
        service="monitoring",
        stack="metrics",
        handler="monitoring/delete_metric_source",
        trigger=HttpRoute("DELETE", "/v1/metric-sources/{source_id}", "metrics:write"),
        tables={"metrics": "write"},
    ),
    Function(
        name="pull-cloudwatch-metrics",
        service="monitoring",
        stack="metrics",
        handler="monitoring/pull_cloudwatch_metrics",
        trigger=Schedule("rate(5 minutes)"),
        tables={"metrics": "write"},
        queues=("metric-points",),  # accepted points, for anomaly scoring
        aws_actions=("cloudwatch:GetMetricData",),
        memory_mb=512,
        timeout_s=120,
    ),
    Function(
        name="refit-baselines",
        service="monitoring",
        stack="metrics",
        handler="monitoring/refit_baselines",
        trigger=Schedule("rate(1 hour)"),
        tables={"metrics": "write"},
        memory_mb=1769,  # one full vCPU: the fit is numpy-bound
        timeout_s=900,  # stops a minute early and saves its place; the next run continues
    ),
    Function(
        name="get-metric-baseline",
        service="monitoring",
        stack="metrics",
        handler="monitoring/get_metric_baseline",
        trigger=HttpRoute("GET", "/v1/metrics/{series_id}/baseline", "metrics:read"),
        tables={"metrics": "read"},
        memory_mb=512,
    ),
    Function(
        name="get-detector-settings",
        service="monitoring",
        stack="metrics",
        handler="monitoring/get_detector_settings",
        trigger=HttpRoute("GET", "/v1/detectors", "metrics:read"),
        tables={"metrics": "read"},
    ),
    Function(
        name="put-detector-settings",
        service="monitoring",
        stack="metrics",
        handler="monitoring/put_detector_settings",
        trigger=HttpRoute("PUT", "/v1/detectors", "metrics:write"),
        tables={"metrics": "write"},
    ),
    Function(
        name="backtest-detector",
        service="monitoring",
        stack="metrics",
        handler="monitoring/backtest_detector",
        trigger=HttpRoute("POST", "/v1/detectors/backtest", "metrics:read"),
        tables={"metrics": "write"},  # the job item (reads the series, writes only the job)
        queues=("backtests",),
        idempotent=True,
    ),
    Function(
        name="get-backtest",
        service="monitoring",
        stack="metrics",
        handler="monitoring/get_backtest",
        trigger=HttpRoute("GET", "/v1/detectors/backtests/{backtest_id}", "metrics:read"),
        tables={"metrics": "read"},
    ),
    Function(
        name="run-backtest",
        service="monitoring",
        stack="metrics",
        handler="monitoring/run_backtest",
        trigger=QueueTrigger("backtests", batch_size=1),
        tables={"metrics": "write"},  # the job item; the points are only read
        memory_mb=1769,  # one full vCPU: the detector runs point by point
        timeout_s=300,  # 100,000 points take ~35 s; under the queue's 360 s visibility timeout
    ),
    Function(
        name="score-metrics",
        service="monitoring",
        stack="metrics",
        handler="monitoring/score_metrics",
        trigger=QueueTrigger("metric-points", batch_size=10, max_batching_window_s=2),
        tables={"metrics": "write"},
        queues=("alert-ingest",),  # anomaly alarms go through the alert pipeline
        buckets={"ingest": "write"},  # the alert queue offloads large payloads (never here)
        memory_mb=1024,
        timeout_s=60,  # under the metric-points queue's 180 s visibility timeout
    ),
    Function(
        name="resolve-silent-anomalies",
        service="monitoring",
        stack="metrics",
        handler="monitoring/resolve_silent_anomalies",
        trigger=Schedule("rate(5 minutes)"),
        # reads the open-alarm index (gsi2), the series registry and the detector settings;
        # clears the alarm in the detector state (conditional on its version)
        tables={"metrics": "write"},
        queues=("alert-ingest",),  # the no-data resolve goes through the alert pipeline
        buckets={"ingest": "write"},  # the alert queue offloads large payloads (never here)
        timeout_s=60,  # stops with 15 s to spare; the next run takes the rest
    ),
    # ---- cmdb ---------------------------------------------------------------------------------
    Function(
        name="create-ci-type",
        service="cmdb",
        handler="cmdb/create_ci_type",
        trigger=HttpRoute("POST", "/v1/ci-types", "ci-types:write"),
        tables={"cmdb": "write"},
    ),
    Function(
        name="list-ci-types",
        service="cmdb",
        handler="cmdb/list_ci_types",
        trigger=HttpRoute("GET", "/v1/ci-types", "cis:read"),
        tables={"cmdb": "read"},
    ),
    Function(
        name="get-ci-type",
        service="cmdb",
        handler="cmdb/get_ci_type",
        trigger=HttpRoute("GET", "/v1/ci-types/{name}", "cis:read"),
        tables={"cmdb": "read"},
    ),
    Function(
        name="update-ci-type",
        service="cmdb",
        handler="cmdb/update_ci_type",
        trigger=HttpRoute("PUT", "/v1/ci-types/{name}", "ci-types:write"),
        tables={"cmdb": "write"},
    ),
    Function(
        name="create-ci",
        service="cmdb",
        handler="cmdb/create_ci",
        trigger=HttpRoute("POST", "/v1/cis", "cis:write"),
        tables={"cmdb": "write"},
        buses=(PLATFORM_BUS,),
        idempotent=True,
    ),
    Function(
        name="list-cis",
        service="cmdb",
        handler="cmdb/list_cis",
        trigger=HttpRoute("GET", "/v1/cis", "cis:read"),
        tables={"cmdb": "read"},
    ),
    Function(
        name="get-ci",
        service="cmdb",
        handler="cmdb/get_ci",
        trigger=HttpRoute("GET", "/v1/cis/{ci_id}", "cis:read"),
        tables={"cmdb": "read"},
    ),
    Function(
        name="update-ci",
        service="cmdb",
        handler="cmdb/update_ci",
        trigger=HttpRoute("PUT", "/v1/cis/{ci_id}", "cis:write"),
        tables={"cmdb": "write"},
        buses=(PLATFORM_BUS,),
    ),
    Function(
        name="retire-ci",
        service="cmdb",
        handler="cmdb/retire_ci",
        trigger=HttpRoute("DELETE", "/v1/cis/{ci_id}", "cis:write"),
        tables={"cmdb": "write"},
        buses=(PLATFORM_BUS,),
    ),
    Function(
        name="batch-upsert-cis",
        service="cmdb",
        handler="cmdb/batch_upsert_cis",
        trigger=HttpRoute("POST", "/v1/cis:batchUpsert", "cis:write", max_body_bytes=5_000_000),
        tables={"cmdb": "write"},
        buses=(PLATFORM_BUS,),
        idempotent=True,
        memory_mb=512,
        timeout_s=29,  # API Gateway's integration limit
    ),
    Function(
        name="get-ci-history",
        service="cmdb",
        handler="cmdb/get_ci_history",
        trigger=HttpRoute("GET", "/v1/cis/{ci_id}/history", "cis:read"),
        tables={"cmdb": "read"},
    ),
    Function(
        name="verify-ci-history",
        service="cmdb",
        handler="cmdb/verify_ci_history",
        trigger=HttpRoute("GET", "/v1/cis/{ci_id}/history/verify", "cis:read"),
        tables={"cmdb": "read"},
        buckets={"cmdb-anchors": "read"},  # the CI's newest anchored head
        timeout_s=29,
    ),
    Function(
        name="anchor-ci-history",
        service="cmdb",
        handler="cmdb/anchor_ci_history",
        trigger=Schedule("rate(5 minutes)"),
        tables={"cmdb": "read"},
        # put-only on an Object Lock bucket (no delete); read to chain to the newest anchor
        buckets={"cmdb-anchors": "write"},
        memory_mb=512,
        timeout_s=300,  # stops a minute early; the next run continues from the cursor
    ),
    Function(
        name="verify-history-anchors",
        service="cmdb",
        handler="cmdb/verify_history_anchors",
        trigger=HttpRoute("GET", "/v1/cmdb/history-anchors/verify", "cis:read"),
        buckets={"cmdb-anchors": "read"},
        memory_mb=512,
        timeout_s=29,
    ),
    Function(
        name="add-relation",
        service="cmdb",
        handler="cmdb/add_relation",
        trigger=HttpRoute("POST", "/v1/cis/{ci_id}/relations", "cis:write"),
        tables={"cmdb": "read"},
        buses=(PLATFORM_BUS,),
        idempotent=True,
        graph=True,
    ),
    Function(
        name="remove-relation",
        service="cmdb",
        handler="cmdb/remove_relation",
        trigger=HttpRoute("DELETE", "/v1/cis/{ci_id}/relations/{relation_id}", "cis:write"),
        tables={"cmdb": "read"},
        buses=(PLATFORM_BUS,),
        graph=True,
    ),
    Function(
        name="remove-relation-to",
        service="cmdb",
        handler="cmdb/remove_relation_to",
        trigger=HttpRoute("DELETE", "/v1/cis/{ci_id}/relations", "cis:write"),
        tables={"cmdb": "read"},
        buses=(PLATFORM_BUS,),
        graph=True,
    ),
    Function(
        name="get-neighbors",
        service="cmdb",
        handler="cmdb/get_neighbors",
        trigger=HttpRoute("GET", "/v1/cis/{ci_id}/neighbors", "cis:read"),
        tables={"cmdb": "read"},
        graph=True,
    ),
    Function(
        name="get-impact",
        service="cmdb",
        handler="cmdb/get_impact",
        trigger=HttpRoute("GET", "/v1/cis/{ci_id}/impact", "cis:read"),
        tables={"cmdb": "read"},
        graph=True,
    ),
    Function(
        name="get-dependencies",
        service="cmdb",
        handler="cmdb/get_dependencies",
        trigger=HttpRoute("GET", "/v1/cis/{ci_id}/dependencies", "cis:read"),
        tables={"cmdb": "read"},
        graph=True,
    ),
    Function(
        name="get-topology",
        service="cmdb",
        handler="cmdb/get_topology",
        trigger=HttpRoute("GET", "/v1/topology", "cis:read"),
        tables={"cmdb": "read"},
        graph=True,
    ),
    Function(
        name="find-path",
        service="cmdb",
        handler="cmdb/find_path",
        trigger=HttpRoute("GET", "/v1/cis/{ci_id}/path", "cis:read"),
        tables={"cmdb": "read"},
        graph=True,
    ),
    Function(
        name="sync-ci-graph",
        service="cmdb",
        handler="cmdb/sync_ci_graph",
        trigger=EventRule(
            {
                "source": ["omp.cmdb"],
                # CisImported: one event per chunk of an import (omp.services.cmdb_import)
                "detail-type": ["CiCreated", "CiChanged", "CiRetired", "CisImported"],
            }
        ),
        tables={"cmdb": "read"},
        buses=(PLATFORM_BUS,),
        graph=True,
        timeout_s=60,
    ),
    Function(
        name="index-ci",
        service="cmdb",
        handler="cmdb/index_ci",
        trigger=EventRule(
            {
                "source": ["omp.cmdb"],
                # CisImported: one event per chunk of an import (omp.services.cmdb_import)
                "detail-type": ["CiCreated", "CiChanged", "CiRetired", "CisImported"],
            }
        ),
        tables={"cmdb": "read"},
        search=True,
    ),
    Function(
        name="search-cis",
        service="cmdb",
        handler="cmdb/search_cis",
        trigger=HttpRoute("GET", "/v1/cis:search", "cis:read"),
        tables={"cmdb": "read"},
        search=True,
    ),
    Function(
        name="resolve-ci",
        service="cmdb",
        handler="cmdb/resolve_ci",
        trigger=HttpRoute("GET", "/v1/cis:resolve", "cis:read"),
        tables={"cmdb": "read"},
    ),
    Function(
        name="start-netbox-import",
        service="cmdb",
        handler="cmdb/start_netbox_import",
        trigger=HttpRoute("POST", "/v1/cmdb/imports/netbox", "cis:write", max_body_bytes=6_000_000),
        tables={"cmdb": "write"},
        queues=("cmdb-imports",),
        buckets={"cmdb-imports": "write"},
        memory_mb=512,
        timeout_s=29,  # API Gateway's integration limit
    ),
    Function(
        name="get-import-job",
        service="cmdb",
        handler="cmdb/get_import_job",
        trigger=HttpRoute("GET", "/v1/cmdb/imports/{job_id}", "cis:read"),
        tables={"cmdb": "read"},
    ),
    Function(
        name="run-cmdb-import",
        service="cmdb",
        handler="cmdb/run_cmdb_import",
        trigger=QueueTrigger("cmdb-imports", batch_size=1),
        tables={"cmdb": "write"},
        queues=("cmdb-imports",),  # a run near its time limit queues the job again
        buckets={"cmdb-imports": "read"},
        buses=(PLATFORM_BUS,),
        graph=True,
        memory_mb=1024,
        timeout_s=900,
    ),
    # AWS Config discovery: item changes through the default-bus forward, a scheduled reconcile
    Function(
        name="discover-config-item",
        service="cmdb",
        handler="cmdb/discover_config_item",
        trigger=EventRule(
            {"source": ["aws.config"], "detail-type": ["Config Configuration Item Change"]}
        ),
        tables={"cmdb": "write"},
        buses=(PLATFORM_BUS,),
        graph=True,  # Config relationships become relations
        timeout_s=60,
    ),
    Function(
        name="reconcile-config",
        service="cmdb",
        handler="cmdb/reconcile_config",
        trigger=Schedule("rate(1 hour)"),
        tables={"cmdb": "write"},
        buses=(PLATFORM_BUS,),
        # this account's Config, or the aggregator the CMDB settings name (config_aggregator)
        aws_actions=(
            "config:ListDiscoveredResources",
            "config:BatchGetResourceConfig",
            "config:ListAggregateDiscoveredResources",
            "config:BatchGetAggregateResourceConfig",
        ),
        memory_mb=512,
        timeout_s=300,
    ),
    Function(
        name="get-cmdb-settings",
        service="cmdb",
        handler="cmdb/get_cmdb_settings",
        trigger=HttpRoute("GET", "/v1/cmdb/settings", "cis:read"),
        tables={"cmdb": "read"},
    ),
    Function(
        name="put-cmdb-settings",
        service="cmdb",
        handler="cmdb/put_cmdb_settings",
        trigger=HttpRoute("PUT", "/v1/cmdb/settings", "ci-types:write"),
        tables={"cmdb": "write"},
    ),
)

# Rules that route bus events to queues (not to a function directly): fan-in for high volume.
# Each entry: (queue name, bus, pattern).
QUEUE_RULES: tuple[tuple[str, str, Mapping[str, object]], ...] = (
    ("audit-events", PLATFORM_BUS, {"source": [{"prefix": "omp."}]}),
    (
        "notifications",
        PLATFORM_BUS,
        {"source": ["omp.monitoring"], "detail-type": list(NOTIFICATION_EVENTS)},
    ),
)

# Rules that forward events from one bus to another: AWS services publish only to the account's
# default bus; forwarding their events to the platform bus lets every consumer subscribe in one
# place. Each entry: (from bus, to bus, pattern).
AWS_EVENT_SOURCES = (
    "aws.cloudwatch",  # alarm state changes (alert ingestion)
    "aws.config",  # configuration item changes (CMDB discovery)
    "aws.health",  # AWS Health events
    "aws.inspector2",  # vulnerability findings
    "aws.securityhub",  # compliance findings
    "aws.ec2",  # instance state changes
)
BUS_FORWARDS: tuple[tuple[str, str, Mapping[str, object]], ...] = (
    (DEFAULT_BUS, PLATFORM_BUS, {"source": list(AWS_EVENT_SOURCES)}),
)

# --------------------------------------------------------------------------------------------
# Lookups and the environment contract
# --------------------------------------------------------------------------------------------


def function(name: str) -> Function:
    for fn in FUNCTIONS:
        if fn.name == name:
            return fn
    raise KeyError(name)


def http_functions() -> list[Function]:
    return [fn for fn in FUNCTIONS if isinstance(fn.trigger, HttpRoute)]


def env_key(kind: str, name: str) -> str:
    """The environment variable that carries a resource's physical name: OMP_TABLE_MONITORING."""
    return f"OMP_{kind.upper()}_{name.upper().replace('-', '_')}"


ResourceResolver = Callable[[str, str], str]
"""(kind, logical name) -> physical name/URL/ARN. kind: table, queue, dlq (a queue's DLQ URL), bus,
topic, bucket, machine,
or cognito ("issuer" / "client_id"; the local runtime answers ""), or ("graph", "endpoint") /
("search", "endpoint") for functions with graph / search (Neptune wss URL, OpenSearch https URL)."""


def secret_prefix(fn: Function, stage: str) -> str:
    """The Secrets Manager name prefix a function may read (`omp/<stage>/notify/`)."""
    return f"omp/{stage}/{fn.secrets}/" if fn.secrets else ""


def external_topic_prefix(fn: Function, stage: str) -> str:
    """The SNS topic name prefix a function may publish to (`omp-<stage>-notify-`)."""
    return f"omp-{stage}-{fn.external_topics}-" if fn.external_topics else ""


def environment(fn: Function, resolve: ResourceResolver, stage: str) -> dict[str, str]:
    """Every environment variable a function gets; the same for CDK and the local runtime."""
    env: dict[str, str] = {
        "OMP_STAGE": stage,
        "OMP_SERVICE": fn.service,
        "OMP_FUNCTION": fn.name,
        "POWERTOOLS_SERVICE_NAME": fn.service,
        "POWERTOOLS_METRICS_NAMESPACE": "omp",
        # We use no pydantic plugins; without this, the first model built on a cold start scans
        # every installed distribution's entry points for them (about a third of an alarm
        # handler's import time, see docs/benchmarks.md).
        "PYDANTIC_DISABLE_PLUGINS": "1",
        # numpy's OpenBLAS starts one worker thread per core at import, and they spin: on this
        # project's 2-core bench that is ~40 ms of CPU, as much as numpy's own import. Nothing
        # here calls BLAS (the fits are element-wise across series), so one thread loses nothing.
        "OPENBLAS_NUM_THREADS": "1",
    }
    if isinstance(fn.trigger, HttpRoute):
        env["OMP_PERMISSION"] = fn.trigger.permission
        env["OMP_MAX_BODY_BYTES"] = str(fn.trigger.max_body_bytes)
    for table in fn.tables:
        env[env_key("table", table)] = resolve("table", table)
    if fn.idempotent:
        env[env_key("table", "idempotency")] = resolve("table", "idempotency")
    for bus in fn.buses:
        env[env_key("bus", bus)] = resolve("bus", bus)
    for queue in fn.queues:
        env[env_key("queue", queue)] = resolve("queue", queue)
    if fn.dead_letters and isinstance(fn.trigger, QueueTrigger):
        env["OMP_DLQ_URL"] = resolve("dlq", fn.trigger.queue)
    for topic in fn.topics:
        env[env_key("topic", topic)] = resolve("topic", topic)
    for bucket in fn.buckets:
        env[env_key("bucket", bucket)] = resolve("bucket", bucket)
    for machine in fn.state_machines:
        env[env_key("machine", machine)] = resolve("machine", machine)
    if fn.cognito:
        # Empty where there is no user pool (the local runtime): JWTs are then refused.
        env["OMP_COGNITO_ISSUER"] = resolve("cognito", "issuer")
        env["OMP_COGNITO_CLIENT_ID"] = resolve("cognito", "client_id")
    if fn.secrets:
        env["OMP_SECRET_PREFIX"] = secret_prefix(fn, stage)
    if fn.external_topics:
        env["OMP_EXTERNAL_TOPIC_PREFIX"] = external_topic_prefix(fn, stage)
    if fn.graph:
        env["OMP_GRAPH_ENDPOINT"] = resolve("graph", "endpoint")
    if fn.search:
        env["OMP_SEARCH_ENDPOINT"] = resolve("search", "endpoint")
    return env


def create_table_request(table: Table, physical_name: str) -> dict[str, object]:
    """The DynamoDB CreateTable arguments for a catalog table (local runtime and tests)."""
    keys = list(table.keys) + [f"{ix}{part}" for ix in table.indexes for part in ("pk", "sk")]
    request: dict[str, object] = {
        "TableName": physical_name,
        "KeySchema": [
            {"AttributeName": name, "KeyType": kind}
            for name, kind in zip(table.keys, ("HASH", "RANGE"), strict=False)
        ],
        "AttributeDefinitions": [{"AttributeName": k, "AttributeType": "S"} for k in keys],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if table.indexes:
        request["GlobalSecondaryIndexes"] = [
            {
                "IndexName": ix,
                "KeySchema": [
                    {"AttributeName": f"{ix}pk", "KeyType": "HASH"},
                    {"AttributeName": f"{ix}sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
            for ix in table.indexes
        ]
    return request


def ttl_attribute(table: Table) -> str:
    return table.ttl_attribute


def validate() -> None:
    """Catalog self-consistency; raises ValueError naming the first problem."""
    names = [fn.name for fn in FUNCTIONS]
    if len(names) != len(set(names)):
        raise ValueError("duplicate function names")
    tables = {t.name for t in TABLES}
    queues = {q.name for q in QUEUES}
    buses = {b.name for b in BUSES} | {DEFAULT_BUS}
    topics = {t.name for t in TOPICS}
    buckets = {b.name for b in BUCKETS}
    machines = {m.name for m in STATE_MACHINES}
    routes: set[tuple[str, str]] = set()
    for fn in FUNCTIONS:
        if fn.service not in SERVICES:
            raise ValueError(f"{fn.name}: unknown service {fn.service}")
        for kind, used, known in (
            ("table", set(fn.tables), tables),
            ("bus", set(fn.buses), buses),
            ("queue", set(fn.queues), queues),
            ("topic", set(fn.topics), topics),
            ("bucket", set(fn.buckets), buckets),
            ("machine", set(fn.state_machines), machines),
        ):
            if used - known:
                raise ValueError(f"{fn.name}: unknown {kind} {sorted(used - known)}")
        trigger = fn.trigger
        if fn.dead_letters and not isinstance(trigger, QueueTrigger):
            raise ValueError(f"{fn.name}: dead_letters needs a queue trigger")
        if isinstance(trigger, HttpRoute):
            key = (trigger.method, trigger.path)
            if key in routes:
                raise ValueError(f"{fn.name}: route {key} declared twice")
            routes.add(key)
        elif isinstance(trigger, QueueTrigger) and trigger.queue not in queues:
            raise ValueError(f"{fn.name}: unknown queue {trigger.queue}")
        elif isinstance(trigger, TopicTrigger) and trigger.topic not in topics:
            raise ValueError(f"{fn.name}: unknown topic {trigger.topic}")
        elif isinstance(trigger, EventRule) and trigger.bus not in buses:
            raise ValueError(f"{fn.name}: unknown bus {trigger.bus}")
        elif isinstance(trigger, StateMachineTask) and trigger.machine not in machines:
            raise ValueError(f"{fn.name}: unknown state machine {trigger.machine}")
        elif isinstance(trigger, DirectInvoke) and not trigger.principal.endswith(".amazonaws.com"):
            raise ValueError(f"{fn.name}: {trigger.principal} is not an AWS service principal")
    for queue, bus, _pattern in QUEUE_RULES:
        if queue not in queues or bus not in buses:
            raise ValueError(f"queue rule {queue} on {bus}: unknown queue or bus")
    for source, target, _pattern in BUS_FORWARDS:
        if source not in buses or target not in buses or source == target:
            raise ValueError(f"bus forward {source} -> {target}: unknown or same bus")
    if sum(isinstance(fn.trigger, Authorizer) for fn in FUNCTIONS) != 1:
        raise ValueError("exactly one authorizer function is required")


# --------------------------------------------------------------------------------------------
# The catalog as one value
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Catalog:
    """A catalog module as one value: the CDK stacks and the local runtime are built from it, from
    this module or from a small test catalog (tests exercise code paths no production function
    uses yet)."""

    tables: tuple[Table, ...]
    queues: tuple[Queue, ...]
    buses: tuple[Bus, ...]
    topics: tuple[Topic, ...]
    buckets: tuple[Bucket, ...]
    state_machines: tuple[StateMachine, ...]
    functions: tuple[Function, ...]
    queue_rules: tuple[tuple[str, str, Mapping[str, object]], ...]
    bus_forwards: tuple[tuple[str, str, Mapping[str, object]], ...] = ()

    @classmethod
    def from_module(cls, module: ModuleType | str = __name__) -> Catalog:
        """Read a catalog module (this one by default), after its own `validate()` if it has one;
        every collection but FUNCTIONS may be left out."""
        mod = importlib.import_module(module) if isinstance(module, str) else module
        check = getattr(mod, "validate", None)
        if callable(check):
            check()
        return cls(
            tables=tuple(getattr(mod, "TABLES", ())),
            queues=tuple(getattr(mod, "QUEUES", ())),
            buses=tuple(getattr(mod, "BUSES", ())),
            topics=tuple(getattr(mod, "TOPICS", ())),
            buckets=tuple(getattr(mod, "BUCKETS", ())),
            state_machines=tuple(getattr(mod, "STATE_MACHINES", ())),
            functions=tuple(mod.FUNCTIONS),
            queue_rules=tuple(getattr(mod, "QUEUE_RULES", ())),
            bus_forwards=tuple(getattr(mod, "BUS_FORWARDS", ())),
        )

    def table(self, name: str) -> Table:
        for table in self.tables:
            if table.name == name:
                return table
        raise KeyError(name)

    def bucket(self, name: str) -> Bucket:
        for bucket in self.buckets:
            if bucket.name == name:
                return bucket
        raise KeyError(name)

    def queue(self, name: str) -> Queue:
        for queue in self.queues:
            if queue.name == name:
                return queue
        raise KeyError(name)

    def function(self, name: str) -> Function:
        for fn in self.functions:
            if fn.name == name:
                return fn
        raise KeyError(name)

    def services(self) -> list[str]:
        """Services that have functions, in the order of SERVICES."""
        used = {fn.service for fn in self.functions}
        return [s for s in SERVICES if s in used]

    def stacks(self) -> list[tuple[str, str]]:
        """(service, stack) of every service stack: the service's own stack ("") first, then
        its other stacks in catalog order; services in the order of SERVICES."""
        found: list[tuple[str, str]] = []
        for service in self.services():
            names = [fn.stack for fn in self.functions if fn.service == service]
            ordered = sorted(set(names), key=lambda s: (s != "", names.index(s)))
            found += [(service, s) for s in ordered]
        return found

    def authorizer(self) -> Function | None:
        found = [fn for fn in self.functions if isinstance(fn.trigger, Authorizer)]
        if len(found) > 1:
            raise ValueError("exactly one authorizer function is allowed")
        return found[0] if found else None

    def check(self) -> None:
        """Checks the stacks rely on, beyond a catalog module's `validate()`."""
        for fn in self.functions:
            # it names a CloudFormation stack (omp-<stage>-svc-<service>-<stack>)
            if fn.stack and not _STACK_NAME.fullmatch(fn.stack):
                raise ValueError(f"{fn.name}: stack {fn.stack!r} must be lower-case kebab-case")
            trigger = fn.trigger
            if isinstance(trigger, QueueTrigger):
                queue = self.queue(trigger.queue)
                if fn.timeout_s > queue.visibility_timeout_s:
                    raise ValueError(
                        f"{fn.name}: timeout {fn.timeout_s}s exceeds the visibility timeout "
                        f"{queue.visibility_timeout_s}s of queue {queue.name} (SQS rejects it)"
                    )
        if (
            any(isinstance(fn.trigger, HttpRoute) for fn in self.functions)
            and not self.authorizer()
        ):
            raise ValueError("HTTP routes need the authorizer function")
