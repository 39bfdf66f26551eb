"""The composition root: adapters built from the function's environment, on first use.

Handlers ask this module for ports; tests replace them with `override(...)`. Adapters are cached
per physical resource name, so the local runtime (many functions, one process) stays correct.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from omp.runtime import env

T = TypeVar("T")

_cache: dict[tuple[str, str, str], Any] = {}
_overrides: dict[str, Any] = {}


def _build(port: str, resource: str, factory: Callable[[str], T], variant: str = "") -> T:
    """`variant`: what else the adapter is built from (a queue URL the function may send to), so
    functions sharing one process (the local runtime, tests) never get each other's."""
    if port in _overrides:
        return _overrides[port]  # type: ignore[no-any-return]
    name = env.require(resource) if resource else ""
    key = (port, name, variant)
    if key not in _cache:
        _cache[key] = factory(name)
    return _cache[key]  # type: ignore[no-any-return]


def clock() -> Any:
    from omp.adapters.clock import SystemClock

    return _build("clock", "", lambda _: SystemClock())


def alarms() -> Any:
    from omp.adapters.dynamo_alarms import DynamoAlarmRepository

    return _build("alarms", "OMP_TABLE_MONITORING", DynamoAlarmRepository)


def publisher() -> Any:
    from omp.adapters.eventbridge import EventBridgePublisher

    return _build("publisher", "OMP_BUS_PLATFORM", EventBridgePublisher)


def audit_log() -> Any:
    from omp.adapters.dynamo_security import DynamoAuditLog

    return _build("audit_log", "OMP_TABLE_SECURITY", DynamoAuditLog)


def api_keys() -> Any:
    from omp.adapters.dynamo_security import DynamoApiKeyStore

    return _build("api_keys", "OMP_TABLE_SECURITY", DynamoApiKeyStore)


def alert_states() -> Any:
    from omp.adapters.dynamo_alerting import DynamoAlertStateStore

    return _build("alert_states", "OMP_TABLE_MONITORING", DynamoAlertStateStore)


def incidents() -> Any:
    from omp.adapters.dynamo_alerting import DynamoIncidentRepository

    return _build("incidents", "OMP_TABLE_MONITORING", DynamoIncidentRepository)


def correlation_groups() -> Any:
    from omp.adapters.dynamo_alerting import DynamoCorrelationGroupStore

    return _build("correlation_groups", "OMP_TABLE_MONITORING", DynamoCorrelationGroupStore)


def alarm_reopener() -> Any:
    """The flapping reopen (resolved -> open, same id): a method of the alarm repository that
    no API route calls."""
    from omp.adapters.dynamo_alarms import DynamoAlarmRepository

    return _build("alarm_reopener", "OMP_TABLE_MONITORING", DynamoAlarmRepository)


def ingest_payloads() -> Any:
    """Offloaded webhook bodies (`IngestEnvelope.payload_s3`). The envelope names the bucket;
    the function's catalog entry grants it read access to the `ingest` bucket only."""
    from omp.adapters.s3_payloads import S3PayloadAdapter

    return _build("ingest_payloads", "OMP_BUCKET_INGEST", S3PayloadAdapter)


def pipeline_ports() -> Any:
    """Every port `omp.services.pipeline.process` takes."""
    from omp.services.pipeline import PipelinePorts

    return PipelinePorts(
        states=alert_states(),
        alarms=alarms(),
        reopener=alarm_reopener(),
        incidents=incidents(),
        groups=correlation_groups(),
        events=publisher(),
        clock=clock(),
        payloads=ingest_payloads(),
    )


def pipeline_config() -> Any:
    """Dedup, incident and correlation policy from the stored alerting settings (one read; the
    code defaults when none are stored), a fresh suppression (silences, windows, inhibition)
    and, where the function may read the CMDB, the topology rule over it: call once per
    invocation, its reads are cached for the batch."""
    from omp.services import alerting_config

    if "pipeline_config" in _overrides:
        return _overrides["pipeline_config"]
    settings = alerting_config.load(alerting_configs())
    topology = cmdb_topology()
    return alerting_config.pipeline_config(
        settings, suppression=suppression(), topology=topology, resources=topology
    )


