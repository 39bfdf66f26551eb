"""Alarms: the model, its lifecycle state machine and the events it emits. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AwareDatetime, ConfigDict, Field, StringConstraints

from omp.domain.errors import Conflict, ValidationFailed
from omp.domain.events import DomainEvent
from omp.domain.model import Model
from omp.domain.pagination import DEFAULT_LIMIT
from omp.domain.queries import TimeRange
from omp.domain.timeutil import iso, utc

SOURCE = "omp.monitoring"
ID_PREFIX = "alm"
MAX_LABELS = 64
MAX_CLOCK_SKEW = timedelta(minutes=5)


class Severity(StrEnum):
    CRITICAL = "critical"
    MAJOR = "major"
    MINOR = "minor"
    WARNING = "warning"
    INFO = "info"


class AlarmStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


# The lifecycle: open -> acknowledged -> resolved, and open -> resolved.
ALLOWED_FROM: dict[AlarmStatus, frozenset[AlarmStatus]] = {
    AlarmStatus.ACKNOWLEDGED: frozenset({AlarmStatus.OPEN}),
    AlarmStatus.RESOLVED: frozenset({AlarmStatus.OPEN, AlarmStatus.ACKNOWLEDGED}),
}
EVENT_FOR: dict[AlarmStatus, str] = {
    AlarmStatus.OPEN: "AlarmRaised",
    AlarmStatus.ACKNOWLEDGED: "AlarmAcknowledged",
    AlarmStatus.RESOLVED: "AlarmResolved",
}

Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]
LabelKey = Annotated[
    str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z_][A-Za-z0-9_.:/-]*$")
]
LabelValue = Annotated[str, StringConstraints(max_length=1024)]


class CreateAlarm(Model):
    """The body of `POST /v1/alarms`."""

    model_config = ConfigDict(extra="forbid")

    name: Short
    severity: Severity
    message: Annotated[str, StringConstraints(max_length=4096)] = ""
    source: Short = "api"
    resource: Short | None = None
    labels: dict[LabelKey, LabelValue] = Field(default_factory=dict, max_length=MAX_LABELS)
    triggered_at: AwareDatetime | None = Field(
        default=None, description="RFC 3339 with offset; defaults to the time of the request"
    )


class Alarm(Model):
    """An alarm as stored and as returned by the API."""

    id: str
    name: str
    severity: Severity
    message: str
    source: str
    resource: str | None = None
    labels: dict[str, str]
    status: AlarmStatus
    triggered_at: str
    created_at: str
    updated_at: str
    created_by: str
    # Held by silences, maintenance windows or inhibition rules (their ids): only notifications
    # are held; the alarm is stored and listed like any other.
    suppressed: bool = False
    suppressed_by: list[str] = Field(default_factory=list)
    acknowledged_at: str | None = None
    acknowledged_by: str | None = None
    resolved_at: str | None = None
    resolved_by: str | None = None
    comment: str | None = None
    # The (source, fingerprint) of the alert instance the pipeline made it from; None for
    # alarms created through the API. Lets an API acknowledge/resolve update the dedup state.
    fingerprint: str | None = None
    version: int = 1


def new_alarm(request: CreateAlarm, *, alarm_id: str, now: datetime, actor: str) -> Alarm:
    triggered = utc(request.triggered_at) if request.triggered_at else now
    if triggered - now > MAX_CLOCK_SKEW:
        raise ValidationFailed(
            "triggered_at is in the future",
            details=[{"loc": ["body", "triggered_at"], "msg": "more than 5 minutes ahead"}],
        )
    stamp = iso(now)
    return Alarm(
        id=alarm_id,
        name=request.name,
        severity=request.severity,
        message=request.message,
        source=request.source,
        resource=request.resource,
        labels=request.labels,
        status=AlarmStatus.OPEN,
        triggered_at=iso(triggered),
        created_at=stamp,
        updated_at=stamp,
        created_by=actor,
    )


def check_transition(alarm_id: str, current: AlarmStatus, target: AlarmStatus) -> None:
    if current not in ALLOWED_FROM[target]:
        raise Conflict(
            f"alarm {alarm_id} is {current.value}; it cannot become {target.value}",
            code="INVALID_TRANSITION",
            details={"status": current.value, "requested": target.value},
        )


def transition_changes(
    target: AlarmStatus, *, now: datetime, actor: str, comment: str | None
) -> dict[str, Any]:
    """The attributes a move to `target` sets (besides `version`, which the store increments).

    The repository applies them in one conditional write whose condition is `ALLOWED_FROM`, so
    the rule holds under concurrency without a read first.
    """
    stamp = iso(now)
    changes: dict[str, Any] = {"status": target.value, "updated_at": stamp}
    if target is AlarmStatus.ACKNOWLEDGED:
        changes |= {"acknowledged_at": stamp, "acknowledged_by": actor}
    else:
        changes |= {"resolved_at": stamp, "resolved_by": actor}
    if comment:
        changes["comment"] = comment
    return changes


def event_for(alarm: Alarm, actor: str) -> DomainEvent:
    return DomainEvent(
        source=SOURCE,
        detail_type=EVENT_FOR[alarm.status],
        detail={"alarm": alarm.model_dump(mode="json"), "actor": actor},
        resources=[alarm.resource] if alarm.resource and alarm.resource.startswith("arn:") else [],
    )


class StatusChange(Model):
    """The optional body of `POST /v1/alarms/{id}/ack` and `/resolve`."""

    model_config = ConfigDict(extra="forbid")

    comment: Annotated[str, StringConstraints(max_length=4096)] | None = None
    version: int | None = Field(
        default=None, ge=1, description="Apply only if the alarm is at this version (else 409)"
    )


class AlarmResponse(Model):
    alarm: Alarm


class AlarmListResponse(Model):
    alarms: list[Alarm]
    next_token: str | None = None


@dataclass(frozen=True)
class AlarmQuery:
    window: TimeRange
    limit: int = DEFAULT_LIMIT
    status: AlarmStatus | None = None
    severity: Severity | None = None
    source: str | None = None
    resource: str | None = None
    name: str | None = None
    next_token: str | None = None
    suppressed: bool | None = None
