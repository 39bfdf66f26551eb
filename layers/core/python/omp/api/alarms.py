"""The acknowledge and resolve routes differ only in the target status."""

from __future__ import annotations

from omp.domain.alarms import AlarmResponse, AlarmStatus, StatusChange
from omp.runtime import container, http
from omp.services import alarms

__all__ = ["AlarmResponse", "change_status", "status_change_route"]


def status_change_route(action: str, summary: str) -> http.Route:
    return http.Route(
        "POST",
        f"/v1/alarms/{{alarm_id}}/{action}",
        summary=summary,
        tag="alarms",
        body=StatusChange,
        body_required=False,
        response=AlarmResponse,
        idempotent=True,
    )


def change_status(request: http.Request, target: AlarmStatus) -> AlarmResponse:
    change = request.body if isinstance(request.body, StatusChange) else StatusChange()
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
