"""POST /v1/alarms/{alarm_id}/ack: acknowledge an alarm. Optional body: comment, version."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from omp.api import alarms
from omp.domain.alarms import AlarmResponse, AlarmStatus, StatusChange
from omp.runtime import http

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
    return alarms.change_status(router, alarm_id, change, AlarmStatus.ACKNOWLEDGED)


lambda_handler = http.handler(router)
