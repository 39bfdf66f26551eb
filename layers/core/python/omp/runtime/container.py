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

_cache: dict[tuple[str, str], Any] = {}
_overrides: dict[str, Any] = {}


def _build(port: str, resource: str, factory: Callable[[str], T]) -> T:
    if port in _overrides:
        return _overrides[port]  # type: ignore[no-any-return]
    name = env.require(resource) if resource else ""
    key = (port, name)
    if key not in _cache:
        _cache[key] = factory(name)
    return _cache[key]  # type: ignore[no-any-return]


def clock() -> Any:
    from omp.adapters.memory import SystemClock

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
    return _build("alarm_reopener", "OMP_TABLE_MONITORING", DynamoAlarmReopener)


def ingest_payloads() -> Any:
    """Offloaded webhook bodies (`IngestEnvelope.payload_s3`). The envelope names the bucket;
    the function's catalog entry grants it read access to the `ingest` bucket only."""
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
    """Dedup, incident and correlation policy (the defaults until settings carry them)."""
    from omp.services.pipeline import PipelineConfig

    if "pipeline_config" in _overrides:
        return _overrides["pipeline_config"]
    return PipelineConfig()


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
    key = ("jwt", f"{issuer}|{client_id}")
    if key not in _cache:
        _cache[key] = CognitoVerifier(issuer, client_id)
    return _cache[key]


def ingest_queue() -> Any:
    from omp.adapters.ingest_queue import SqsIngestQueue

    bucket = env.require("OMP_BUCKET_INGEST")
    return _build("ingest_queue", "OMP_QUEUE_ALERT_INGEST", lambda url: SqsIngestQueue(url, bucket))


# ---- adapters the pipeline needs that have no module of their own yet -----------------------
# (S3 reads and the flapping reopen; they move to omp/adapters/ when those modules are free.)


class S3PayloadAdapter:
    """`omp.services.pipeline.S3PayloadStore` on S3 (`GetObject`)."""

    def __init__(self, bucket: str) -> None:
        self.bucket = bucket  # the catalog's bucket; an envelope names its own

    def get(self, bucket: str, key: str) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        from omp.adapters.aws import client, translate
        from omp.domain.signals import UnparseablePayload

        try:
            body = client("s3").get_object(Bucket=bucket, Key=key)["Body"]
            return body.read()  # type: ignore[no-any-return]
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "NoSuchBucket", "404"):
                raise UnparseablePayload(
                    f"the offloaded payload s3://{bucket}/{key} does not exist"
                ) from exc
            raise translate(exc) from exc
        except BotoCoreError as exc:
            raise translate(exc) from exc


class DynamoAlarmReopener:
    """`omp.services.pipeline.AlarmReopener`: the flapping reopen of an alarm item of
    `omp.adapters.dynamo_alarms` (resolved -> open, same id). The Alarm API never calls it."""

    def __init__(self, table: str) -> None:
        self.table = table

    def reopen(self, alarm_id: str, changes: dict[str, Any]) -> Any:
        from datetime import UTC, datetime

        from omp.adapters.dynamo import ConditionFailed, call, to_item
        from omp.adapters.dynamo_alarms import _alarm, _key
        from omp.domain.errors import Conflict, NotFound
        from omp.domain.ids import id_time_ms

        day = datetime.fromtimestamp(id_time_ms(alarm_id) / 1000, UTC).strftime("%Y-%m-%d")
        fields = dict(changes) | {"status": "open", "gsi3pk": f"ALARM_ST#open#{day}"}
        names = {f"#{k}": k for k in fields} | {
            "#version": "version",
            "#resolved_at": "resolved_at",
            "#resolved_by": "resolved_by",
        }
        values = {f":{k}": v for k, v in fields.items()} | {":one": 1, ":resolved": "resolved"}
        update = (
            "SET "
            + ", ".join([f"#{k} = :{k}" for k in fields] + ["#version = #version + :one"])
            + " REMOVE #resolved_at, #resolved_by"
        )
        try:
            result = call(
                "update_item",
                TableName=self.table,
                Key=_key(alarm_id),
                UpdateExpression=update,
                ConditionExpression="attribute_exists(pk) AND #status = :resolved",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=to_item(values),
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ConditionFailed as failed:
            if not failed.item:
                raise NotFound(f"alarm {alarm_id} does not exist", code="ALARM_NOT_FOUND") from None
            current = _alarm(failed.item)
            if current.status.value == "open":
                return current
            raise Conflict(
                f"alarm {alarm_id} is {current.status.value}; only a resolved alarm reopens",
                code="INVALID_TRANSITION",
            ) from failed
        return _alarm(result["Attributes"])
