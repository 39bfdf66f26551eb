"""The notification configuration, escalation policies and the notification log
(docs/notifications.md): what the configuration, policy and log functions run.

- `put_config` / `get_config` / `load_config`: the routing configuration, one item,
  optimistic `version`; stored as the document the API returns (durations as strings).
- `create_policy` / `get_policy` / `delete_policy`: escalation policies (receivers checked
  against the configuration; a policy a route names cannot be deleted).
- `list_notifications`: the notification log.

Routing, delivery and escalation are `omp.services.notifications`, which imports this module;
this one never imports the engine (the configuration functions' cold start).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from omp.domain import notify_config as n
from omp.domain.errors import Conflict, NotFound, ValidationFailed
from omp.domain.ids import is_id, new_id
from omp.domain.notify_config import EscalationPolicy, NotificationRecordView
from omp.domain.routing_config import RoutingConfig
from omp.domain.timeutil import iso

if TYPE_CHECKING:
    from omp.domain.notifications import Escalation
    from omp.domain.pagination import Page
    from omp.ports import Clock

MAX_CONFIG_BYTES = 300_000


# ---- ports ----------------------------------------------------------------------------------


class ConfigStore(Protocol):
    def get(self) -> dict[str, Any] | None: ...

    def put(
        self, config: dict[str, Any], expected_version: int, *, actor: str, now: datetime
    ) -> dict[str, Any]: ...


class NotificationLog(Protocol):
    def record(self, entry: NotificationRecordView) -> None: ...

    def list(self, query: n.NotificationQuery) -> Page[NotificationRecordView]: ...


class EscalationStore(Protocol):
    def create_policy(self, policy: EscalationPolicy) -> None: ...

    def get_policy(self, policy_id: str) -> EscalationPolicy | None: ...

    def list_policies(self, limit: int, next_token: str | None) -> Page[EscalationPolicy]: ...

    def delete_policy(self, policy_id: str) -> None: ...

    def start(self, esc: Escalation) -> bool: ...

    def get(self, incident_id: str) -> Escalation | None: ...

    def save(self, esc: Escalation, expected_version: int) -> Escalation: ...

    def due(self, now: datetime, limit: int = 100) -> Iterable[str]: ...


# ---- configuration --------------------------------------------------------------------------


def format_duration(value: timedelta) -> str:
    """Alertmanager's duration string (`4h`, `1h30m`, `500ms`): what GET shows, PUT accepts."""
    ms = round(value.total_seconds() * 1000)
    if ms == 0:
        return "0"
    out = []
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if ms >= size:
            out.append(f"{ms // size}{unit}")
            ms %= size
    if ms:
        out.append(f"{ms}ms")
    return "".join(out)


def _jsonable(value: Any) -> Any:
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def config_document(config: RoutingConfig) -> dict[str, Any]:
    """The configuration as stored and returned: secret references only, never values (the
    model admits no inline secret)."""
    raw = RoutingConfig.model_dump(config, by_alias=True, exclude_none=True)
    raw.pop("version", None)
    return _jsonable(raw)  # type: ignore[no-any-return]


def load_config(configs: ConfigStore) -> RoutingConfig | None:
    stored = configs.get()
    return RoutingConfig.model_validate(stored["config"]) if stored else None


def get_config(configs: ConfigStore) -> dict[str, Any]:
    stored = configs.get()
    if stored is None:
        raise NotFound(
            "no notification configuration has been put yet", code="NOTIFICATION_CONFIG_NOT_FOUND"
        )
    return _view(stored)


def _view(stored: Mapping[str, Any]) -> dict[str, Any]:
    return dict(stored["config"]) | {
        "version": stored["version"],
        "updated_at": stored["updated_at"],
        "updated_by": stored["updated_by"],
    }


def put_config(
    body: n.PutNotificationConfig,
    *,
    actor: str,
    configs: ConfigStore,
    escalations: EscalationStore,
    clock: Clock,
    secret_prefix: str,
    topic_prefix: str,
) -> dict[str, Any]:
    n.check_references(body, secret_prefix=secret_prefix, topic_prefix=topic_prefix)
    missing = sorted(
        p
        for p in n.policy_references(body)
        if not is_id(p, n.POLICY_PREFIX) or escalations.get_policy(p) is None
    )
    if missing:
        raise ValidationFailed(
            f"routes refer to unknown escalation policies: {', '.join(missing)}",
            code="UNKNOWN_ESCALATION_POLICY",
            details={"escalation_policies": missing},
        )
    document = config_document(body)
    size = len(json.dumps(document, separators=(",", ":")))
    if size > MAX_CONFIG_BYTES:  # one DynamoDB item holds at most 400 KB
        raise ValidationFailed(
            f"the configuration is {size} bytes as JSON; at most {MAX_CONFIG_BYTES}",
            code="NOTIFICATION_CONFIG_TOO_LARGE",
            details={"bytes": size, "max_bytes": MAX_CONFIG_BYTES},
        )
    stored = configs.put(document, body.version, actor=actor, now=clock.now())
    return _view(stored)


# ---- escalation policies --------------------------------------------------------------------


def create_policy(
    body: n.CreateEscalationPolicy,
    *,
    actor: str,
    escalations: EscalationStore,
    configs: ConfigStore,
    clock: Clock,
) -> EscalationPolicy:
    config = load_config(configs)
    known = {r.name for r in config.receivers} if config else set()
    missing = sorted({r for lv in body.levels for r in lv.receivers} - known)
    if missing:
        raise ValidationFailed(
            f"unknown receivers (not in the notification config): {', '.join(missing)}",
            code="UNKNOWN_RECEIVER",
            details={"receivers": missing},
        )
    now = clock.now()
    policy = EscalationPolicy(
        **body.model_dump(),
        id=new_id(n.POLICY_PREFIX, int(now.timestamp() * 1000)),
        created_at=iso(now),
        created_by=actor,
    )
    escalations.create_policy(policy)
    return policy


def get_policy(policy_id: str, escalations: EscalationStore) -> EscalationPolicy:
    # a malformed id is "not found" (and never reaches DynamoDB's key limits)
    policy = escalations.get_policy(policy_id) if is_id(policy_id, n.POLICY_PREFIX) else None
    if policy is None:
        raise NotFound(f"no escalation policy {policy_id}", code="ESCALATION_POLICY_NOT_FOUND")
    return policy


def delete_policy(
    policy_id: str, escalations: EscalationStore, configs: ConfigStore
) -> EscalationPolicy:
    policy = get_policy(policy_id, escalations)
    config = load_config(configs)
    if config is not None and policy_id in n.policy_references(config):
        raise Conflict(
            f"escalation policy {policy_id} is named by a route of the notification config",
            code="ESCALATION_POLICY_IN_USE",
        )
    escalations.delete_policy(policy_id)
    return policy


def list_notifications(
    query: n.NotificationQuery, log: NotificationLog
) -> Page[NotificationRecordView]:
    return log.list(query)
