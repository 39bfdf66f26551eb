"""Notification delivery and escalation, the engine: the alerts a group holds, the message
bodies each integration gets, the retry schedule and the escalation steps. Pure: no I/O.

The routing tree and the per-group schedule are `omp.domain.routing`; this module adds what
delivery needs around them. The configuration and read API (request and response models,
escalation policies, the notification log's records) is `omp.domain.notify_config`, which does
not import this module. See docs/notifications.md.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

from omp.domain.notify_config import NotificationStatus
from omp.domain.timeutil import iso, parse

if TYPE_CHECKING:
    from omp.domain.notify_config import EscalationPolicy, NotificationRecordView
    from omp.domain.routing_config import SlackIntegration, SnsIntegration

SOURCE = "omp.monitoring"
NOTIFICATION_PREFIX = "ntf"
EVENT_SENT = "NotificationSent"
EVENT_FAILED = "NotificationFailed"

# The events the `notifications` queue receives (QUEUE_RULES in the catalog).
ALARM_EVENTS = ("AlarmRaised", "AlarmResolved")
INCIDENT_EVENTS = ("IncidentOpened", "IncidentUpdated", "IncidentResolved")


# ---- what a group holds ---------------------------------------------------------------------


class AlertStatus(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class NotifyAlert:
    """One alarm as a notification shows it; `alarm_id` is its fingerprint in the group (a
    re-fired alert is a new alarm, hence news; a flapping reopen keeps its id)."""

    alarm_id: str
    status: AlertStatus
    name: str
    severity: str
    labels: Mapping[str, str]
    message: str = ""
    source: str = ""
    resource: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    changed_at: datetime | None = None  # the alarm's updated_at: orders redeliveries

    def to_dict(self) -> dict[str, Any]:
        return {
            "alarm_id": self.alarm_id,
            "status": self.status.value,
            "name": self.name,
            "severity": self.severity,
            "labels": dict(self.labels),
            "message": self.message,
            "source": self.source,
            "resource": self.resource,
            "starts_at": iso(self.starts_at) if self.starts_at else None,
            "ends_at": iso(self.ends_at) if self.ends_at else None,
            "changed_at": iso(self.changed_at) if self.changed_at else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NotifyAlert:
        return cls(
            alarm_id=str(data["alarm_id"]),
            status=AlertStatus(data["status"]),
            name=str(data.get("name") or ""),
            severity=str(data.get("severity") or ""),
            labels={str(k): str(v) for k, v in (data.get("labels") or {}).items()},
            message=str(data.get("message") or ""),
            source=str(data.get("source") or ""),
            resource=data.get("resource"),
            starts_at=_time(data.get("starts_at")),
            ends_at=_time(data.get("ends_at")),
            changed_at=_time(data.get("changed_at")),
        )


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    return parse(str(value))


def routing_labels(alarm: Mapping[str, Any]) -> dict[str, str]:
    """What the routing tree matches: the alarm's labels, plus `alertname`, `severity`,
    `source` and `resource` where the labels do not set them."""
    labels = {str(k): str(v) for k, v in (alarm.get("labels") or {}).items()}
    for name, value in (
        ("alertname", alarm.get("name")),
        ("severity", alarm.get("severity")),
        ("source", alarm.get("source")),
        ("resource", alarm.get("resource")),
    ):
        if value:
            labels.setdefault(name, str(value))
    return labels


@dataclass(frozen=True)
class AlarmChange:
    """An `AlarmRaised` / `AlarmResolved` event, read for notification."""

    alert: NotifyAlert
    labels: dict[str, str]
    notify: bool  # False while flapping or suppressed (held), or when nothing is news
    held_because: str = ""


def alarm_change(detail_type: str, detail: Mapping[str, Any]) -> AlarmChange:
    """Reads the event; `ValueError` when it is not an alarm event this module understands."""
    if detail_type not in ALARM_EVENTS:
        raise ValueError(f"not an alarm event: {detail_type}")
    alarm = detail.get("alarm")
    if not isinstance(alarm, Mapping) or not alarm.get("id"):
        raise ValueError("the event has no alarm")
    status = AlertStatus.RESOLVED if detail_type == "AlarmResolved" else AlertStatus.FIRING
    alert = NotifyAlert(
        alarm_id=str(alarm["id"]),
        status=status,
        name=str(alarm.get("name") or alarm["id"]),
        severity=str(alarm.get("severity") or ""),
        labels={str(k): str(v) for k, v in (alarm.get("labels") or {}).items()},
        message=str(alarm.get("message") or ""),
        source=str(alarm.get("source") or ""),
        resource=alarm.get("resource"),
        starts_at=_time(alarm.get("triggered_at")),
        ends_at=_time(alarm.get("resolved_at")) if status is AlertStatus.RESOLVED else None,
        changed_at=_time(alarm.get("updated_at")),
    )
    # Events from the Alarm API carry no flag: they always notify. The pipeline's say whether
    # the alarm is flapping or silenced/inhibited.
    held = ""
    if detail.get("suppressed"):
        held = "suppressed"
    elif detail.get("flapping"):
        held = "flapping"
    elif detail.get("notify") is False:
        held = "not news"
    return AlarmChange(alert, routing_labels(alarm), notify=not held, held_because=held)


def group_id(receiver: str, group_key: str) -> str:
    """A short stable id for an aggregation group (its key can be long)."""
    digest = hashlib.sha256(f"{receiver}\x00{group_key}".encode()).hexdigest()[:32]
    return f"grp_{digest}"


def integration_key(index: int, integration: Any) -> str:
    """The notification log is kept per integration (as Alertmanager's nflog)."""
    return f"{index}:{integration.type}"


# ---- what is sent ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Notification:
    receiver: str
    group_key: str
    group_labels: Mapping[str, str]
    alerts: tuple[NotifyAlert, ...]
    reason: str
    kind: Literal["group", "escalation"] = "group"
    incident: Mapping[str, Any] | None = None
    level: int | None = None

    @property
    def status(self) -> AlertStatus:
        if self.kind == "escalation":
            return AlertStatus.FIRING
        firing = any(a.status is AlertStatus.FIRING for a in self.alerts)
        return AlertStatus.FIRING if firing else AlertStatus.RESOLVED

    @property
    def firing(self) -> list[NotifyAlert]:
        return [a for a in self.alerts if a.status is AlertStatus.FIRING]

    @property
    def resolved(self) -> list[NotifyAlert]:
        return [a for a in self.alerts if a.status is AlertStatus.RESOLVED]

    def common_labels(self) -> dict[str, str]:
        if not self.alerts:
            return dict(self.group_labels)
        first = dict(self.alerts[0].labels)
        for alert in self.alerts[1:]:
            first = {k: v for k, v in first.items() if alert.labels.get(k) == v}
        return first

    def title(self) -> str:
        if self.kind == "escalation" and self.incident is not None:
            level = "" if self.level is None else f" (level {self.level + 1})"
            return (
                f"[ESCALATION{level}] {self.incident.get('title', '')} "
                f"[{self.incident.get('severity', '')}] {self.incident.get('id', '')}"
            )
        firing, resolved = len(self.firing), len(self.resolved)
        head = f"[{self.status.value.upper()}:{firing}]" if firing else "[RESOLVED]"
        labels = " ".join(f"{k}={v}" for k, v in sorted(self.group_labels.items()))
        names = sorted({a.name for a in self.alerts})
        what = labels or ", ".join(names[:3]) + (" ..." if len(names) > 3 else "")
        tail = f" ({resolved} resolved)" if firing and resolved else ""
        return f"{head} {what}{tail}".strip()

    def lines(self, limit: int = 20) -> list[str]:
        if self.kind == "escalation" and self.incident is not None:
            inc = self.incident
            return [
                f"Incident {inc.get('id')} is {inc.get('status')} and unacknowledged since "
                f"{inc.get('opened_at')}.",
                f"Alarms: {inc.get('alarm_count', len(inc.get('alarm_ids') or []))}; resources: "
                f"{', '.join(inc.get('affected_resources') or []) or '-'}",
            ]
        out = []
        for alert in self.alerts[:limit]:
            extra = f" on {alert.resource}" if alert.resource else ""
            msg = f": {alert.message}" if alert.message else ""
            out.append(f"{alert.status.value} {alert.severity} {alert.name}{extra}{msg}"[:500])
        if len(self.alerts) > limit:
            out.append(f"... and {len(self.alerts) - limit} more")
        return out


def webhook_body(n: Notification, max_alerts: int = 0) -> dict[str, Any]:
    """Alertmanager's webhook body (version 4), plus `omp` fields: receivers written for
    Alertmanager read it unchanged."""
    alerts = list(n.alerts)
    truncated = 0
    if max_alerts and len(alerts) > max_alerts:
        truncated = len(alerts) - max_alerts
        alerts = alerts[:max_alerts]
    body: dict[str, Any] = {
        "version": "4",
        "groupKey": n.group_key,
        "truncatedAlerts": truncated,
        "status": n.status.value,
        "receiver": n.receiver,
        "groupLabels": dict(n.group_labels),
        "commonLabels": n.common_labels(),
        "commonAnnotations": {},
        "externalURL": "",
        "alerts": [
            {
                "status": a.status.value,
                "labels": dict(a.labels) | {"alertname": a.labels.get("alertname", a.name)},
                "annotations": {"summary": a.message} if a.message else {},
                "startsAt": iso(a.starts_at) if a.starts_at else None,
                "endsAt": iso(a.ends_at) if a.ends_at else "0001-01-01T00:00:00Z",
                "fingerprint": a.alarm_id,
                "generatorURL": "",
            }
            for a in alerts
        ],
        "omp": {"kind": n.kind, "reason": n.reason, "title": n.title()},
    }
    if n.incident is not None:
        body["omp"]["incident"] = dict(n.incident)
        body["omp"]["level"] = n.level
    return body


def slack_body(n: Notification, integration: SlackIntegration) -> dict[str, Any]:
    color = "danger" if n.status is AlertStatus.FIRING else "good"
    body: dict[str, Any] = {
        "text": n.title(),
        "attachments": [{"color": color, "text": "\n".join(n.lines()), "mrkdwn_in": ["text"]}],
    }
    if integration.channel:
        body["channel"] = integration.channel
    if integration.username:
        body["username"] = integration.username
    return body


def teams_body(n: Notification) -> dict[str, Any]:
    """An Adaptive Card in the message envelope Teams workflows (and the retired connector
    webhooks) accept."""
    facts = [{"title": k, "value": v} for k, v in sorted(n.common_labels().items())][:10]
    body_blocks: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "size": "Medium",
            "weight": "Bolder",
            "text": n.title(),
            "wrap": True,
            "color": "Attention" if n.status is AlertStatus.FIRING else "Good",
        },
        {"type": "TextBlock", "text": "\n\n".join(n.lines()), "wrap": True},
    ]
    if facts:
        body_blocks.append({"type": "FactSet", "facts": facts})
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": body_blocks,
                },
            }
        ],
    }


