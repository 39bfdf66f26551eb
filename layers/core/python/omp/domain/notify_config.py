"""The notification configuration and read API: the routing configuration's request and
response models and its reference checks, escalation policies, and the notification log's
records and query. Pure: no I/O.

What the configuration, policy and log functions need, and only that: routing, rendering,
delivery and escalation are `omp.domain.routing` and `omp.domain.notifications`, which these
functions never import (their cold start; docs/benchmarks.md). See docs/notifications.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from omp.domain.errors import ValidationFailed
from omp.domain.model import Model
from omp.domain.routing_config import (
    Duration,
    MsTeamsIntegration,
    Name,
    RoutingConfig,
    SlackIntegration,
    SnsIntegration,
    WebhookIntegration,
)

POLICY_PREFIX = "esc"

# The naming convention of what receivers may use (the catalog's `secrets` / `external_topics`
# of the delivering functions grant exactly these): secrets `omp/<stage>/notify/...`, SNS
# topics `omp-<stage>-notify-...` in the platform's account.
NOTIFY_NAMESPACE = "notify"


def secret_prefix(stage: str) -> str:
    return f"omp/{stage}/{NOTIFY_NAMESPACE}/"


def topic_prefix(stage: str) -> str:
    return f"omp-{stage}-{NOTIFY_NAMESPACE}-"


# ---- the configuration API ------------------------------------------------------------------


class PutNotificationConfig(RoutingConfig):
    """The body of `PUT /v1/notification-config`: the whole routing configuration."""

    version: int = Field(
        ge=0, description="the version you read (0 when none exists yet); another one is a 409"
    )


class NotificationConfigView(RoutingConfig):
    version: int
    updated_at: str
    updated_by: str


class NotificationConfigResponse(Model):
    notification_config: NotificationConfigView


def check_references(config: RoutingConfig, *, secret_prefix: str, topic_prefix: str) -> None:
    """Secrets must live under the platform's prefix (the only ones its functions may read) and
    SNS topics must carry the notify name prefix (the only ones they may publish to): 422."""
    problems: list[dict[str, Any]] = []
    for r_index, receiver in enumerate(config.receivers):
        for i_index, integration in enumerate(receiver.integrations):
            loc = ["body", "receivers", r_index, "integrations", i_index]
            for name, ref in _secret_refs(integration):
                if not secret_allowed(ref, secret_prefix):
                    problems.append(
                        {
                            "loc": [*loc, name, "secret_id"],
                            "msg": f"the secret must be named {secret_prefix}... (or be its ARN)",
                            "type": "secret_prefix",
                        }
                    )
            if isinstance(integration, SnsIntegration):
                topic = integration.topic_arn.rsplit(":", 1)[-1]
                if not topic.startswith(topic_prefix):
                    problems.append(
                        {
                            "loc": [*loc, "topic_arn"],
                            "msg": f"the topic name must start with {topic_prefix}",
                            "type": "topic_prefix",
                        }
                    )
    if problems:
        raise ValidationFailed(
            "a receiver refers to a secret or topic the platform may not use",
            code="NOTIFY_REFERENCE_NOT_ALLOWED",
            details=problems,
        )


def _secret_refs(integration: Any) -> list[tuple[str, str]]:
    if isinstance(integration, SlackIntegration | MsTeamsIntegration):
        return [("webhook_url", integration.webhook_url.secret_id)]
    if isinstance(integration, WebhookIntegration):
        refs = []
        if integration.url_secret is not None:
            refs.append(("url_secret", integration.url_secret.secret_id))
        if integration.authorization is not None:
            refs.append(("authorization", integration.authorization.secret_id))
        if integration.hmac_secret is not None:
            refs.append(("hmac_secret", integration.hmac_secret.secret_id))
        return refs
    return []


def secret_allowed(secret_id: str, prefix: str) -> bool:
    """A name under `prefix`, or an ARN whose secret name is (`...:secret:<name>-AbCdEf`)."""
    name = secret_id.split(":secret:", 1)[1] if ":secret:" in secret_id else secret_id
    return name.startswith(prefix) and ".." not in name


def policy_references(config: RoutingConfig) -> set[str]:
    return {node.escalation_policy for node in config.route.walk() if node.escalation_policy}


# ---- escalation -----------------------------------------------------------------------------


class EscalationLevel(Model):
    model_config = ConfigDict(extra="forbid")

    receivers: list[Name] = Field(min_length=1, max_length=8)
    delay: Duration = Field(
        description="how long the incident may stay unacknowledged at this level before the "
        "next one is notified (e.g. 15m)"
    )

    @model_validator(mode="after")
    def _positive(self) -> EscalationLevel:
        if self.delay <= timedelta(0):
            raise ValueError("delay must be positive")
        if len(set(self.receivers)) != len(self.receivers):
            raise ValueError("a receiver is listed twice")
        return self


class CreateEscalationPolicy(Model):
    """The body of `POST /v1/escalation-policies`."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    description: Annotated[str, StringConstraints(max_length=1024)] = ""
    levels: list[EscalationLevel] = Field(min_length=1, max_length=10)
    repeat: int = Field(
        default=0, ge=0, le=10, description="times the whole policy runs again after its last level"
    )


class EscalationPolicy(CreateEscalationPolicy):
    id: str
    created_at: str
    created_by: str


class EscalationLevelView(Model):
    receivers: list[str]
    delay_seconds: float


class EscalationPolicyView(Model):
    id: str
    name: str
    description: str
    levels: list[EscalationLevelView]
    repeat: int
    created_at: str
    created_by: str


def policy_view(policy: EscalationPolicy) -> EscalationPolicyView:
    return EscalationPolicyView(
        id=policy.id,
        name=policy.name,
        description=policy.description,
        levels=[
            EscalationLevelView(
                receivers=list(lv.receivers), delay_seconds=lv.delay.total_seconds()
            )
            for lv in policy.levels
        ],
        repeat=policy.repeat,
        created_at=policy.created_at,
        created_by=policy.created_by,
    )


class EscalationPolicyResponse(Model):
    escalation_policy: EscalationPolicyView


class EscalationPolicyListResponse(Model):
    escalation_policies: list[EscalationPolicyView]
    next_token: str | None = None


# ---- the notification log -------------------------------------------------------------------


class NotificationStatus(StrEnum):
    SENT = "sent"
    FAILED = "failed"


class NotificationRecordView(Model):
    """One delivery to one integration, as `GET /v1/notifications` lists it."""

    id: str
    at: str
    kind: Literal["group", "escalation"]
    receiver: str
    integration: str
    status: NotificationStatus
    reason: str
    attempts: int
    error: str | None = None
    group_key: str | None = None
    incident_id: str | None = None
    level: int | None = None
    alarm_ids: list[str] = Field(default_factory=list)
    firing: int = 0
    resolved: int = 0


class NotificationListResponse(Model):
    notifications: list[NotificationRecordView]
    next_token: str | None = None


@dataclass(frozen=True)
class NotificationQuery:
    start: datetime
    end: datetime
    limit: int
    receiver: str | None = None
    status: NotificationStatus | None = None
    kind: str | None = None
    incident_id: str | None = None
    next_token: str | None = None
