"""POST /v1/alarms: raise an alarm (201). Honours Idempotency-Key."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from omp.domain.alarms import AlarmResponse, CreateAlarm
from omp.runtime import container, http
from omp.services import alarms

router = Router()


@router.post(
    "/v1/alarms",
    summary="Raise an alarm",
    tags=["alarms"],
    responses=http.returns(201, AlarmResponse),
)
def create_alarm(request: Annotated[CreateAlarm, Body()]) -> Response[Any]:
    def run() -> tuple[int, dict[str, Any]]:
        alarm = alarms.create_alarm(
            request,
            actor=http.principal(router).id,
            repo=container.alarms(),
            events=container.publisher(),
            clock=container.clock(),
        )
        return 201, AlarmResponse(alarm=alarm).model_dump(mode="json")

    return http.replayable(router, run)


lambda_handler = http.handler(router)