def sns_message(n: Notification, integration: SnsIntegration) -> tuple[str, str]:
    """(subject, message): SNS subjects are at most 100 ASCII characters, no newlines."""
    subject = integration.subject or n.title()
    subject = "".join(c if 32 <= ord(c) < 127 else "?" for c in subject)[:100]
    return subject, "\n".join([n.title(), "", *n.lines(50)])


# ---- retries --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries within one invocation: `attempts` tries, waiting `base`, `base*factor`,
    ... (at most `max_delay`) between them. What still fails is left for the next tick."""

    attempts: int = 3
    base: timedelta = timedelta(milliseconds=500)
    factor: float = 2.0
    max_delay: timedelta = timedelta(seconds=4)

    def delays(self) -> list[timedelta]:
        out, delay = [], self.base
        for _ in range(max(self.attempts - 1, 0)):
            out.append(min(delay, self.max_delay))
            delay = delay * self.factor
        return out


class DeliveryError(Exception):
    """A send failed; `retryable` False for answers no retry changes (4xx but 408/429)."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


def retryable_status(status: int) -> bool:
    return status >= 500 or status in (408, 425, 429)


# ---- escalation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Escalation:
    """One incident's progress through its policy. `step` counts levels notified so far over
    all rounds (level = step % len(levels)); `next_at` is when step `step` is due."""

    incident_id: str
    policy_id: str
    step: int
    next_at: datetime
    active: bool = True
    stopped_reason: str = ""
    version: int = 1


