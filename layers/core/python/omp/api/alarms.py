"""The acknowledge and resolve routes differ only in the target status."""

from __future__ import annotations

from omp.api import lifecycle
from omp.domain.alarms import AlarmResponse, AlarmStatus
from omp.runtime import container, http
from omp.services import alarms

__all__ = ["AlarmResponse", "change_status", "status_change_route"]


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
    )
    return AlarmResponse(alarm=alarm)
