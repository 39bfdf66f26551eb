"""The acknowledge and resolve routes differ only in the target status."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from omp.api import lifecycle
from omp.domain.alarms import AlarmResponse, AlarmStatus
from omp.domain.model import Model
from omp.runtime import container, http
from omp.services import alarms

__all__ = [
    "AlarmResponse",
    "AlarmTimelineResponse",
    "TimelineParams",
    "change_status",
    "status_change_route",
]


def status_change_route(action: str, summary: str) -> http.Route:
    return lifecycle.status_change_route("alarms", "alarm_id", action, summary, AlarmResponse)


def change_status(request: http.Request, target: AlarmStatus) -> AlarmResponse:
    change = lifecycle.requested_change(request)
    alarm = alarms.change_status(
        request.path["alarm_id"],
        target,
        actor=request.actor,
        comment=change.comment,
        expected_version=change.version,
        repo=container.alarms(),
        events=container.publisher(),
        clock=container.clock(),
        states=container.alert_states(),
    )
    return AlarmResponse(alarm=alarm)


class TimelineParams(Model):
    """`GET /v1/alarms/{alarm_id}/timeline`: a page of the timeline, oldest first."""

    model_config = ConfigDict(extra="ignore")

    limit: int = Field(default=50, ge=1, le=200)
    next_token: str | None = Field(default=None, max_length=4096)


class AlarmTimelineEntryView(Model):
    at: str = Field(description="when the change happened (the source's time for source changes)")
    recorded_at: str = Field(description="when the platform recorded it")
    kind: str = Field(
        description="created, acknowledged, resolved, reopened, flapping_started, "
        "flapping_ended, correlated"
    )
    status: str = Field(description="the alarm's status after the change")
    occurrences: int
    note: str
    actor: str | None = Field(description="who changed it through the API; null: the source")


class AlarmTimelineResponse(Model):
    alarm_id: str
    timeline: list[AlarmTimelineEntryView]
    next_token: str | None = None