def alerting_configs() -> Any:
    from omp.adapters.dynamo_alerting_config import DynamoAlertingConfigStore

    return _build("alerting_configs", "OMP_TABLE_MONITORING", DynamoAlertingConfigStore)


def cmdb_topology() -> Any:
    """The CMDB as correlation sees it, new per batch (its caches are the batch's); None where
    the function has no CMDB table. The graph is connected on first use only."""
    if "cmdb_topology" in _overrides:
        return _overrides["cmdb_topology"]
    if not env.get("OMP_TABLE_CMDB"):
        return None
    from omp.adapters.cmdb_topology import CmdbTopology

    return CmdbTopology(cis=cis, graph=graph)


def silences() -> Any:
    from omp.adapters.dynamo_silences import DynamoSilenceStore

    return _build("silences", "OMP_TABLE_MONITORING", DynamoSilenceStore)


def maintenance_windows() -> Any:
    from omp.adapters.dynamo_silences import DynamoMaintenanceWindowStore

    return _build("maintenance_windows", "OMP_TABLE_MONITORING", DynamoMaintenanceWindowStore)


def inhibition_rules() -> Any:
    from omp.adapters.dynamo_silences import DynamoInhibitionRuleStore

    return _build("inhibition_rules", "OMP_TABLE_MONITORING", DynamoInhibitionRuleStore)


def suppression() -> Any:
    """The pipeline's `Suppression`, new per call (per batch); stores are built on first use."""
    from omp.runtime import silence_settings
    from omp.services.suppression import SilenceSuppression

    return SilenceSuppression(
        silences=silences,
        windows=maintenance_windows,
        rules=inhibition_rules,
        alarms=alarms,
        clock=clock(),
        scope=silence_settings.active_alarms(),
    )


@contextlib.contextmanager
def override(**ports: Any) -> Iterator[None]:
    """Swap ports for a block (tests): `with override(alarms=MemoryAlarmRepository()): ...`."""
    saved = dict(_overrides)
    _overrides.update(ports)
    try:
        yield
    finally:
        _overrides.clear()
        _overrides.update(saved)


def jwt_verifier() -> Any:
    """Cognito access-token verifier, or None where no user pool is configured (local)."""
    from omp.adapters.cognito import CognitoVerifier

    if "jwt" in _overrides:
        return _overrides["jwt"]
    issuer, client_id = env.get("OMP_COGNITO_ISSUER"), env.get("OMP_COGNITO_CLIENT_ID")
    if not issuer or not client_id:
        return None
    key = ("jwt", f"{issuer}|{client_id}", "")
    if key not in _cache:
        _cache[key] = CognitoVerifier(issuer, client_id)
    return _cache[key]


def ingest_queue() -> Any:
    from omp.adapters.ingest_queue import SqsIngestQueue

    bucket = env.require("OMP_BUCKET_INGEST")
    return _build("ingest_queue", "OMP_QUEUE_ALERT_INGEST", lambda url: SqsIngestQueue(url, bucket))


# ---- cmdb -------------------------------------------------------------------------------------


def ci_types() -> Any:
    from omp.adapters.dynamo_cmdb import DynamoCiTypeRepository

    return _build("ci_types", "OMP_TABLE_CMDB", DynamoCiTypeRepository)


def cis() -> Any:
    from omp.adapters.dynamo_cmdb import DynamoCiRepository

    return _build("cis", "OMP_TABLE_CMDB", DynamoCiRepository)


def config_discovery() -> Any:
    """AWS Config reads (ListDiscoveredResources, BatchGetResourceConfig)."""
    from omp.adapters.aws_config import ConfigDiscovery

    return _build("config_discovery", "", lambda _: ConfigDiscovery())


def cmdb_settings() -> Any:
    """The CMDB settings document and the discovery reconcile's cursor."""
    from omp.adapters.aws_config import DynamoCmdbSettings

    return _build("cmdb_settings", "OMP_TABLE_CMDB", DynamoCmdbSettings)


