"""The acknowledge and resolve routes differ only in the target status."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from omp.domain.alarms import AlarmResponse, AlarmStatus, StatusChange
from omp.runtime import container, http
from omp.services import alarms


def change_status(
    router: Router, alarm_id: str, change: StatusChange | None, target: AlarmStatus
) -> Response[Any]:
    def run() -> tuple[int, dict[str, Any]]:
        alarm = alarms.change_status(
            alarm_id,
            target,
            actor=http.principal(router).id,
            comment=change.comment if change else None,
            expected_version=change.version if change else None,
            repo=container.alarms(),
            events=container.publisher(),
            clock=container.clock(),
        )
        return 200, AlarmResponse(alarm=alarm).model_dump(mode="json")

    return http.replayable(router, run)
