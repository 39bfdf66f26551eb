"""POST /v1/alarms/{alarm_id}/ack: acknowledge an alarm. Optional body: comment, version."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from omp.domain.alarms import AlarmResponse, AlarmStatus, StatusChange
from omp.runtime import container, http
from omp.services import alarms

router = Router()


@router.post(
    "/v1/alarms/<alarm_id>/ack",
    summary="Acknowledge an alarm",
    tags=["alarms"],
    responses=http.returns(200, AlarmResponse),
)
def acknowledge_alarm(
    alarm_id: str, change: Annotated[StatusChange | None, Body()] = None
) -> Response[Any]:
    def run() -> tuple[int, dict[str, Any]]:
        alarm = alarms.change_status(
            alarm_id,
            AlarmStatus.ACKNOWLEDGED,
            actor=http.principal(router).id,
            comment=change.comment if change else None,
            expected_version=change.version if change else None,
            repo=container.alarms(),
            events=container.publisher(),
            clock=container.clock(),
        )
        return 200, AlarmResponse(alarm=alarm).model_dump(mode="json")

    return http.replayable(router, run)


lambda_handler = http.handler(router)