def graph() -> Any:
    """Neptune where OMP_GRAPH_ENDPOINT is a ws(s):// URL (AWS); else gremlite on the SQLite
    file OMP_GRAPH_PATH (the local runtime sets it under .local/), else .local/graph.sqlite."""
    import os

    from omp.adapters.gremlin_graph import GremlinGraph

    if "graph" in _overrides:
        return _overrides["graph"]
    endpoint = env.get("OMP_GRAPH_ENDPOINT") or ""
    if endpoint.startswith(("ws://", "wss://")):
        key = ("graph", endpoint, "")
        if key not in _cache:
            _cache[key] = GremlinGraph(endpoint=endpoint)
        return _cache[key]
    path = env.get("OMP_GRAPH_PATH") or os.path.join(".local", "graph.sqlite")
    key = ("graph", path, "")
    if key not in _cache:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        _cache[key] = GremlinGraph(path=path)
    return _cache[key]


# ---- notifications (routing, delivery, escalation) --------------------------------------------


def notification_configs() -> Any:
    from omp.adapters.dynamo_notifications import DynamoNotificationConfigStore

    return _build("notification_configs", "OMP_TABLE_MONITORING", DynamoNotificationConfigStore)


def notification_groups() -> Any:
    from omp.adapters.dynamo_notifications import DynamoNotificationGroupStore

    return _build("notification_groups", "OMP_TABLE_MONITORING", DynamoNotificationGroupStore)


def notification_log() -> Any:
    from omp.adapters.dynamo_notifications import DynamoNotificationLog

    return _build("notification_log", "OMP_TABLE_MONITORING", DynamoNotificationLog)


def escalations() -> Any:
    from omp.adapters.dynamo_notifications import DynamoEscalationStore

    return _build("escalations", "OMP_TABLE_MONITORING", DynamoEscalationStore)


def notification_sender() -> Any:
    """Sends to SNS / Slack / Teams / webhooks; `OMP_NOTIFY_ALLOW_HTTP=1` (local runtime and
    tests only) lets it post to a plain-http local receiver."""
    from omp.adapters.notify_senders import Sender

    allow_http = env.get("OMP_NOTIFY_ALLOW_HTTP") == "1"
    return _build("notification_sender", "", lambda _: Sender(allow_http=allow_http))


def notify_ports() -> Any:
    """Every port `omp.services.notifications` takes (no bus for the queue consumer)."""
    from omp.services.notifications import NotifyPorts, silence_checker

    if "notify_ports" in _overrides:
        return _overrides["notify_ports"]
    return NotifyPorts(
        configs=notification_configs(),
        groups=notification_groups(),
        log=notification_log(),
        escalations=escalations(),
        incidents=incidents(),
        alarms=alarms(),
        events=publisher() if env.get("OMP_BUS_PLATFORM") else None,
        clock=clock(),
        send=notification_sender(),
        silences=lambda now: silence_checker(silences(), maintenance_windows(), now),
    )


# ---- metrics ----------------------------------------------------------------------------------

_METRIC_LIMIT_ENV = {
    "max_age_s": "OMP_METRICS_MAX_AGE_S",
    "max_future_s": "OMP_METRICS_MAX_FUTURE_S",
    "retention_days": "OMP_METRICS_RETENTION_DAYS",
    "max_series_per_source": "OMP_METRICS_MAX_SERIES_PER_SOURCE",
    "max_query_points": "OMP_METRICS_MAX_QUERY_POINTS",
}


def metric_limits() -> Any:
    """`omp.domain.metrics.MetricLimits`: its defaults, each overridable by an environment
    variable (docs/metrics.md), or a test's override."""
    from omp.domain.metrics import MetricLimits

    if "metric_limits" in _overrides:
        return _overrides["metric_limits"]
    values = {field: int(env.get(var) or 0) for field, var in _METRIC_LIMIT_ENV.items()}
    return MetricLimits(**{field: value for field, value in values.items() if value})