def start_escalation(incident_id: str, policy_id: str, opened_at: datetime) -> Escalation:
    """The first level is notified at once (the next sweep)."""
    return Escalation(incident_id=incident_id, policy_id=policy_id, step=0, next_at=opened_at)


@dataclass(frozen=True)
class EscalationStep:
    """What the sweep does for one due escalation."""

    notify_level: int | None  # the level to notify now, or None
    after: Escalation  # the escalation once that is done


def escalation_step(
    esc: Escalation, policy: EscalationPolicy | None, incident_status: str | None, now: datetime
) -> EscalationStep:
    """An acknowledged, resolved or vanished incident (or a deleted policy) stops; a due step
    notifies its level and schedules the next after that level's delay; past the last level
    (and its repeats) the escalation ends."""
    from dataclasses import replace

    if not esc.active:
        return EscalationStep(None, esc)
    if incident_status != "open" or policy is None:
        why = "policy deleted" if policy is None else f"incident {incident_status or 'gone'}"
        return EscalationStep(None, replace(esc, active=False, stopped_reason=why))
    if now < esc.next_at:
        return EscalationStep(None, esc)
    total = len(policy.levels) * (policy.repeat + 1)
    if esc.step >= total:
        return EscalationStep(None, replace(esc, active=False, stopped_reason="exhausted"))
    level = esc.step % len(policy.levels)
    delay = policy.levels[level].delay
    return EscalationStep(level, replace(esc, step=esc.step + 1, next_at=now + delay))


# ---- the notification log -------------------------------------------------------------------


def sent_event(record: NotificationRecordView) -> Any:
    from omp.domain.events import DomainEvent

    return DomainEvent(
        source=SOURCE,
        detail_type=EVENT_SENT if record.status is NotificationStatus.SENT else EVENT_FAILED,
        detail={"notification": record.model_dump(mode="json")},
    )


@dataclass
class DeliveryOutcome:
    ok: bool
    attempts: int
    error: str | None = None
    sent: list[str] = field(default_factory=list)


def summarize(alerts: Sequence[NotifyAlert]) -> tuple[list[str], int, int]:
    firing = sum(a.status is AlertStatus.FIRING for a in alerts)
    return [a.alarm_id for a in alerts][:100], firing, len(alerts) - firing