def metric_store() -> Any:
    from omp.adapters.dynamo_metrics import DynamoMetricStore

    return _build(
        "metric_store", "OMP_TABLE_METRICS", lambda name: DynamoMetricStore(name, metric_limits())
    )


def metric_sources() -> Any:
    from omp.adapters.dynamo_metrics import DynamoMetricSourceStore

    return _build("metric_sources", "OMP_TABLE_METRICS", DynamoMetricSourceStore)


def cloudwatch_metrics() -> Any:
    from omp.adapters.cloudwatch_metrics import CloudWatchMetricReader

    return _build("cloudwatch_metrics", "", lambda _: CloudWatchMetricReader())


def baseline_store() -> Any:
    from omp.adapters.dynamo_baselines import DynamoBaselineStore

    return _build("baseline_store", "OMP_TABLE_METRICS", DynamoBaselineStore)


def dead_letters() -> Any:
    """The trigger queue's DLQ of a consumer with `dead_letters` in the catalog."""
    from omp.adapters.dead_letters import SqsDeadLetters

    function = env.get("OMP_FUNCTION") or ""
    return _build("dead_letters", "OMP_DLQ_URL", lambda url: SqsDeadLetters(url, function))


def metric_points_queue() -> Any:
    from omp.adapters.metric_points_queue import SqsMetricPointsQueue

    return _build("metric_points_queue", "OMP_QUEUE_METRIC_POINTS", SqsMetricPointsQueue)


def search() -> Any:
    """OpenSearch where OMP_SEARCH_ENDPOINT is an https:// URL (AWS); else SQLite FTS5 on
    OMP_SEARCH_PATH (the local runtime sets it under .local/), else .local/search.sqlite."""
    import os

    if "search" in _overrides:
        return _overrides["search"]
    endpoint = env.get("OMP_SEARCH_ENDPOINT") or ""
    if endpoint.startswith("https://"):
        from omp.adapters.opensearch_search import OpenSearchIndex

        key = ("search", endpoint, "")
        if key not in _cache:
            _cache[key] = OpenSearchIndex(endpoint)
        return _cache[key]
    from omp.adapters.sqlite_search import SqliteSearchIndex

    path = env.get("OMP_SEARCH_PATH") or os.path.join(".local", "search.sqlite")
    key = ("search", path, "")
    if key not in _cache:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        _cache[key] = SqliteSearchIndex(path)
    return _cache[key]


def backtest_jobs() -> Any:
    """Backtest jobs on the metrics table, and the backtests queue where the function may send."""
    from omp.adapters.dynamo_backtests import DynamoBacktestJobs

    queue = env.get("OMP_QUEUE_BACKTESTS") or ""
    return _build(
        "backtest_jobs", "OMP_TABLE_METRICS", lambda t: DynamoBacktestJobs(t, queue), queue
    )


def import_jobs() -> Any:
    from omp.adapters.dynamo_cmdb import DynamoImportJobs

    return _build("import_jobs", "OMP_TABLE_CMDB", DynamoImportJobs)


def import_files() -> Any:
    """The imports bucket, and the imports queue where the function may send to it."""
    from omp.adapters.dynamo_cmdb import S3ImportFiles

    queue = env.get("OMP_QUEUE_CMDB_IMPORTS") or ""
    return _build(
        "import_files", "OMP_BUCKET_CMDB_IMPORTS", lambda b: S3ImportFiles(b, queue), queue
    )


def ci_changes() -> Any:
    """Which CIs changed (the cmdb table's gsi3), for anchoring history heads."""
    from omp.adapters.cmdb_anchors import DynamoCiChanges

    return _build("ci_changes", "OMP_TABLE_CMDB", DynamoCiChanges)


def history_anchors() -> Any:
    """Anchored history heads in the Object Lock bucket `cmdb-anchors`."""
    from omp.adapters.cmdb_anchors import S3AnchorStore

    return _build("history_anchors", "OMP_BUCKET_CMDB_ANCHORS", S3AnchorStore)
